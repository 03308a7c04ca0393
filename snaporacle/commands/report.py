"""``snaporacle report``: one self-contained HTML page with the matrix, a diff, findings and a run.

The page is rebuilt from its inputs alone (no clock, no host paths), so a committed copy can be
checked for staleness: ``docs/report.html`` is written by the first example below.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import CorpusError, ProfileError
from ..profiles import PROFILE_DIR, load_profile, profile_names
from ..report import load_findings, render_report, report_context

#: The shipped corpus: profiles, traces and the findings file.
CORPUS = PROFILE_DIR.parent
TITLE = "snaporacle: libvirt snapshot compatibility"

EPILOG = """\
examples:
  snaporacle report --explore-json docs/explore-fake.json --out docs/report.html
  snaporacle report --profile plan-1.0.1 --profile libvirt-current --no-findings --out plan.html
  snaporacle report --diff libvirt-current libvirt-9.0-qemu-embed --out report.html

The first command regenerates the committed docs/report.html. Every profile in corpus/profiles/
is shown unless --profile names some; --diff picks the pair the diff view opens with (any pair
can be chosen in the page). --explore-json takes the file of 'snaporacle explore --report-json'.
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``report`` command."""
    parser = sub.add_parser(
        "report",
        help="write the HTML report: matrix per profile, diff, findings, an explore run",
        description="Write one self-contained HTML page (no network, no external assets): the "
        "64-cell matrix of each profile side by side, a diff view of two profiles, the findings "
        "drawn step by step, and an explore run.",
        epilog=EPILOG,
    )
    parser.add_argument("--profile", action="append", default=[], metavar="NAME|PATH",
                        help="a profile to show (repeatable; default: every profile in "
                        "corpus/profiles/)")
    parser.add_argument("--diff", nargs=2, metavar=("A", "B"),
                        help="the two profiles the diff view opens with, by name "
                        "(default: the first two shown)")
    parser.add_argument("--findings", type=Path, default=CORPUS / "findings.toml",
                        metavar="FILE", help="the findings file (default: corpus/findings.toml)")
    parser.add_argument("--traces", type=Path, default=CORPUS / "traces", metavar="DIR",
                        help="where the findings' traces are (default: corpus/traces)")
    parser.add_argument("--no-findings", action="store_true",
                        help="leave the findings out (default: shown)")
    parser.add_argument("--explore-json", type=Path, metavar="FILE",
                        help="an explore run's --report-json to show (default: none)")
    parser.add_argument("--title", default=TITLE, help="the page's title (default: %(default)s)")
    parser.add_argument("--out", default="report.html", metavar="FILE",
                        help="where to write the page, '-' for stdout (default: %(default)s)")
    parser.set_defaults(run=run)


def build(args: argparse.Namespace) -> str:
    """The page for parsed arguments; every input is read and checked before anything is written."""
    names = args.profile or profile_names()
    profiles = [load_profile(name) for name in names]
    seen = [p.name for p in profiles]
    repeated = sorted({name for name in seen if seen.count(name) > 1})
    if repeated:
        raise ProfileError(f"profile {', '.join(repeated)} is given twice; name each once")
    if args.diff:
        unknown = [name for name in args.diff if name not in seen]
        if unknown:
            raise ProfileError(
                f"--diff names {', '.join(unknown)}, not a profile shown; choose from "
                f"{', '.join(seen)}"
            )
    if args.explore_json is not None and not args.explore_json.is_file():
        raise CorpusError(f"{args.explore_json}: no such file (give the file of "
                          "'snaporacle explore --report-json')")
    findings = () if args.no_findings else load_findings(args.findings)
    context = report_context(
        profiles,
        tuple(args.diff) if args.diff else None,
        findings,
        args.traces,
        CORPUS,
        args.explore_json,
        args.title,
    )
    return render_report(context)


def run(args: argparse.Namespace) -> int:
    """Write the page."""
    page = build(args)
    if args.out == "-":
        sys.stdout.write(page)
        return 0
    try:
        Path(args.out).write_text(page, encoding="utf-8")
    except OSError as err:
        raise CorpusError(f"{args.out}: cannot write the report: {err.strerror or err}") from err
    print(f"wrote {args.out}", file=sys.stderr)
    return 0
