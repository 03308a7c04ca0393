"""``snaporacle replay``: run traces, profile cells and XML cases against an adapter."""

from __future__ import annotations

import argparse

from ..adapters.registry import load_adapter
from ..profiles import corpus_path, load_profile
from ..replay import corpus_files, replay_file

EXAMPLE = """examples:
  snaporacle replay corpus/traces corpus/profiles/libvirt-current.toml --adapter fake
  snaporacle replay corpus/xml/manifest.toml
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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Replay every file; exit status 1 on any divergence."""
    adapter = load_adapter(args.adapter, uri=args.uri, profile=args.profile)
    profile = load_profile(args.profile) if args.profile else None
    failed = 0
    try:
        for path in corpus_files(args.paths):
            outcome = replay_file(adapter, path, profile)
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
    return 1 if failed else 0
