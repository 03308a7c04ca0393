"""``snaporacle replay``: run traces, profile cells and XML cases against an adapter."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .. import interrupts
from ..adapters.protocol import Adapter
from ..adapters.registry import load_adapter
from ..corpus_replay import ReplayOutcome, replay_all
from ..errors import CorpusError, Interrupted
from ..junit import replay_cases, write_text
from ..lockstep import Divergence
from ..profiles import corpus_path, load_profile
from ..summary import replay_markdown
from ..traces import divergence_document
from .ci import add_ci_options, check_ci_paths, write_ci_files

EXAMPLE = """examples:
  snaporacle replay corpus/traces corpus/profiles/libvirt-current.toml --adapter fake
  snaporacle replay corpus/xml/manifest.toml --junit-xml replay.xml --summary-markdown summary.md
  snaporacle replay corpus/profiles/plan-1.0.1.toml   # exits 1: the fake follows libvirt-current

Exit status 1 on any divergence (or a wrong XML case).
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``replay`` command."""
    parser = sub.add_parser("replay", help="replay corpus files", epilog=EXAMPLE)
    parser.add_argument(
        "paths", nargs="+", type=corpus_path,
        help="trace, profile or manifest files or folders; a shipped profile's name or a part of "
        "the shipped corpus (traces, xml/manifest.toml) works from anywhere",
    )
    parser.add_argument("--adapter", default="fake", help="registered name or pkg.module:Class")
    parser.add_argument("--uri", help="driver URI for adapters that take one")
    parser.add_argument("--profile", help="profile for traces (default: the trace's own)")
    parser.add_argument("--record", type=Path, metavar="DIR",
                        help="write each trace's run here as DIR/NAME.json, in the trace format "
                        "with every step's expected and actual result (default: none)")
    add_ci_options(parser)
    parser.set_defaults(run=run)


def record_run(outcome: ReplayOutcome, target: Path, adapter: Adapter) -> None:
    """Write a trace's run (steps with expected and actual, the differences) as a trace file."""
    divergence = outcome.divergence or Divergence(list(outcome.steps), [], None)
    document = divergence_document(divergence, adapter.name, outcome.profile or "",
                                   adapter.root)
    write_text(target, json.dumps(document, indent=2, sort_keys=True) + "\n", "recorded run")


def _print_outcome(outcome: ReplayOutcome) -> int:
    """Print one file's line (and its problems); return how many failures it counts."""
    status = "ok" if outcome.ok else "ERROR" if outcome.error else "DIVERGED"
    print(f"{status:8} {outcome.kind:7} {outcome.checked:3} checked  {outcome.path}")
    failed = 0
    if outcome.error is not None:
        failed += 1
        print(f"         {outcome.error}")
    if outcome.divergence is not None:
        failed += 1
        for line in outcome.divergence.differences[:10]:
            print(f"         {line}")
    for problem in outcome.problems:
        failed += 1
        print(f"         {problem}")
    return failed


def run(args: argparse.Namespace) -> int:
    """Replay every file; exit status 1 on any divergence or bad file, 128 + the signal's number
    (130, 143) when SIGINT or SIGTERM stopped it."""
    check_ci_paths(args)
    if args.record is not None and not args.record.is_dir():
        raise CorpusError(f"--record {args.record}: no such folder; create it first")
    failed = replayed = 0
    outcomes: list[ReplayOutcome] = []
    seconds: list[float] = []
    start = time.perf_counter()
    with interrupts.stop_on_signals():
        profile = load_profile(args.profile) if args.profile else None
        adapter = load_adapter(args.adapter, uri=args.uri, profile=args.profile)
        try:
            with interrupts.interruptible():
                began = time.perf_counter()
                for outcome in replay_all(adapter, args.paths, profile):
                    outcomes.append(outcome)
                    seconds.append(time.perf_counter() - began)
                    replayed += 1
                    if args.record is not None and outcome.steps:
                        record_run(outcome, args.record / outcome.path.name, adapter)
                    failed += _print_outcome(outcome)
                    began = time.perf_counter()
        except Interrupted as stop:
            print(f"interrupted by {stop.name} after {replayed} file(s), {failed} failure(s)",
                  file=sys.stderr)
        finally:
            adapter.close()
    write_ci_files(args, f"replay.{adapter.name}", replay_cases(outcomes, seconds),
                   time.perf_counter() - start, lambda: replay_markdown(outcomes, adapter.name))
    signum = interrupts.received()
    if signum is not None:
        return 128 + signum
    return 1 if failed else 0
