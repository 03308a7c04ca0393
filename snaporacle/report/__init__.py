"""The HTML report: the snapshot compatibility matrix of every profile, their diff, the findings
and an explore run, as one self-contained page (``snaporacle report``)."""

from .data import report_context
from .findings import Finding, FindingVersion, load_findings, parse_findings
from .render import render_report

__all__ = [
    "Finding",
    "FindingVersion",
    "load_findings",
    "parse_findings",
    "render_report",
    "report_context",
]
