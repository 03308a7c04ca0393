"""Operations, results and traces in their JSON form as short text, for people to read.

The report page, the JUnit failure texts and the Markdown summaries all describe a step the same
way: :func:`op_summary` (``delete name=s1 flags=METADATA_ONLY``), :func:`result_summary`
(``invalid VIR_ERR_XML_ERROR``) and :func:`trace_text`, a minimal trace with the expected and
actual result of every step and the differences.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Operation fields not shown in an operation's one-line summary.
_HIDDEN_FIELDS = ("op", "domain", "xml")


def op_summary(op: dict[str, Any]) -> str:
    """One line for an operation in its JSON form, e.g. ``delete s1 flags=METADATA_ONLY``."""
    kind = str(op.get("op"))
    domain = op.get("domain")
    if kind == "define" and isinstance(domain, dict):
        disks = ", ".join(
            f"{d['target']}{'' if not d.get('snapshot') else ' snapshot=' + d['snapshot']}"
            for d in domain.get("disks", [])
        )
        return f"define {domain.get('name')} ({disks})"
    parts = [kind]
    for key, value in op.items():
        if key in _HIDDEN_FIELDS:
            continue
        if key == "flags":
            if value:
                parts.append("flags=" + "|".join(value))
            continue
        if key == "paused" and not value:
            continue
        parts.append(f"{key}={value}")
    return " ".join(parts)


def result_summary(result: dict[str, Any] | None) -> str:
    """One line for a result in its JSON form: the outcome, the error code and the value."""
    if result is None:
        return "not recorded"
    text = str(result.get("outcome"))
    if result.get("error"):
        text += f" {result['error']}"
    value = result.get("value")
    if isinstance(value, list):
        text += f" [{', '.join(value)}]"
    elif isinstance(value, str) and "\n" not in value:
        text += f" {value}"
    return text


def trace_text(steps: Sequence[dict[str, Any]], differences: Sequence[str] = ()) -> str:
    """A trace (``{"op", "expected", "actual"}`` steps) as text, then the differences."""
    lines = []
    for number, step in enumerate(steps, start=1):
        lines.append(f"step {number}: {op_summary(step['op'])}")
        xml = step["op"].get("xml")
        if xml:
            lines += [f"    {line}" for line in xml.strip().splitlines()]
        for side in ("expected", "actual"):
            result = step.get(side)
            message = f" ({result['message']})" if result and result.get("message") else ""
            lines.append(f"  {side + ':':9} {result_summary(result)}{message}")
    if differences:
        lines.append("differences:")
        lines += [f"  {line}" for line in differences]
    return "\n".join(lines) + "\n"
