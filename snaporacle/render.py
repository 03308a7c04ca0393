"""Printing tables for the command line: a rich table on a terminal, or GitHub Markdown.

The whole API is :func:`print_table` (and :func:`markdown_table` underneath it). A table is a list
of column headers and rows of strings; callers decide what the cells say. Rich writes colour and
styles only when the output is a terminal, so piped or captured output is plain text, and the
table is never wrapped to the 80 columns rich assumes for a pipe.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from typing import Literal, TextIO

from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table

Format = Literal["text", "markdown"]

#: The formats :func:`print_table` accepts, for ``choices=`` in argument parsers.
FORMATS: tuple[Format, ...] = ("text", "markdown")

#: The widest a table gets when the output is not a terminal (rows longer than this fold).
_PIPE_MAX_WIDTH = 400


def _escape_markdown(cell: str) -> str:
    return cell.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table; ``|`` and line breaks inside cells are escaped."""
    lines = ["| " + " | ".join(_escape_markdown(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(_escape_markdown(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _rich_table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str | None) -> Table:
    table = Table(title=title, header_style="bold", title_justify="left")
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    fmt: Format = "text",
    *,
    title: str | None = None,
    file: TextIO | None = None,
) -> None:
    """Print a table to ``file`` (standard output by default) as rich ``text`` or ``markdown``.

    Every row must have one cell per header. ``title`` is printed above the table (as a plain
    line in Markdown).
    """
    out = file if file is not None else sys.stdout
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"row {list(row)!r} has {len(row)} cells for {len(headers)} headers")
    if fmt == "markdown":
        if title:
            out.write(f"{title}\n\n")
        out.write(markdown_table(headers, rows))
        return
    table = _rich_table(headers, rows, title)
    console = Console(file=out, highlight=False)
    if not console.is_terminal:
        console = Console(file=out, highlight=False, width=log_width(table))
    console.print(table)


def log_width(renderable: RenderableType) -> int:
    """The width ``renderable`` needs unwrapped (at most 400 columns): for output to a log or a
    pipe, where rich would otherwise assume 80 columns."""
    unbounded = Console(file=io.StringIO(), width=_PIPE_MAX_WIDTH)
    return Measurement.get(unbounded, unbounded.options, renderable).maximum
