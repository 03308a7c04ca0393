"""Reporters: where the explorer's events go (step taken, divergence found, run finished).

A reporter implements :class:`Reporter`; :class:`ConsoleReporter` shows a rich progress bar (or,
where stderr is no terminal, a progress line at a steady pace) and, at the end, which of the 64
cells and which operations were hit, and the divergence side by side.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .model.modes import Column, DomainColumn
from .model.ops import Op, Result
from .model.profile import ALL_CELLS, Cell
from .render import log_width
from .steps_text import op_summary, result_summary

#: Seconds between two progress lines when the output is not a terminal.
PROGRESS_INTERVAL = 10.0

if TYPE_CHECKING:
    from .explorer import ExploreResult
    from .lockstep import Divergence


class Reporter(Protocol):
    """Receives the events of a run."""

    def run_started(self, examples: int, steps: int) -> None:
        """A run begins."""

    def example_started(self, number: int) -> None:
        """Hypothesis starts example ``number`` (including shrink attempts)."""

    def step(self, op: Op, result: Result, cell: Cell | None) -> None:
        """One operation was applied to both sides."""

    def divergence(self, divergence: Divergence) -> None:
        """A (shrunk) divergence was found."""

    def run_finished(self, result: ExploreResult) -> None:
        """The run is over."""


class NullReporter:
    """Ignores every event."""

    def run_started(self, examples: int, steps: int) -> None:
        """Nothing."""

    def example_started(self, number: int) -> None:
        """Nothing."""

    def step(self, op: Op, result: Result, cell: Cell | None) -> None:
        """Nothing."""

    def divergence(self, divergence: Divergence) -> None:
        """Nothing."""

    def run_finished(self, result: ExploreResult) -> None:
        """Nothing."""


def coverage_table(cells: set[Cell]) -> Table:
    """Which of the 64 cells were hit: rows memory x disk, columns domain x DISK_ONLY."""
    table = Table(title=f"table cells covered: {len(cells)}/{len(ALL_CELLS)}")
    table.add_column("memory / disk")
    heads = [(d, f) for d in DomainColumn for f in (False, True)]
    for domain, flag in heads:
        table.add_column(f"{domain.value}{' disk-only' if flag else ''}", justify="center")
    for memory in Column:
        for disk in Column:
            marks = [
                "x" if Cell(domain, memory, disk, flag) in cells else "-" for domain, flag in heads
            ]
            table.add_row(f"{memory.value} / {disk.value}", *marks)
    return table


def divergence_table(divergence: Divergence) -> Table:
    """The minimal trace with the expected and actual result of each step."""
    table = Table(title="divergence: minimal trace")
    table.add_column("#", justify="right")
    table.add_column("operation")
    table.add_column("expected")
    table.add_column("actual")
    for number, step in enumerate(divergence.trace, start=1):
        data = step.as_json()
        text = op_summary(data["op"])
        if step.op.kind == "create":
            text += "\n" + str(data["op"]["xml"]).strip()
        table.add_row(
            str(number), text, result_summary(data["expected"]), result_summary(data["actual"])
        )
    return table


class ConsoleReporter:
    """Progress while running; coverage and divergences at the end.

    On a terminal the progress is a rich bar. Elsewhere (a CI log, a pipe) a bar would print
    nothing until the end, so a plain line says how far the run is every ``interval`` seconds,
    and the final tables are as wide as they need, not wrapped at 80 columns. The lines come on
    events (steps, examples) and, with ``watch``, from a thread that keeps the pace while no event
    comes (a divergence being cut down by replay, a slow reset); :meth:`close` stops it.
    """

    def __init__(
        self,
        console: Console | None = None,
        interval: float = PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        watch: bool = True,
    ) -> None:
        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal
        self.interval = interval
        self.clock = clock
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.watcher = (
            threading.Thread(target=self._watch, name="snaporacle-progress", daemon=True)
            if watch and not self.live else None
        )
        self.progress = Progress(
            TextColumn("[bold]exploring"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("examples, {task.fields[steps]} steps, {task.fields[cells]}/64 cells"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.task = self.progress.add_task("explore", total=0, steps=0, cells=0)
        self.cells: set[Cell] = set()
        self.steps = 0
        self.examples = 0
        self.example = 0
        self.started = 0.0
        self.next_line = 0.0

    def run_started(self, examples: int, steps: int) -> None:
        """Start the progress bar, or the progress lines."""
        self.examples = examples
        self.started = self.clock()
        self.next_line = self.started + self.interval
        if self.live:
            self.progress.update(self.task, total=examples)
            self.progress.start()
        else:
            self._say(f"exploring: {examples} examples of up to {steps} steps, then the cells "
                      "they missed; a progress line every "
                      f"{self.interval:g} s")
            if self.watcher is not None:
                self.watcher.start()

    def _watch(self) -> None:
        while not self.done.wait(self.interval / 4):
            self._tick()

    def close(self) -> None:
        """Stop the progress lines (the run is over or was interrupted)."""
        self.done.set()
        if self.watcher is not None and self.watcher.is_alive():
            self.watcher.join()

    def example_started(self, number: int) -> None:
        """Advance the bar."""
        self.example = number
        if self.live:
            self.progress.update(self.task, completed=number)
        else:
            self._tick()

    def step(self, op: Op, result: Result, cell: Cell | None) -> None:
        """Count the step and the cell."""
        self.steps += 1
        if cell is not None:
            self.cells.add(cell)
        if not self.live:
            self._tick()
        elif self.steps % 25 == 0:
            self.progress.update(self.task, steps=self.steps, cells=len(self.cells))

    def _tick(self) -> None:
        with self.lock:
            if self.done.is_set():
                return
            now = self.clock()
            if now < self.next_line:
                return
            while self.next_line <= now:
                self.next_line += self.interval
            example = min(self.example, self.examples) if self.examples else self.example
            self._say(
                f"[{now - self.started:5.0f} s] example {example}/{self.examples}, "
                f"{self.steps} steps, {len(self.cells)}/64 cells"
            )

    def _say(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def _show(self, renderable: Table) -> None:
        if not self.live:
            self.console.width = log_width(renderable)
        self.console.print(renderable)

    def divergence(self, divergence: Divergence) -> None:
        """Show the minimal trace side by side."""
        self.progress.stop()
        self._show(divergence_table(divergence))
        for line in divergence.differences[:20]:
            self.console.print(f"  [red]{line}", soft_wrap=not self.live)

    def run_finished(self, result: ExploreResult) -> None:
        """Show the coverage tables."""
        self.close()
        self.progress.stop()
        for table in run_tables(result):
            self._show(table)
        self._say(run_totals(result))


def run_tables(result: ExploreResult) -> list[Table]:
    """The tables that end a run: the cells covered and the operations."""
    ops = Table(title="operations")
    ops.add_column("operation")
    ops.add_column("steps", justify="right")
    for kind, count in sorted(result.coverage.ops.items()):
        ops.add_row(kind, str(count))
    return [coverage_table(result.coverage.cells), ops]


def run_totals(result: ExploreResult) -> str:
    """The line that ends a run."""
    return (
        f"{result.coverage.examples} examples, {result.coverage.steps} steps, "
        f"{len(result.swept)} cells swept, {len(result.divergences)} divergence(s), "
        f"{result.seconds:.1f} s"
    )


def summary_svg(result: ExploreResult, title: str) -> str:
    """The end of a run (its tables and totals) as an SVG picture drawn by rich, for a job
    summary or an artifact."""
    tables = run_tables(result)
    width = max(log_width(table) for table in tables)
    console = Console(record=True, file=io.StringIO(), width=max(width, len(run_totals(result))))
    for table in tables:
        console.print(table)
    console.print(run_totals(result), markup=False, highlight=False)
    return console.export_svg(title=title)
