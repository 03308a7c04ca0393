"""``snaporacle explore``: random operation sequences on an adapter, checked against the model."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import interrupts
from ..adapters.fake import FakeAdapter
from ..adapters.protocol import Adapter
from ..adapters.registry import adapter_class, load_adapter
from ..arguments import output_dir, output_file, positive_int
from ..database import open_database
from ..errors import AdapterError
from ..explorer import explore, new_seed
from ..fakes.faults import parse_fault_plan
from ..junit import explore_cases, write_text
from ..known import KnownFinding, load_known, trace_paths
from ..model.profile import parse_cell_key
from ..parallel import Job, explore_parallel
from ..profiles import load_profile
from ..reporting import ConsoleReporter, summary_svg
from ..summary import explore_markdown
from ..traces import save_divergence
from .ci import add_ci_options, check_ci_paths, write_ci_files

EXAMPLE = """examples:
  snaporacle explore --adapter fake --profile libvirt-current --examples 20 --steps 10 \\
      --seed 1 --report-json report.json
  snaporacle explore --examples 10 --steps 10 --junit-xml explore.xml --summary-markdown summary.md
  snaporacle explore --examples 10 --steps 10 --seed 2 --summary-svg explore.svg
  snaporacle explore --faults random:0.05 --examples 10 --steps 10 --seed 3
  snaporacle explore --workers 2 --max-time 20 --examples 20 --steps 10 --database none

On real libvirt: --adapter libvirt --uri test:///default, or --uri qemu:///embed with
--profile libvirt-9.0-qemu-embed. Exit status 1 on a divergence; its minimal trace is saved
under --save-traces and shown with the expected and actual result of every step.
"""

#: Where divergences are saved unless --save-traces says otherwise.
DEFAULT_TRACES = str(Path("corpus") / "traces")

#: Exit status when a process under the adapter died or hung (not a finding; 1 is a divergence).
ENVIRONMENT_FAILED = 3


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``explore`` command."""
    parser = sub.add_parser("explore", help="explore an adapter against the model", epilog=EXAMPLE)
    parser.add_argument("--adapter", default="fake", help="registered name or pkg.module:Class")
    parser.add_argument("--uri", help="driver URI for adapters that take one")
    parser.add_argument("--profile", help="profile name or path (default: the adapter's own)")
    parser.add_argument("--examples", type=positive_int, default=200, help="Hypothesis examples")
    parser.add_argument("--steps", type=positive_int, default=40, help="steps per example")
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
    parser.add_argument("--workers", type=positive_int, default=1, metavar="N",
                        help="run N adapters in N processes, one merged report")
    parser.add_argument("--report-json", type=output_file, help="write the run's report here")
    parser.add_argument("--save-traces", type=output_dir, default=DEFAULT_TRACES,
                        help="folder for divergence traces (default corpus/traces)")
    parser.add_argument("--exclude-cell", action="append", default=[], metavar="CELL",
                        help="a cell not to draw, as offline/memory=omit/disk=internal/disk-only"
                             " (repeatable; for looking past a known bug)")
    parser.add_argument("--known-finding", action="append", default=[], metavar="TRACE",
                        help="a known finding's trace, or a folder of them (repeatable): each"
                             " is replayed first, and an example that diverges the same way"
                             " is dropped and counted instead of failing the run")
    parser.add_argument("--no-sweep", action="store_true",
                        help="do not run the cells the random runs missed")
    parser.add_argument(
        "--faults", metavar="PLAN", type=_fault_spec,
        help="inject backend faults (fake adapter): random:RATE, then optional before|after and "
        "verbs, comma-separated, e.g. random:0.05 or random:0.2,after,transaction; seeded by "
        "--seed; a failed step is checked against the driver's promise on failure",
    )
    add_ci_options(parser)
    parser.add_argument("--summary-svg", type=Path, metavar="PATH",
                        help="save the final tables as an SVG picture (default: none)")
    parser.set_defaults(run=run)


def _fault_spec(spec: str) -> str:
    try:
        parse_fault_plan(spec, 0)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return spec


