"""What the HTML report shows, as plain data for the template.

:func:`report_context` gathers the profiles' 64-cell matrices, the differences of every pair of
profiles (from :func:`snaporacle.model.profile.differing_cells` and ``snaporacle profile diff``'s
own :func:`~snaporacle.commands.profile.differences`, so the report highlights exactly what those
commands list), the findings drawn step by step, and an explore run's ``--report-json``.
Nothing here reads a clock: the same inputs give the same page.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..commands.profile import differences
from ..errors import CorpusError
from ..model.modes import Column, DomainColumn
from ..model.profile import Accepted, Cell, CellEntry, Profile, differing_cells
from .findings import Finding, draw_trace, read_json_object

#: The matrix columns: domain state x DISK_ONLY, as in the explorer's coverage table.
MATRIX_COLUMNS: tuple[tuple[DomainColumn, bool], ...] = tuple(
    (domain, flag) for domain in DomainColumn for flag in (False, True)
)
#: The matrix rows: memory x disk as given in the request.
MATRIX_ROWS: tuple[tuple[Column, Column], ...] = tuple(itertools.product(Column, Column))


def column_label(domain: DomainColumn, disk_only: bool) -> str:
    """A matrix column's heading, e.g. ``online disk-only``."""
    return f"{domain.value}{' disk-only' if disk_only else ''}"


def cell_details(entry: CellEntry) -> dict[str, Any]:
    """Everything the report shows for one cell of one profile."""
    data = entry.as_json()
    verdict = entry.verdict
    data["key"] = entry.cell.key()
    data["state"] = verdict.state.value if isinstance(verdict, Accepted) else None
    if isinstance(verdict, Accepted):
        data["label"] = "+".join(data["mechanism"])
    else:
        data["label"] = (verdict.error or verdict.outcome.value).removeprefix("VIR_ERR_")
    return data


def _matrix(cells: dict[Cell, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "label": f"{memory.value} / {disk.value}",
            "cells": [cells.get(Cell(domain, memory, disk, flag)) for domain, flag in MATRIX_COLUMNS],
        }
        for memory, disk in MATRIX_ROWS
    ]


def profile_view(profile: Profile) -> dict[str, Any]:
    """One profile: name, description, provenance, rules, capabilities and the 16 x 4 matrix."""
    cells = {entry.cell: cell_details(entry) for entry in profile}
    rules = {}
    for rule in ("mixed", "nothing", "partial_no"):
        verdict = getattr(profile, rule)
        rules[rule] = None if verdict is None else {
            "outcome": verdict.outcome.value, "error": verdict.error, "reason": verdict.reason,
        }
    caps = profile.capabilities
    return {
        "name": profile.name,
        "description": profile.description,
        "provenance": [list(item) for item in profile.provenance],
        "rules": rules,
        "capabilities": {
            field: getattr(caps, field)
            for field in ("revert_internal", "revert_external", "delete_internal", "delete_external")
        },
        "rows": _matrix(cells),
        "outcomes": {
            outcome: sum(1 for c in cells.values() if c["outcome"] == outcome)
            for outcome in ("accepted", "invalid", "unsupported")
        },
    }


def pair_differences(profiles: Sequence[Profile]) -> dict[str, dict[str, Any]]:
    """For every ordered pair ``"A|B"``: the differing cell keys and ``profile diff``'s rows."""
    out: dict[str, dict[str, Any]] = {}
    for a, b in itertools.permutations(profiles, 2):
        out[f"{a.name}|{b.name}"] = {
            "cells": [left.cell.key() for left, _ in differing_cells(a, b)],
            "rows": [list(row) for row in differences(a, b)],
        }
    return out


