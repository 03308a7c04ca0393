"""``snaporacle explore``: random operation sequences on an adapter, checked against the model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..adapters.registry import load_adapter
from ..database import open_database
from ..explorer import explore, new_seed
from ..model.profile import parse_cell_key
from ..parallel import Job, explore_parallel
from ..profiles import load_profile
from ..reporting import ConsoleReporter
from ..traces import save_divergence

EXAMPLE = """examples:
  snaporacle explore --adapter fake --profile libvirt-current --examples 200 --steps 40 \\
      --seed 1 --report-json report.json
  snaporacle explore --adapter libvirt --uri test:///default --profile libvirt-9.0-test
  snaporacle explore --workers 2 --max-time 60 --database none
"""

#: Where divergences are saved unless --save-traces says otherwise.
DEFAULT_TRACES = Path("corpus") / "traces"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``explore`` command."""
    parser = sub.add_parser("explore", help="explore an adapter against the model", epilog=EXAMPLE)
    parser.add_argument("--adapter", default="fake", help="registered name or pkg.module:Class")
    parser.add_argument("--uri", help="driver URI for adapters that take one")
    parser.add_argument("--profile", help="profile name or path (default: the adapter's own)")
    parser.add_argument("--examples", type=int, default=200, help="Hypothesis examples")
    parser.add_argument("--steps", type=int, default=40, help="steps per example")
    parser.add_argument("--seed", type=int,
                        help="seed for a reproducible run (default: a fresh one, printed)")
    parser.add_argument("--database", metavar="PATH|URL|none",
                        help="example database: a folder (default .snaporacle/examples), "
                             "redis://HOST:PORT (pip install 'snaporacle[redis]'), or none")
    parser.add_argument("--max-time", type=float, metavar="SECONDS",
                        help="stop drawing new examples after this many seconds")
    parser.add_argument("--shrink-seconds", type=float, default=3, metavar="SECONDS",
                        help="time Hypothesis may spend shrinking a divergence (default 3); the"
                             " replay minimizer then cuts every step it can")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="run N adapters in N processes, one merged report")
    parser.add_argument("--report-json", type=Path, help="write the run's report here")
    parser.add_argument("--save-traces", type=Path, default=DEFAULT_TRACES,
                        help="folder for divergence traces (default corpus/traces)")
    parser.add_argument("--exclude-cell", action="append", default=[], metavar="CELL",
                        help="a cell not to draw, as offline/memory=omit/disk=internal/disk-only"
                             " (repeatable; for looking past a known bug)")
    parser.add_argument("--no-sweep", action="store_true",
                        help="do not run the cells the random runs missed")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the exploration; exit status 1 when a divergence is found."""
    exclude = frozenset(parse_cell_key(key) for key in args.exclude_cell)
    seed = new_seed() if args.seed is None else args.seed
    print(f"seed {seed} (repeat this run with --seed {seed})", flush=True)
    database = open_database(args.database)
    adapter = load_adapter(args.adapter, uri=args.uri, profile=args.profile)
    profile_name = args.profile or adapter.capabilities.profile
    profile = load_profile(profile_name)
    if args.workers > 1:
        adapter.close()
        job = Job(args.adapter, args.uri, args.profile, args.examples, args.steps, seed,
                  args.database, args.shrink_seconds, args.max_time,
                  tuple(args.exclude_cell))
        result = explore_parallel(job, args.workers, sweep=not args.no_sweep,
                                  reporter=ConsoleReporter())
    else:
        try:
            result = explore(
                adapter, profile, examples=args.examples, steps=args.steps, seed=seed,
                reporter=ConsoleReporter(), sweep=not args.no_sweep, exclude=exclude,
                database=database, max_time=args.max_time, shrink_seconds=args.shrink_seconds,
            )
        finally:
            adapter.close()
    report = result.as_json(args.examples, args.steps)
    saved = [
        str(save_divergence(d, args.save_traces, adapter.name, profile.name, adapter.root))
        for d in result.divergences
    ]
    report["traces"] = saved
    for path in saved:
        print(f"divergence saved: {path}")
    if args.report_json:
        args.report_json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        f"{report['steps_run']} steps in {report['examples_run']} examples, "
        f"{len(report['cells_covered'])}/64 cells, {len(saved)} divergence(s), "
        f"{report['seconds']} s, seed {seed}"
    )
    if result.first_detection is not None:
        print(f"first detection after {result.first_detection:.2f} s, minimal trace after "
              f"{result.minimal_at or 0:.2f} s")
    return 1 if result.divergences else 0