def _load(args: argparse.Namespace, seed: int) -> Adapter:
    if not args.faults:
        return load_adapter(args.adapter, uri=args.uri, profile=args.profile)
    if args.workers > 1:
        raise AdapterError("--faults runs in one process: leave out --workers")
    if not issubclass(adapter_class(args.adapter), FakeAdapter):
        raise AdapterError(
            f"--faults injects faults into the fake backends: use --adapter fake (or an adapter "
            f"built on FakeAdapter), not {args.adapter!r}"
        )
    faults = parse_fault_plan(args.faults, seed)
    return load_adapter(args.adapter, uri=args.uri, profile=args.profile, faults=faults)


def _print_known(known: Sequence[KnownFinding]) -> None:
    for finding in known:
        state = "diverges here" if finding.signature else "replays cleanly here (fixed?)"
        print(f"known finding {finding.name}: {state}", flush=True)


def run(args: argparse.Namespace) -> int:
    """Run the exploration; exit status 1 on a divergence, 3 when the environment failed,
    128 + the signal's number (130, 143) when SIGINT or SIGTERM stopped it."""
    check_ci_paths(args, svg=True)
    exclude = frozenset(parse_cell_key(key) for key in args.exclude_cell)
    known_paths = trace_paths(args.known_finding)
    seed = new_seed() if args.seed is None else args.seed
    database = open_database(args.database)
    with interrupts.stop_on_signals():
        chosen = load_profile(args.profile) if args.profile else None
        adapter = _load(args, seed)
        print(f"seed {seed} (repeat this run with --seed {seed})", flush=True)
        reporter = ConsoleReporter()
        try:
            profile = chosen or load_profile(adapter.capabilities.profile)
            if args.workers > 1:
                adapter.close()
                job = Job(args.adapter, args.uri, args.profile, args.examples, args.steps, seed,
                          args.database, args.shrink_seconds, args.max_time,
                          tuple(args.exclude_cell), known=tuple(map(str, known_paths)))
                result = explore_parallel(job, args.workers, sweep=not args.no_sweep,
                                          reporter=reporter)
            else:
                known = load_known(adapter, profile, known_paths)
                _print_known(known)
                result = explore(
                    adapter, profile, examples=args.examples, steps=args.steps, seed=seed,
                    reporter=reporter, sweep=not args.no_sweep, exclude=exclude,
                    allow_failures=bool(args.faults), database=database,
                    max_time=args.max_time, shrink_seconds=args.shrink_seconds, known=known,
                )
        finally:
            reporter.close()
            adapter.close()
        report = result.as_json(args.examples, args.steps)
        saved = [
            str(save_divergence(d, args.save_traces, adapter.name, profile.name, adapter.root))
            for d in result.divergences
        ]
        report["traces"] = saved
        for path in saved:
            print(f"divergence saved: {path}")
        for failure in result.environment_failures:
            print(f"environment failure (not a finding): {failure.message}", file=sys.stderr)
        if args.report_json:
            args.report_json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        write_ci_files(
            args,
            f"explore.{adapter.name}.{profile.name}",
            explore_cases(report, f"explore.{adapter.name}.{profile.name}"),
            result.seconds,
            lambda: explore_markdown(report, adapter.name, profile.name),
        )
        if args.summary_svg is not None:
            write_text(args.summary_svg,
                       summary_svg(result, f"snaporacle explore: {adapter.name}, {profile.name}"),
                       "SVG summary")
        stopped = f", interrupted by {result.interrupted}" if result.interrupted else ""
        print(
            f"{report['steps_run']} steps in {report['examples_run']} examples, "
            f"{len(report['cells_covered'])}/64 cells, {len(saved)} divergence(s), "
            f"{report['seconds']} s, seed {seed}{stopped}"
        )
        if result.coverage.known:
            dropped = ", ".join(f"{n} x{c}" for n, c in sorted(result.coverage.known.items()))
            print(f"examples dropped at known findings: {dropped}")
        if result.first_detection is not None:
            print(f"first detection after {result.first_detection:.2f} s, minimal trace after "
                  f"{result.minimal_at or 0:.2f} s")
    signum = interrupts.received()
    if signum is not None:
        return 128 + signum
    if result.divergences:
        return 1
    return ENVIRONMENT_FAILED if result.environment_failures else 0
