"""``snaporacle replay``: run traces, profile cells and XML cases against an adapter."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..adapters.protocol import Adapter
from ..adapters.registry import load_adapter
from ..corpus_replay import ReplayOutcome, corpus_files, replay_file
from ..errors import CorpusError
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


def run(args: argparse.Namespace) -> int:
    """Replay every file; exit status 1 on any divergence."""
    check_ci_paths(args)
    if args.record is not None and not args.record.is_dir():
        raise CorpusError(f"--record {args.record}: no such folder; create it first")
    adapter = load_adapter(args.adapter, uri=args.uri, profile=args.profile)
    profile = load_profile(args.profile) if args.profile else None
    failed = 0
    outcomes, seconds = [], []
    start = time.perf_counter()
    try:
        for path in corpus_files(args.paths):
            began = time.perf_counter()
            outcome = replay_file(adapter, path, profile)
            outcomes.append(outcome)
            seconds.append(time.perf_counter() - began)
            if args.record is not None and outcome.steps:
                record_run(outcome, args.record / path.name, adapter)
            status = "ok" if outcome.ok else "DIVERGED"
            print(f"{status:8} {outcome.kind:7} {outcome.checked:3} checked  {path}")
            if outcome.divergence is not None:
                failed += 1
                for line in outcome.divergence.differences[:10]:
                    print(f"         {line}")
            for problem in outcome.problems:
                failed += 1
                print(f"         {problem}")
    finally:
        adapter.close()
    write_ci_files(args, f"replay.{adapter.name}", replay_cases(outcomes, seconds),
                   time.perf_counter() - start, lambda: replay_markdown(outcomes, adapter.name))
    return 1 if failed else 0
