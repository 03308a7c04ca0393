"""Markdown job summaries: ``--summary-markdown PATH`` of ``snaporacle explore`` and ``replay``.

GitHub-flavoured Markdown, the form of CI job summaries (append the file to
``$GITHUB_STEP_SUMMARY``): the totals, the coverage of the 64 cells as a matrix, the operations,
and each divergence with its minimal trace (expected and actual per step) and differences.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from .model.modes import Column, DomainColumn
from .model.profile import Cell
from .render import markdown_table
from .steps_text import op_summary, result_summary

_HEADS = [(domain, flag) for domain in DomainColumn for flag in (False, True)]


def _coverage_matrix(covered: set[Cell], swept: set[Cell], counts: dict[Cell, int]) -> str:
    headers = ["memory / disk"] + [f"{d.value}{' disk-only' if f else ''}" for d, f in _HEADS]
    rows = []
    for memory in Column:
        for disk in Column:
            marks = []
            for domain, flag in _HEADS:
                cell = Cell(domain, memory, disk, flag)
                if cell in swept:
                    marks.append("swept")
                elif cell in covered:
                    marks.append(f"x {counts.get(cell, '')}".rstrip())
                else:
                    marks.append("-")
            rows.append([f"{memory.value} / {disk.value}", *marks])
    return markdown_table(headers, rows)


def _trace_table(steps: Sequence[dict[str, Any]]) -> str:
    rows = []
    for number, step in enumerate(steps, start=1):
        text = op_summary(step["op"])
        xml = step["op"].get("xml")
        if xml:
            text += "\n" + xml.strip()
        rows.append([str(number), html.escape(text), html.escape(result_summary(step.get("expected"))),
                     html.escape(result_summary(step.get("actual")))])
    return markdown_table(["#", "operation", "expected", "actual"], rows)


def divergence_markdown(title: str, divergence: dict[str, Any]) -> str:
    """One divergence: a heading, its minimal trace as a table, its differences."""
    lines = [f"### {title}", "", _trace_table(divergence["trace"])]
    if divergence.get("differences"):
        lines += ["Differences:", ""]
        lines += [f"- `{line}`" for line in divergence["differences"]]
    return "\n".join(lines) + "\n"


def explore_markdown(report: dict[str, Any], adapter: str, profile: str) -> str:
    """The summary of an explore run, from its report JSON."""
    covered = {Cell.from_json(c) for c in report["cells_covered"]}
    swept = {Cell.from_json(c) for c in report.get("cells_swept", [])}
    counts = {Cell.from_json(c): sum(c.get("outcomes", {}).values()) for c in report.get("cells", [])}
    divergences = report["divergences"]
    verdict = "no divergence" if not divergences else f"**{len(divergences)} divergence(s)**"
    parts = [
        f"## snaporacle explore: `{adapter}` against `{profile}`",
        "",
        f"{report['steps_run']} steps in {report['examples_run']} examples, "
        f"{len(covered)}/64 cells ({len(swept)} swept after the random runs), {verdict}, "
        f"{report['seconds']} s.",
        "",
        "Cells (x: reached by the random runs, with how many creates; swept: run as a trace of "
        "its own; -: not reached):",
        "",
        _coverage_matrix(covered, swept, counts),
        markdown_table(["operation", "steps"],
                       [[kind, str(count)] for kind, count in sorted(report["operations"].items())]),
    ]
    traces = report.get("traces") or []
    for number, divergence in enumerate(divergences):
        name = f" (`{traces[number]}`)" if number < len(traces) else ""
        parts.append(divergence_markdown(f"Divergence {number + 1}{name}", divergence))
    return "\n".join(parts)


def replay_markdown(outcomes: Sequence[Any], adapter: str) -> str:
    """The summary of a replay: one row per file, then each divergence.

    ``outcomes`` are :class:`snaporacle.corpus_replay.ReplayOutcome` values.
    """
    failed = [o for o in outcomes if not o.ok]
    verdict = "all agree" if not failed else f"**{len(failed)} diverged**"
    rows = [
        ["ok" if o.ok else "DIVERGED", o.kind, str(o.checked), f"`{o.path}`"] for o in outcomes
    ]
    parts = [
        f"## snaporacle replay on `{adapter}`",
        "",
        f"{len(outcomes)} file(s), {verdict}.",
        "",
        markdown_table(["status", "kind", "checked", "file"], rows),
    ]
    for outcome in failed:
        if outcome.divergence is not None:
            parts.append(divergence_markdown(f"`{outcome.path}`", outcome.divergence.as_json()))
        else:
            parts += [f"### `{outcome.path}`", ""] + [f"- {p}" for p in outcome.problems] + [""]
    return "\n".join(parts)
