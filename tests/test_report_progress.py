"""The console reporter where stderr is no terminal: progress lines at a steady pace, and tables
as wide as they need (a CI log is not 80 columns)."""

from __future__ import annotations

import io
import itertools
import re
import time

from rich.console import Console

from snaporacle.adapters.fake import FakeAdapter
from snaporacle.explorer import explore
from snaporacle.profiles import load_profile
from snaporacle.reporting import ConsoleReporter


class Clock:
    """A clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _run(interval: float) -> tuple[str, Clock]:
    out = io.StringIO()
    clock = Clock()
    reporter = ConsoleReporter(Console(file=out, force_terminal=False, width=80), interval, clock,
                               watch=False)
    assert not reporter.live
    explore(FakeAdapter(), load_profile("libvirt-current"), examples=20, steps=10, seed=3,
            reporter=reporter)
    return out.getvalue(), clock


def test_progress_lines_come_at_a_steady_pace_when_not_a_terminal() -> None:
    text, clock = _run(interval=50.0)
    lines = re.findall(r"^\[\s*(\d+) s\] example (\d+)/20, (\d+) steps, (\d+)/64 cells$", text,
                       re.MULTILINE)
    elapsed = clock.now - 1001.0
    # one line per interval: the clock moved `elapsed` seconds, read once per event
    assert len(lines) == int(elapsed // 50.0)
    seconds = [int(line[0]) for line in lines]
    assert all(later - earlier == 50 for earlier, later in itertools.pairwise(seconds))
    steps = [int(line[2]) for line in lines]
    assert steps == sorted(steps) and steps[-1] > 0
    assert text.startswith("exploring: 20 examples of up to 10 steps")


def test_tables_are_not_wrapped_at_80_columns_in_a_log() -> None:
    text, _ = _run(interval=1e9)
    rows = [line for line in text.splitlines() if line.startswith("│ omit / omit")]
    assert rows, text
    # the coverage table is 81 columns wide: at 80 rich would squeeze or fold it
    assert len(rows[0]) == 81
    assert "examples, " in text.splitlines()[-1] and "divergence(s)" in text.splitlines()[-1]
    assert not re.search(r"^\[\s*\d+ s\]", text, re.MULTILINE)  # the interval never passed


def test_a_watcher_keeps_the_pace_while_no_event_comes() -> None:
    out = io.StringIO()
    reporter = ConsoleReporter(Console(file=out, force_terminal=False), interval=0.05)
    reporter.run_started(3, 5)
    assert reporter.watcher is not None
    deadline = time.monotonic() + 30
    while out.getvalue().count("] example 0/3") < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # no event at all: only the watcher can print
    reporter.close()
    assert out.getvalue().count("] example 0/3, 0 steps, 0/64 cells") >= 2
    assert not reporter.watcher.is_alive()
    printed = out.getvalue()
    time.sleep(0.2)
    assert out.getvalue() == printed  # closed: no more lines
