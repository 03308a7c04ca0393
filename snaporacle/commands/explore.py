"""``snaporacle explore``: random operation sequences on an adapter, checked against the model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import interrupts
from ..adapters.registry import load_adapter
from ..arguments import output_dir, output_file, positive_int
from ..explorer import explore
from ..model.profile import parse_cell_key
from ..profiles import load_profile
from ..reporting import ConsoleReporter
from ..traces import save_divergence

EXAMPLE = """examples:
  snaporacle explore --adapter fake --profile libvirt-current --examples 200 --steps 40 \\
      --seed 1 --report-json report.json
  snaporacle explore --adapter libvirt --uri test:///default --profile libvirt-9.0-test
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
    parser.add_argument("--seed", type=int, help="seed for a reproducible run")
    parser.add_argument("--report-json", type=output_file, help="write the run's report here")
    parser.add_argument("--save-traces", type=output_dir, default=DEFAULT_TRACES,
                        help="folder for divergence traces (default corpus/traces)")
    parser.add_argument("--exclude-cell", action="append", default=[], metavar="CELL",
                        help="a cell not to draw, as offline/memory=omit/disk=internal/disk-only"
                             " (repeatable; for looking past a known bug)")
    parser.add_argument("--no-sweep", action="store_true",
                        help="do not run the cells the random runs missed")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the exploration; exit status 1 on a divergence, 3 when the environment failed,
    128 + the signal's number (130, 143) when SIGINT or SIGTERM stopped it."""
    exclude = frozenset(parse_cell_key(key) for key in args.exclude_cell)
    with interrupts.stop_on_signals():
        chosen = load_profile(args.profile) if args.profile else None
        adapter = load_adapter(args.adapter, uri=args.uri, profile=args.profile)
        try:
            profile = chosen or load_profile(adapter.capabilities.profile)
            result = explore(
                adapter, profile, examples=args.examples, steps=args.steps, seed=args.seed,
                reporter=ConsoleReporter(), sweep=not args.no_sweep, exclude=exclude,
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
        for failure in result.environment_failures:
            print(f"environment failure (not a finding): {failure.message}", file=sys.stderr)
        if args.report_json:
            args.report_json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        stopped = f", interrupted by {result.interrupted}" if result.interrupted else ""
        print(
            f"{report['steps_run']} steps in {report['examples_run']} examples, "
            f"{len(report['cells_covered'])}/64 cells, {len(saved)} divergence(s), "
            f"{report['seconds']} s{stopped}"
        )
    signum = interrupts.received()
    if signum is not None:
        return 128 + signum
    if result.divergences:
        return 1
    return ENVIRONMENT_FAILED if result.environment_failures else 0
