"""``snaporacle replay``: run traces, profile cells and XML cases against an adapter."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import interrupts
from ..adapters.registry import load_adapter
from ..errors import Interrupted
from ..profiles import load_profile
from ..replay import replay_all

EXAMPLE = """examples:
  snaporacle replay corpus/traces corpus/profiles/libvirt-current.toml --adapter fake
  snaporacle replay corpus/xml/manifest.toml
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``replay`` command."""
    parser = sub.add_parser("replay", help="replay corpus files", epilog=EXAMPLE)
    parser.add_argument("paths", nargs="+", type=Path, help="trace, profile or manifest files")
    parser.add_argument("--adapter", default="fake", help="registered name or pkg.module:Class")
    parser.add_argument("--uri", help="driver URI for adapters that take one")
    parser.add_argument("--profile", help="profile for traces (default: the trace's own)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Replay every file; exit status 1 on any divergence or bad file, 128 + the signal's number
    (130, 143) when SIGINT or SIGTERM stopped it."""
    failed = replayed = 0
    with interrupts.stop_on_signals():
        profile = load_profile(args.profile) if args.profile else None
        adapter = load_adapter(args.adapter, uri=args.uri, profile=args.profile)
        try:
            with interrupts.interruptible():
                for outcome in replay_all(adapter, args.paths, profile):
                    replayed += 1
                    status = "ok" if outcome.ok else "ERROR" if outcome.error else "DIVERGED"
                    print(
                        f"{status:8} {outcome.kind:7} {outcome.checked:3} checked  {outcome.path}"
                    )
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
        except Interrupted as stop:
            print(f"interrupted by {stop.name} after {replayed} file(s), {failed} failure(s)",
                  file=sys.stderr)
        finally:
            adapter.close()
    signum = interrupts.received()
    if signum is not None:
        return 128 + signum
    return 1 if failed else 0
