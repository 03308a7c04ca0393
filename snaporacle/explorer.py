"""The explorer: Hypothesis stateful testing of an adapter against the model.

:func:`machine_for` builds a ``RuleBasedStateMachine`` over a :class:`~snaporacle.lockstep.Lockstep`:
its rules draw operations from what the model knows (the domain, its disks, the snapshot names)
and every memory mode x disk mode x flag, invalid combinations included. A :class:`Divergence`
fails the example and Hypothesis shrinks it to a minimal trace.

:func:`explore` runs the machine for ``examples`` x ``steps``, then runs every table cell the
random runs did not reach as a short trace of its own (define, bring the domain to the cell's state,
create), so a run always says which of the 64 cells it checked. A divergence is cut down further
by replay (:mod:`snaporacle.minimize`) after Hypothesis' shrinking. Events go to a
:class:`~snaporacle.reporting.Reporter`.

A run stops early, and returns what it did so far, on SIGINT/SIGTERM (``interrupted``, see
:mod:`snaporacle.interrupts`; a divergence found but not yet shrunk is kept as it was found) and
when a process under the adapter fails (``environment_failures``: not a divergence).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import hypothesis
import hypothesis.errors
import hypothesis.reporting
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.internal.conjecture import engine as conjecture_engine
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from . import interrupts
from .adapters.protocol import Adapter
from .errors import EnvironmentFailure, Interrupted
from .lockstep import Divergence, Lockstep
from .minimize import minimize
from .model.invariants import world_problems
from .model.modes import Column, CreateFlag, DeleteFlag, DomainColumn, DomainState, RevertFlag
from .model.ops import (
    CreateSnapshot,
    CurrentSnapshot,
    DefineDomain,
    DeleteSnapshot,
    DestroyDomain,
    DumpSnapshotXML,
    ListSnapshots,
    Op,
    PauseDomain,
    ResumeDomain,
    RevertSnapshot,
    StartDomain,
    WriteData,
    WriteMemory,
)
from .model.profile import ALL_CELLS, Cell, Profile
from .reporting import NullReporter, Reporter
from .requests import cell_request, domain_spec, snapshot_xml

_Rule = TypeVar("_Rule", bound=Callable[..., Any])

NAMES = ("s1", "s2", "s3", "s4", "s5")
EXTRA_CREATE_FLAGS = (
    CreateFlag.HALT,
    CreateFlag.NO_METADATA,
    CreateFlag.ATOMIC,
    CreateFlag.LIVE,
    CreateFlag.REUSE_EXT,
    CreateFlag.QUIESCE,
    CreateFlag.VALIDATE,
    CreateFlag.CURRENT,
    CreateFlag.REDEFINE,
)


@attrs.define
class Coverage:
    """What a run reached: cells, operations, steps and examples."""

    cells: set[Cell] = attrs.field(factory=set)
    ops: Counter[str] = attrs.field(factory=Counter)
    steps: int = 0
    examples: int = 0
    #: how often each cell was reached, by the outcome the adapter gave
    cell_outcomes: Counter[tuple[Cell, str]] = attrs.field(factory=Counter)
    first_divergence: Divergence | None = None

    def record(self, op: Op, cell: Cell | None, outcome: str | None = None) -> None:
        """Count one step (``outcome``: the adapter's outcome class for a create in ``cell``)."""
        self.steps += 1
        self.ops[op.kind] += 1
        if cell is not None:
            self.cells.add(cell)
            if outcome is not None:
                self.cell_outcomes[cell, outcome] += 1

    def cells_json(self) -> list[dict[str, Any]]:
        """Each cell reached, in table order, with its outcome classes and how often."""
        return [
            {
                **cell.as_json(),
                "outcomes": dict(sorted(
                    (outcome, count) for (hit, outcome), count in self.cell_outcomes.items()
                    if hit == cell
                )),
            }
            for cell in ALL_CELLS
            if cell in self.cells
        ]


@attrs.frozen
class EnvironmentReport:
    """A process under the adapter failed during ``operation``: not a finding about the driver."""

    operation: str
    message: str

    def as_json(self) -> dict[str, str]:
        """The report entry."""
        return {"operation": self.operation, "message": self.message}


class _EnvironmentBroke(BaseException):
    """Carries an EnvironmentFailure out of Hypothesis, which would shrink it as a failure."""

    def __init__(self, report: EnvironmentReport) -> None:
        super().__init__(report.message)
        self.report = report


def _flags(draw: Any, options: tuple[Any, ...], empty: Any) -> Any:
    value = empty
    if not options:
        return value
    for flag in draw(st.lists(st.sampled_from(options), max_size=2, unique=True)):
        value |= flag
    return value


def machine_for(
    adapter: Adapter,
    profile: Profile,
    coverage: Coverage,
    reporter: Reporter,
    allow_failures: bool = False,
    exclude: frozenset[Cell] = frozenset(),
) -> type[RuleBasedStateMachine]:
    """A state machine class that drives ``adapter`` in lockstep with the model."""
    lockstep = Lockstep(adapter, profile, allow_failures=allow_failures)
    caps = adapter.capabilities
    disks = max(1, min(caps.max_disks, 2))
    lifecycle_kinds = [
        kind
        for kind, needs in (("start", "start"), ("start-paused", "start"), ("pause", "pause"),
                            ("resume", "resume"), ("destroy", "destroy"))
        if needs in caps.ops and caps.online
    ]
    cells = [
        c
        for c in ALL_CELLS
        if (caps.online or c.domain is DomainColumn.OFFLINE) and c not in exclude
    ]
    create_flags = tuple(f for f in EXTRA_CREATE_FLAGS if f in caps.create_flags)
    revert_flags = tuple(f for f in (RevertFlag.RUNNING, RevertFlag.PAUSED, RevertFlag.FORCE)
                         if f in caps.revert_flags)
    delete_flags = tuple(
        f for f in (DeleteFlag.CHILDREN, DeleteFlag.CHILDREN_ONLY, DeleteFlag.METADATA_ONLY)
        if f in caps.delete_flags
    )
    query_kinds = [k for k in ("list", "current", "dumpxml") if k in caps.ops]

    def supports(*kinds: str) -> Callable[[_Rule], _Rule]:
        return precondition(lambda _machine: all(k in caps.ops for k in kinds))

    class SnapshotMachine(RuleBasedStateMachine):
        """Random operations on one domain, compared with the model after every step."""

        def __init__(self) -> None:
            super().__init__()
            try:
                lockstep.reset()
            except EnvironmentFailure as failure:
                raise _EnvironmentBroke(EnvironmentReport("reset", str(failure))) from failure
            coverage.examples += 1
            reporter.example_started(coverage.examples)
            self.domain = domain_spec(adapter.root, 0, disks)

        def do(self, op: Op) -> None:
            try:
                _, cell = lockstep.step(op)
            except Divergence as divergence:
                actual = divergence.trace[-1].actual
                coverage.record(op, divergence.cell, actual.outcome.value)
                coverage.first_divergence = coverage.first_divergence or divergence
                reporter.step(op, actual, divergence.cell)
                raise
            except EnvironmentFailure as failure:
                raise _EnvironmentBroke(EnvironmentReport(op.kind, str(failure))) from failure
            coverage.record(op, cell, lockstep.trace[-1].actual.outcome.value)
            reporter.step(op, lockstep.trace[-1].actual, cell)

        def state(self) -> DomainState:
            domain = lockstep.world.domains.get(self.domain.name)
            return domain.state if domain else DomainState.SHUTOFF

        def snapshot_names(self) -> list[str]:
            domain = lockstep.world.domains.get(self.domain.name)
            return sorted(domain.snapshots) if domain else []

        @initialize()
        def define(self) -> None:
            self.do(DefineDomain(self.domain))

        @precondition(lambda _machine: bool(lifecycle_kinds))
        @rule(kind=st.sampled_from(lifecycle_kinds or ["start"]))
        def lifecycle(self, kind: str) -> None:
            name = self.domain.name
            ops: dict[str, Op] = {
                "start": StartDomain(name),
                "start-paused": StartDomain(name, paused=True),
                "pause": PauseDomain(name),
                "resume": ResumeDomain(name),
                "destroy": DestroyDomain(name),
            }
            self.do(ops[kind])

        @supports("write")
        @rule(disk=st.integers(0, disks - 1), block=st.integers(0, 3), pattern=st.integers(1, 255))
        def write(self, disk: int, block: int, pattern: int) -> None:
            self.do(WriteData(self.domain.name, self.domain.disks[disk].target, block, pattern))

        @supports("write_memory")
        @rule(block=st.integers(0, 3), pattern=st.integers(1, 255), paused=st.booleans())
        def write_memory(self, block: int, pattern: int, paused: bool) -> None:
            if not self.state().active and "start" in caps.ops and caps.online:
                self.do(StartDomain(self.domain.name, paused=paused))  # RAM needs a running VM
            self.do(WriteMemory(self.domain.name, block, pattern))

        @supports("create")
        @rule(
            cell=st.sampled_from(cells),
            name=st.sampled_from(NAMES),
            data=st.data(),
        )
        def create(self, cell: Cell, name: str, data: st.DataObject) -> None:
            online = cell.domain is DomainColumn.ONLINE
            if online and not self.state().active and "start" in caps.ops:
                self.do(StartDomain(self.domain.name, paused=data.draw(st.booleans())))
            elif not online and self.state().active and "destroy" in caps.ops:
                self.do(DestroyDomain(self.domain.name))
            targets = tuple(d.target for d in self.domain.disks)
            modes = {target: cell.disk for target in targets}
            if len(targets) > 1 and data.draw(st.booleans()):
                modes[targets[-1]] = data.draw(st.sampled_from(list(Column)))
            xml = snapshot_xml(
                adapter.root, name, cell.memory, modes,
                explicit_sources=data.draw(st.booleans()),
            )
            flags = CreateFlag.DISK_ONLY if cell.disk_only else CreateFlag(0)
            if data.draw(st.integers(0, 3)) == 0:
                flags |= _flags(data.draw, create_flags, CreateFlag(0))
            self.do(CreateSnapshot(self.domain.name, xml, flags))

        @supports("revert")
        @rule(data=st.data())
        def revert(self, data: st.DataObject) -> None:
            name = data.draw(st.sampled_from(self.snapshot_names() or list(NAMES)))
            flags = _flags(data.draw, revert_flags, RevertFlag(0))
            self.do(RevertSnapshot(self.domain.name, name, flags))

        @supports("delete")
        @rule(data=st.data())
        def delete(self, data: st.DataObject) -> None:
            name = data.draw(st.sampled_from(self.snapshot_names() or list(NAMES)))
            flags = _flags(data.draw, delete_flags, DeleteFlag(0))
            self.do(DeleteSnapshot(self.domain.name, name, flags))

        @precondition(lambda _machine: bool(query_kinds))
        @rule(kind=st.sampled_from(query_kinds or ["list"]), data=st.data())
        def query(self, kind: str, data: st.DataObject) -> None:
            name = self.domain.name
            if kind == "list":
                self.do(ListSnapshots(name))
            elif kind == "current":
                self.do(CurrentSnapshot(name))
            else:
                snap = data.draw(st.sampled_from(self.snapshot_names() or list(NAMES)))
                self.do(DumpSnapshotXML(name, snap))

        @invariant()
        def world_is_sound(self) -> None:
            """The model's tree is well formed and every snapshot's saved data is intact."""
            problems = world_problems(lockstep.world)
            if problems and lockstep.trace:
                raise Divergence(lockstep.trace, [f"invariant: {p}" for p in problems], None,
                                 adapter.root)

    return SnapshotMachine


@attrs.frozen
class ExploreResult:
    """The outcome of a run: coverage, seconds and the divergence found (if any)."""

    coverage: Coverage
    seconds: float
    divergences: tuple[Divergence, ...]
    swept: tuple[Cell, ...]
    interrupted: str | None = None
    environment_failures: tuple[EnvironmentReport, ...] = ()

    def as_json(self, examples: int, steps: int) -> dict[str, Any]:
        """The report JSON of ``snaporacle explore --report-json``."""
        return {
            "examples": examples,
            "steps": steps,
            "examples_run": self.coverage.examples,
            "steps_run": self.coverage.steps,
            "seconds": round(self.seconds, 3),
            "cells_covered": [c.as_json() for c in ALL_CELLS if c in self.coverage.cells],
            "cells_swept": [c.as_json() for c in self.swept],
            "cells": self.coverage.cells_json(),
            "operations": dict(sorted(self.coverage.ops.items())),
            "divergences": [d.as_json() for d in self.divergences],
            "interrupted": self.interrupted,
            "environment_failures": [f.as_json() for f in self.environment_failures],
        }


def sweep_cells(
    adapter: Adapter,
    profile: Profile,
    cells: list[Cell],
    coverage: Coverage,
    reporter: Reporter,
    allow_failures: bool = False,
) -> Divergence | None:
    """Run each cell as a short trace of its own: define, set the state, create."""
    lockstep = Lockstep(adapter, profile, allow_failures=allow_failures)
    for cell in cells:
        lockstep.reset()
        domain = domain_spec(adapter.root)
        ops: list[Op] = [DefineDomain(domain)]
        if cell.domain is DomainColumn.ONLINE:
            ops.append(StartDomain(domain.name))
        xml, flags = cell_request(cell, adapter.root, "cell")
        ops.append(CreateSnapshot(domain.name, xml, flags))
        for op in ops:
            try:
                _, hit = lockstep.step(op)
            except Divergence as divergence:
                return divergence
            coverage.record(op, hit, lockstep.trace[-1].actual.outcome.value)
            reporter.step(op, lockstep.trace[-1].actual, hit)
    lockstep.reset()
    return None


def explore(
    adapter: Adapter,
    profile: Profile,
    examples: int = 40,
    steps: int = 30,
    seed: int | None = None,
    reporter: Reporter | None = None,
    sweep: bool = True,
    allow_failures: bool = False,
    shrink_seconds: int = 60,
    exclude: frozenset[Cell] = frozenset(),
) -> ExploreResult:
    """Explore ``adapter`` against ``profile``; see the module docstring.

    ``exclude`` names cells not to draw nor sweep, for instance a known bug already kept as a
    trace, so that the exploration can look past it.

    ``shrink_seconds`` bounds the time Hypothesis spends shrinking a divergence (its own
    default is five minutes, too long for a slow adapter).
    """
    reporter = reporter or NullReporter()
    coverage = Coverage()
    machine = machine_for(adapter, profile, coverage, reporter, allow_failures, exclude)
    if seed is not None:
        machine = hypothesis.seed(seed)(machine)
    settings = hypothesis.settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        derandomize=seed is None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    reporter.run_started(examples, steps)
    start = time.perf_counter()
    divergences: list[Divergence] = []
    failures: list[EnvironmentReport] = []
    stopped: Interrupted | None = None
    swept: list[Cell] = []
    saved_limit = conjecture_engine.MAX_SHRINKING_SECONDS
    conjecture_engine.MAX_SHRINKING_SECONDS = shrink_seconds
    try:
        with interrupts.interruptible():
            try:
                with hypothesis.reporting.with_reporter(lambda _message: None):
                    run_state_machine_as_test(machine, settings=settings)
            except Divergence as divergence:
                try:
                    shortest = minimize(adapter, profile, divergence, allow_failures)
                except Interrupted as stop:
                    stopped, shortest = stop, divergence
                except EnvironmentFailure as failure:
                    failures.append(EnvironmentReport("minimize", str(failure)))
                    shortest = divergence
                divergences.append(shortest)
                reporter.divergence(shortest)
            except Interrupted as stop:
                stopped = stop
                if coverage.first_divergence is not None:  # found, not shrunk yet: keep it
                    divergences.append(coverage.first_divergence)
                    reporter.divergence(coverage.first_divergence)
            except _EnvironmentBroke as broke:
                failures.append(broke.report)
            except hypothesis.errors.Flaky:
                if coverage.first_divergence is None:
                    raise
                first = coverage.first_divergence  # it did not happen again: report it as found
                note = "this divergence did not happen again when Hypothesis replayed it"
                divergences.append(Divergence(first.trace, [*first.differences, note], first.cell))
                reporter.divergence(divergences[-1])
            if sweep and not (divergences or failures or stopped):
                swept = [
                    cell
                    for cell in ALL_CELLS
                    if cell not in coverage.cells
                    and cell not in exclude
                    and (adapter.capabilities.online or cell.domain is DomainColumn.OFFLINE)
                ]
                try:
                    found = sweep_cells(adapter, profile, swept, coverage, reporter, allow_failures)
                except Interrupted as stop:
                    stopped, found = stop, None
                except EnvironmentFailure as failure:
                    failures.append(EnvironmentReport("cell sweep", str(failure)))
                    found = None
                if found is not None:
                    divergences.append(found)
                    reporter.divergence(found)
    finally:
        conjecture_engine.MAX_SHRINKING_SECONDS = saved_limit
    result = ExploreResult(
        coverage, time.perf_counter() - start, tuple(divergences), tuple(swept),
        stopped.name if stopped else None, tuple(failures),
    )
    reporter.run_finished(result)
    return result
