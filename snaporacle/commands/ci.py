"""The CI output options that ``explore`` and ``replay`` share: ``--junit-xml`` and
``--summary-markdown`` (see :mod:`snaporacle.junit` and :mod:`snaporacle.summary`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import CorpusError
from ..junit import Case, junit_document, write_text


def add_ci_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--junit-xml PATH`` and ``--summary-markdown PATH``."""
    parser.add_argument("--junit-xml", type=Path, metavar="PATH",
                        help="write JUnit XML here: one test case per cell and per trace or "
                        "corpus file, a divergence as a failure (default: none)")
    parser.add_argument("--summary-markdown", type=Path, metavar="PATH",
                        help="write a Markdown job summary here (default: none)")


def check_ci_paths(args: argparse.Namespace, svg: bool = False) -> None:
    """Refuse, before anything runs, an output path whose folder does not exist (``svg``: the
    command has ``--summary-svg`` too)."""
    paths = [("--junit-xml", args.junit_xml), ("--summary-markdown", args.summary_markdown)]
    if svg:
        paths.append(("--summary-svg", args.summary_svg))
    for option, path in paths:
        if path is not None and not path.parent.is_dir():
            raise CorpusError(f"{option} {path}: no folder {path.parent}; create it first")


def write_ci_files(
    args: argparse.Namespace,
    suite: str,
    cases: Sequence[Case],
    seconds: float,
    markdown: Callable[[], str],
) -> None:
    """Write the files the options ask for."""
    if args.junit_xml is not None:
        write_text(args.junit_xml, junit_document(suite, cases, seconds), "JUnit XML")
    if args.summary_markdown is not None:
        write_text(args.summary_markdown, markdown(), "Markdown summary")
