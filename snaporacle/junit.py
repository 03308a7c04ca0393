"""JUnit XML for CI: ``--junit-xml PATH`` of ``snaporacle explore`` and ``snaporacle replay``.

A run becomes a list of :class:`Case` values, one per table cell and per trace or corpus file
(:func:`explore_cases`, :func:`replay_cases`), and :func:`junit_document` writes them as one
``<testsuite>`` in a ``<testsuites>`` root, the form CI systems read. A divergence is a
``<failure>`` whose text is the minimal trace with the expected and actual result of every step
(:func:`snaporacle.steps_text.trace_text`); a cell the run did not reach is ``<skipped>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from .errors import CorpusError
from .model.profile import ALL_CELLS, Cell
from .steps_text import trace_text

Status = Literal["passed", "failed", "skipped"]


@attrs.frozen
class Case:
    """One test case: where it belongs, its name, its status and, for a failure, the text."""

    classname: str
    name: str
    status: Status
    message: str = ""
    text: str = ""
    seconds: float = 0.0


def _divergence_cell(divergence: dict[str, Any]) -> Cell | None:
    cell = divergence.get("cell")
    return Cell.from_json(cell) if isinstance(cell, dict) else None


def _failure_message(divergence: dict[str, Any]) -> str:
    differences = divergence.get("differences") or []
    steps = divergence.get("trace") or []
    head = f"divergence at step {len(steps)}"
    return f"{head}: {differences[0]}" if differences else head


def explore_cases(report: dict[str, Any], classname: str) -> list[Case]:
    """The cases of an explore run, from its report JSON: one per cell, one per divergence."""
    covered = {Cell.from_json(c) for c in report["cells_covered"]}
    divergences = report["divergences"]
    failing: dict[Cell, dict[str, Any]] = {}
    for divergence in divergences:
        cell = _divergence_cell(divergence)
        if cell is not None:
            failing.setdefault(cell, divergence)
    cases = []
    for cell in ALL_CELLS:
        if cell in failing:
            divergence = failing[cell]
            cases.append(Case(f"{classname}.cells", cell.key(), "failed",
                              _failure_message(divergence),
                              trace_text(divergence["trace"], divergence["differences"])))
        elif cell in covered:
            cases.append(Case(f"{classname}.cells", cell.key(), "passed"))
        else:
            why = ("not checked: the run stopped at a divergence" if divergences
                   else "not reached: excluded, or the adapter cannot run it")
            cases.append(Case(f"{classname}.cells", cell.key(), "skipped", why))
    traces = report.get("traces") or []
    for number, divergence in enumerate(divergences):
        name = traces[number] if number < len(traces) else f"divergence {number + 1}"
        cases.append(Case(f"{classname}.divergences", str(name), "failed",
                          _failure_message(divergence),
                          trace_text(divergence["trace"], divergence["differences"])))
    return cases


def replay_cases(outcomes: Sequence[Any], seconds: Sequence[float]) -> list[Case]:
    """The cases of a replay: one per trace or XML manifest, one per cell of a profile file.

    ``outcomes`` are :class:`snaporacle.corpus_replay.ReplayOutcome` values; ``seconds`` each one's time.
    """
    cases = []
    for outcome, elapsed in zip(outcomes, seconds, strict=True):
        path = str(outcome.path)
        divergence = outcome.divergence.as_json() if outcome.divergence is not None else None
        if getattr(outcome, "error", None) is not None:  # a file that could not be replayed
            cases.append(Case(f"replay.{outcome.kind}", path, "failed", outcome.error,
                              outcome.error + "\n", elapsed))
            continue
        if outcome.kind == "profile":
            cases += _profile_cases(path, divergence)
            continue
        if divergence is not None:
            cases.append(Case(f"replay.{outcome.kind}", path, "failed",
                              _failure_message(divergence),
                              trace_text(divergence["trace"], divergence["differences"]),
                              elapsed))
        elif outcome.problems:
            cases.append(Case(f"replay.{outcome.kind}", path, "failed",
                              f"{len(outcome.problems)} case(s) wrong: {outcome.problems[0]}",
                              "\n".join(outcome.problems) + "\n", elapsed))
        else:
            cases.append(Case(f"replay.{outcome.kind}", path, "passed", seconds=elapsed))
    return cases


def _profile_cases(path: str, divergence: dict[str, Any] | None) -> list[Case]:
    """A profile file's 64 cells: passed up to the cell that diverged, skipped after it."""
    classname = f"replay.profile.{path}"
    if divergence is None:
        return [Case(classname, cell.key(), "passed") for cell in ALL_CELLS]
    text = trace_text(divergence["trace"], divergence["differences"])
    failed = _divergence_cell(divergence)
    if failed is None:
        return [Case(classname, "cells", "failed", _failure_message(divergence), text)] + [
            Case(classname, cell.key(), "skipped", "not checked: the sweep stopped at a divergence")
            for cell in ALL_CELLS
        ]
    index = ALL_CELLS.index(failed)
    return [
        Case(classname, cell.key(), "passed") if number < index
        else Case(classname, cell.key(), "failed", _failure_message(divergence), text)
        if number == index
        else Case(classname, cell.key(), "skipped", "not checked: the sweep stopped at a divergence")
        for number, cell in enumerate(ALL_CELLS)
    ]


def junit_document(suite: str, cases: Sequence[Case], seconds: float) -> str:
    """The JUnit XML text of one test suite."""
    root = ET.Element("testsuites")
    element = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(sum(1 for c in cases if c.status == "failed")),
        errors="0",
        skipped=str(sum(1 for c in cases if c.status == "skipped")),
        time=f"{seconds:.3f}",
    )
    for case in cases:
        node = ET.SubElement(element, "testcase", classname=case.classname, name=case.name,
                             time=f"{case.seconds:.3f}")
        if case.status == "failed":
            failure = ET.SubElement(node, "failure", message=case.message, type="divergence")
            failure.text = case.text
        elif case.status == "skipped":
            ET.SubElement(node, "skipped", message=case.message)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_text(path: Path, text: str, what: str) -> None:
    """Write a CI file; an unwritable path is a one-line :class:`CorpusError`."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise CorpusError(f"{path}: cannot write the {what}: {err.strerror or err}") from err
