"""Rendering the report context (:mod:`snaporacle.report.data`) as one self-contained HTML page.

The page comes from the Jinja2 templates in ``templates/`` (shipped as package data): the HTML
skeleton, with its CSS and JavaScript included inline, so the file works offline in any current
browser. Autoescaping is on; data for the script is embedded with Jinja's ``tojson``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).parent / "templates"

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


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["op_summary"] = op_summary
    env.filters["result_summary"] = result_summary
    return env


def render_report(context: dict[str, Any]) -> str:
    """The report page for a context built by :func:`~snaporacle.report.data.report_context`."""
    return _environment().get_template("report.html.j2").render(**context)
