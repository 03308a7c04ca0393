"""``snaporacle table``: the 64 cells of a profile, or the cells where two profiles differ.

JSON output is a list of one object per cell, the keys of :meth:`CellEntry.as_json`. ``--diff``
compares verdicts (outcome, memory and disk result, mechanisms, snapshot state, error code);
reason wording, row numbers and an error code only one side names (the plan names none) do not
count as a difference.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..model.profile import Accepted, CellEntry, Profile, differing_cells
from ..profiles import load_profile
from ..render import print_table

EPILOG = """\
examples:
  snaporacle table --profile plan-1.0.1
  snaporacle table --profile libvirt-current --format json
  snaporacle table --profile corpus/profiles/libvirt-9.0-test.toml --format markdown
  snaporacle table --diff plan-1.0.1 libvirt-current --format json

--profile and --diff take shipped profile names or paths to profile files."""

HEADERS = (
    "row",
    "domain",
    "memory",
    "disk",
    "disk-only",
    "outcome",
    "result",
    "via / error",
    "reason",
)
DIFF_HEADERS = ("row", "domain", "memory", "disk", "disk-only")
_CELL_KEYS = ("domain", "memory", "disk", "disk_only")


def register(subparsers: Any) -> None:
    """Add the ``table`` command."""
    parser = subparsers.add_parser(
        "table",
        help="print a profile's table of 64 cells, or diff two profiles",
        description="Print the verdict of every cell of a spec profile (domain state x memory x "
        "disk x DISK_ONLY), or the cells where two profiles differ.",
        epilog=EPILOG,
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--profile", metavar="NAME|PATH", help="the profile to print")
    which.add_argument("--diff", nargs=2, metavar=("A", "B"), help="compare two profiles")
    parser.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default="text",
        help="text (a table), json (a list of objects) or markdown (default: text)",
    )
    parser.set_defaults(run=run)


def verdict_summary(data: dict[str, Any]) -> tuple[str, str]:
    """The ``result`` and ``via / error`` cells for one ``as_json`` object."""
    if data["outcome"] == "accepted":
        result = f"memory={data['memory_result']} disk={data['disk_result']}"
        return result, " + ".join(data["mechanism"])
    return "", data["error"] or ""


def entry_row(data: dict[str, Any]) -> list[str]:
    """One table row (see :data:`HEADERS`) for one ``as_json`` object."""
    result, via = verdict_summary(data)
    return [
        "" if data["row"] is None else str(data["row"]),
        data["domain"],
        data["memory"],
        data["disk"] or "",
        "on" if data["disk_only"] else "off",
        data["outcome"],
        result,
        via,
        data["reason"] or "",
    ]


def _side(entry: CellEntry) -> dict[str, Any]:
    data = entry.as_json()
    side = {key: value for key, value in data.items() if key not in _CELL_KEYS}
    verdict = entry.verdict
    side["state"] = verdict.state.value if isinstance(verdict, Accepted) else None
    return side


def _side_text(side: dict[str, Any]) -> str:
    if side["outcome"] == "accepted":
        result, via = verdict_summary(side)
        return f"accepted: {result} via {via} ({side['state']})"
    return f"{side['outcome']}: {side['error'] or side['reason']}"


def differences(a: Profile, b: Profile) -> list[dict[str, Any]]:
    """The cells whose verdicts differ, as ``{cell keys..., "a": side, "b": side}`` objects."""
    return [
        {**entry_a.cell.as_json(), "a": _side(entry_a), "b": _side(entry_b)}
        for entry_a, entry_b in differing_cells(a, b)
    ]


def _print_diff(a: Profile, b: Profile, fmt: str) -> None:
    cells = differences(a, b)
    if fmt == "json":
        print(json.dumps({"a": a.name, "b": b.name, "count": len(cells), "cells": cells}, indent=2))
        return
    rows = [
        [
            str(c["a"]["row"] or c["b"]["row"] or ""),
            c["domain"],
            c["memory"],
            c["disk"],
            "on" if c["disk_only"] else "off",
            _side_text(c["a"]),
            _side_text(c["b"]),
        ]
        for c in cells
    ]
    count = f"{len(cells)} of {len(a.entries)} cells differ between {a.name} and {b.name}"
    print_table(
        [*DIFF_HEADERS, a.name, b.name],
        rows,
        "markdown" if fmt == "markdown" else "text",
        title=count,
    )


def run(args: argparse.Namespace) -> int:
    """Print the table or the diff; profile errors propagate as :class:`ProfileError`."""
    if args.diff:
        _print_diff(load_profile(args.diff[0]), load_profile(args.diff[1]), args.format)
        return 0
    profile = load_profile(args.profile)
    entries = [entry.as_json() for entry in profile]
    if args.format == "json":
        print(json.dumps(entries, indent=2))
        return 0
    title = f"{profile.name}: {profile.description}"
    print_table(
        HEADERS,
        [entry_row(data) for data in entries],
        "markdown" if args.format == "markdown" else "text",
        title=title,
    )
    return 0