def finding_view(finding: Finding, traces: Path, corpus: Path) -> dict[str, Any]:
    """A finding with its versions and its trace drawn step by step."""
    path = traces / finding.trace
    if not path.is_file():
        raise CorpusError(f"finding {finding.id}: no trace {path}")
    document = read_json_object(path)
    observed = next((v for v in finding.versions if v.observed), None)
    if observed is not None and observed.observed is not None:
        drawn = draw_trace(path, corpus / observed.observed,
                           f"libvirt {observed.libvirt} ({observed.driver})")
    else:
        drawn = draw_trace(path, None, f"the recorded run on {document.get('adapter', '?')}")
    summary = (document.get("finding") or {}).get("summary") or document.get("about") or ""
    return {
        "id": finding.id,
        "title": finding.title,
        "summary": summary,
        "impact": finding.impact,
        "trace": drawn.path,
        "profile": drawn.profile,
        "observed_on": drawn.observed_on,
        "differences": list(drawn.differences),
        "versions": [
            {"libvirt": v.libvirt, "driver": v.driver, "holds": v.holds, "note": v.note}
            for v in finding.versions
        ],
        "steps": [
            {"number": s.number, "op": s.op, "expected": s.expected, "actual": s.actual,
             "missing": s.missing}
            for s in drawn.steps
        ],
    }


def _cells_of(data: Any, where: str) -> list[Cell]:
    if not isinstance(data, list):
        raise CorpusError(f"{where}: must be a list of cells")
    try:
        return [Cell.from_json(item) for item in data]
    except (ValueError, AttributeError, KeyError) as err:
        raise CorpusError(f"{where}: not a cell ({err})") from err


def explore_view(path: Path) -> dict[str, Any]:
    """An explore run's ``--report-json``: totals, coverage per cell, operations, divergences."""
    data = read_json_object(path)
    needed = ("examples_run", "steps_run", "seconds", "cells_covered", "operations", "divergences")
    if any(key not in data for key in needed):
        raise CorpusError(
            f"{path}: not a report of 'snaporacle explore --report-json' "
            f"(needs the keys {', '.join(needed)})"
        )
    covered = set(_cells_of(data["cells_covered"], f"{path}: cells_covered"))
    swept = set(_cells_of(data.get("cells_swept", []), f"{path}: cells_swept"))
    outcomes: dict[Cell, dict[str, int]] = {}
    for item in data.get("cells", []):
        cell = _cells_of([item], f"{path}: cells")[0]
        outcomes[cell] = dict(item.get("outcomes", {}))
    failing = {
        Cell.from_json(d["cell"]) for d in data["divergences"] if isinstance(d.get("cell"), dict)
    }
    cells: dict[Cell, dict[str, Any]] = {}
    for domain, flag in MATRIX_COLUMNS:
        for memory, disk in MATRIX_ROWS:
            cell = Cell(domain, memory, disk, flag)
            if cell in failing:
                status = "diverged"
            elif cell in swept:
                status = "swept"
            elif cell in covered:
                status = "reached"
            else:
                status = "missed"
            counts = outcomes.get(cell, {})
            cells[cell] = {
                "key": cell.key(),
                "status": status,
                "outcomes": counts,
                "count": sum(counts.values()),
            }
    return {
        "source": path.name,
        "examples": data["examples_run"],
        "steps": data["steps_run"],
        "seconds": data["seconds"],
        "covered": len(covered),
        "swept": len(swept),
        "rows": _matrix(cells),
        "operations": sorted(dict(data["operations"]).items()),
        "divergences": data["divergences"],
        "traces": data.get("traces", []),
    }


def report_context(
    profiles: Sequence[Profile],
    diff: tuple[str, str] | None,
    findings: Sequence[Finding],
    traces: Path,
    corpus: Path,
    explore_json: Path | None,
    title: str,
) -> dict[str, Any]:
    """Everything the template needs; ``diff`` is the pair shown first in the diff view."""
    names = [p.name for p in profiles]
    if diff is None:
        diff = (names[0], names[1]) if len(names) > 1 else (names[0], names[0])
    return {
        "title": title,
        "columns": [column_label(domain, flag) for domain, flag in MATRIX_COLUMNS],
        "profiles": [profile_view(p) for p in profiles],
        "pairs": pair_differences(profiles),
        "diff": list(diff),
        "findings": [finding_view(f, traces, corpus) for f in findings],
        "explore": explore_view(explore_json) if explore_json else None,
    }
