"""Rendering the report context (:mod:`snaporacle.report.data`) as one self-contained HTML page.

The page comes from the Jinja2 templates in ``templates/`` (shipped as package data): the HTML
skeleton, with its CSS and JavaScript included inline, so the file works offline in any current
browser. Autoescaping is on; data for the script is embedded with Jinja's ``tojson``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from ..steps_text import op_summary, result_summary

TEMPLATES = Path(__file__).parent / "templates"

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
