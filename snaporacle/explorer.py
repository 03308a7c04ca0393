"""The explorer: Hypothesis stateful testing of an adapter against the model.

:class:`SnapshotMachine` is a ``RuleBasedStateMachine`` over a :class:`~snaporacle.lockstep.Lockstep`.
Bind it to an adapter factory and a profile with :meth:`SnapshotMachine.bind`; the bound class runs
under :func:`explore`, or under pytest as ``TestX = SnapshotMachine.bind(MyAdapter).TestCase``, and
a user's subclass may add rules of its own that call :meth:`SnapshotMachine.do`::

    class MyMachine(SnapshotMachine.bind(MyAdapter, "libvirt-current")):
        @rule()
        def reboot(self) -> None:
            self.do(DestroyDomain("d0"))

    TestMyDriver = MyMachine.TestCase

Each example defines one to three domains of one to three disks (qcow2 or raw, each with or without
its own ``snapshot=`` default), then draws operations from what the model knows (:mod:`.draws`):
creates weighted toward the cells a profile accepts, with fresh names and the extra flags that
matter in that cell (invalid requests kept), reverts and deletes weighted toward snapshots in the
middle of a tree with every flag combination, life-cycle changes, guest writes and queries.

:func:`explore` runs the machine for ``examples`` x ``steps`` (random unless a seed is given; the
seed is in the result), then runs every table cell the random runs did not reach with the cell's
own verdict as a short trace of its own, so a run always says which cells it checked. A divergence
is cut down further by replay (:mod:`snaporacle.minimize`) after Hypothesis' shrinking.

A run stops early, and returns what it did so far, on SIGINT/SIGTERM (``interrupted``, see
:mod:`snaporacle.interrupts`; a divergence found but not yet shrunk is kept as it was found) and
when a process under the adapter fails (``environment_failures``: not a divergence).
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import attrs
import hypothesis
import hypothesis.errors
import hypothesis.reporting
from hypothesis import HealthCheck
from hypothesis.database import ExampleDatabase
from hypothesis.internal.conjecture import engine as conjecture_engine
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from . import interrupts
from .adapters.protocol import Adapter
from .draws import CHOICES, NAMES, Draws, Picks, filler
from .errors import EnvironmentFailure, Interrupted
from .known import KnownFinding, divergence_signature
from .lockstep import Divergence, Lockstep, cell_verdict_met
from .minimize import minimize
from .model.decide import cell_of, own_default_cells
from .model.definition import DomainSpec
from .model.modes import Column, CreateFlag, DomainColumn, DomainState
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
    Result,
    ResumeDomain,
    RevertSnapshot,
    StartDomain,
    WriteData,
    WriteMemory,
)
from .model.profile import ALL_CELLS, Accepted, Cell, Profile
from .model.snapshot_xml import parse_snapshot
from .model.world import Domain
from .profiles import load_profile
from .reporting import NullReporter, Reporter
from .requests import cell_request, domain_spec, snapshot_xml

__all__ = [
    "NAMES",
    "Coverage",
    "ExploreResult",
    "SnapshotMachine",
    "explore",
    "sweep_cells",
]


_BOOLS = (False, True)

#: What a filler step (:func:`~snaporacle.draws.filler`) carries out, when it can: three creates
#: to one revert and one delete (each kind has ``may_<kind>`` and ``do_<kind>``).
FILLER_KINDS = ("create", "create", "create", "revert", "delete")
_COLUMNS = tuple(Column)


def _outcome_label(result: Result) -> str:
    return result.outcome.value + (f" {result.error}" if result.error else "")


@attrs.define
class Coverage:
    """What a run reached: cells (honestly), operations, steps, rule calls and examples.

    ``cells`` holds the cells whose create got the verdict the cell decides; ``reached`` counts,
    per cell, every create that fell in it by the outcome the model expected.
    """

    cells: set[Cell] = attrs.field(factory=set)
    reached: dict[Cell, Counter[str]] = attrs.field(factory=dict)
    ops: Counter[str] = attrs.field(factory=Counter)
    steps: int = 0
    rules: int = 0
    examples: int = 0
    first_divergence: Divergence | None = None
    #: examples dropped at a known finding (``explore --known-finding``), by the finding's name
    known: Counter[str] = attrs.field(factory=Counter)

    def record(self, op: Op, cell: Cell | None, expected: Result | None,
               profile: Profile | None) -> bool:
        """Count one step; returns whether it covered ``cell`` honestly."""
        self.steps += 1
        self.ops[op.kind] += 1
        if cell is None or expected is None or profile is None:
            return False
        self.reached.setdefault(cell, Counter())[_outcome_label(expected)] += 1
        if cell_verdict_met(profile, cell, expected):
            self.cells.add(cell)
            return True
        return False

    def merge(self, other: Coverage) -> None:
        """Add another run's counts (a worker's) to these."""
        self.cells |= other.cells
        for cell, outcomes in other.reached.items():
            self.reached.setdefault(cell, Counter()).update(outcomes)
        self.ops.update(other.ops)
        self.steps += other.steps
        self.rules += other.rules
        self.examples += other.examples
        self.known.update(other.known)

    def cells_json(self) -> list[dict[str, Any]]:
        """Per cell: how many creates reached it, with which outcome, and whether it counts."""
        out = []
        for cell in ALL_CELLS:
            outcomes = self.reached.get(cell, Counter())
            out.append({
                **cell.as_json(),
                "reached": sum(outcomes.values()),
                "covered": cell in self.cells,
                "outcomes": dict(sorted(outcomes.items())),
            })
        return out


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


@attrs.define
class Session:
    """The state a bound machine class shares across its examples: adapter, model, counts."""

    adapter: Adapter
    profile: Profile
    lockstep: Lockstep
    draws: Draws
    coverage: Coverage
    reporter: Reporter
    owns_adapter: bool
    known: dict[tuple[str, str], str] = attrs.field(factory=dict)
    started: float = attrs.field(factory=time.perf_counter)
    first_detection: float | None = None
    examples_at_first_detection: int | None = None

    def close(self) -> None:
        """Close the adapter when the session made it."""
        if self.owns_adapter:
            self.adapter.close()


@attrs.frozen
class Binding:
    """What :meth:`SnapshotMachine.bind` fixed: the adapter factory, profile and options."""

    adapter_factory: Callable[[], Adapter]
    profile: Profile | str | None = None
    reporter: Reporter | None = None
    allow_failures: bool = False
    exclude: frozenset[Cell] = frozenset()
    owns_adapter: bool = True
    #: divergence signatures of known findings (:mod:`snaporacle.known`) -> the finding's name
    known: tuple[tuple[tuple[str, str], str], ...] = ()


def _class_name(adapter_factory: Callable[[], Adapter], profile: Profile | str | None) -> str:
    # the name keys Hypothesis' example database, so two bindings do not share examples
    label = getattr(adapter_factory, "__name__", type(adapter_factory).__name__)
    profile_name = profile.name if isinstance(profile, Profile) else (profile or "own")
    return "SnapshotMachine_" + re.sub(r"\W", "_", f"{label}_{profile_name}")


class SnapshotMachine(RuleBasedStateMachine):
    """Random operations on one to three domains, compared with the model after every step.

    Unbound it has no adapter: use :meth:`bind`. Rules of a subclass call :meth:`do` with an
    operation; :attr:`domains` lists the domains defined by the example.
    """

    _binding: ClassVar[Binding | None] = None

    @classmethod
    def bind(
        cls,
        adapter_factory: Callable[[], Adapter],
        profile: Profile | str | None = None,
        *,
        reporter: Reporter | None = None,
        allow_failures: bool = False,
        exclude: frozenset[Cell] = frozenset(),
        owns_adapter: bool = True,
        known: Sequence[KnownFinding] = (),
    ) -> type[SnapshotMachine]:
        """A subclass bound to an adapter made by ``adapter_factory`` (once, on first use) and a
        profile (a :class:`Profile`, a name or path, or ``None`` for the adapter's own).

        ``exclude`` names cells not to draw; ``allow_failures`` is for fault-injecting adapters;
        ``owns_adapter=False`` leaves closing the adapter to the caller; an example that diverges
        as one of the ``known`` findings does is dropped (and counted) instead of failing.
        """
        signatures = tuple((k.signature, k.name) for k in known if k.signature is not None)
        binding = Binding(adapter_factory, profile, reporter, allow_failures, exclude, owns_adapter,
                          signatures)
        name = _class_name(adapter_factory, profile)
        return type(name, (cls,), {"_binding": binding, "_session": None, "__module__": __name__})

    @classmethod
    def session(cls) -> Session:
        """The bound class's session, made on first use (the adapter is made then)."""
        existing: Session | None = cls.__dict__.get("_session")
        if existing is not None:
            return existing
        binding = cls._binding
        if binding is None:
            raise TypeError(
                f"{cls.__name__} is not bound to an adapter; use "
                f"{cls.__name__}.bind(adapter_factory, profile)"
            )
        adapter = binding.adapter_factory()
        profile = binding.profile or adapter.capabilities.profile
        if isinstance(profile, str):
            profile = load_profile(profile)
        made = Session(
            adapter=adapter,
            profile=profile,
            lockstep=Lockstep(adapter, profile, allow_failures=binding.allow_failures),
            draws=Draws.for_adapter(adapter.capabilities, profile, binding.exclude),
            coverage=Coverage(),
            reporter=binding.reporter or NullReporter(),
            owns_adapter=binding.owns_adapter,
            known=dict(binding.known),
        )
        cls._session = made
        return made

    @classmethod
    def close(cls) -> None:
        """Close the session's adapter (when the session made it) and forget the session."""
        existing: Session | None = cls.__dict__.get("_session")
        if existing is not None:
            existing.close()
            cls._session = None

    def __init__(self) -> None:
        super().__init__()
        s = self.s = self.session()
        try:
            s.lockstep.reset()
        except EnvironmentFailure as failure:
            raise _EnvironmentBroke(EnvironmentReport("reset", str(failure))) from failure
        s.coverage.examples += 1
        s.reporter.example_started(s.coverage.examples)
        self.domains: list[DomainSpec] = []
        self.rotation = 0
        self.rule_calls = 0

    # --- helpers for rules ----------------------------------------------------------------------

    def do(self, op: Op, scene: bool = False) -> Result:
        """Apply ``op`` to the adapter and the model and compare; a rule's own step unless
        ``scene`` (a step that sets the scene for it, such as starting the domain first)."""
        s = self.s
        if not scene:
            s.coverage.rules += 1
        try:
            actual, cell = s.lockstep.step(op)
        except Divergence as divergence:
            s.coverage.record(op, None, None, None)
            known = s.known.get(divergence_signature(divergence)) if s.known else None
            if known is not None:  # a known finding: drop the example, go on exploring
                s.coverage.known[known] += 1
                s.reporter.step(op, divergence.trace[-1].actual, None)
                hypothesis.reject()
            s.coverage.first_divergence = s.coverage.first_divergence or divergence
            s.reporter.step(op, divergence.trace[-1].actual, None)
            if s.first_detection is None:
                s.first_detection = time.perf_counter() - s.started
                s.examples_at_first_detection = s.coverage.examples
            raise
        except EnvironmentFailure as failure:
            raise _EnvironmentBroke(EnvironmentReport(op.kind, str(failure))) from failure
        honest = s.coverage.record(op, cell, s.lockstep.trace[-1].expected, s.profile)
        s.reporter.step(op, actual, cell if honest else None)
        return actual

    def model_domain(self, spec: DomainSpec) -> Domain | None:
        """The model's view of a domain, or ``None`` before it is defined."""
        return self.s.lockstep.world.domains.get(spec.name)

    def state(self, spec: DomainSpec) -> DomainState:
        """The model's state of a domain."""
        domain = self.model_domain(spec)
        return domain.state if domain else DomainState.SHUTOFF

    def pick(self, picks: Picks, with_snapshots: bool = False) -> DomainSpec:
        """One of the example's domains (the first when there is one); ``with_snapshots``
        picks among those that have snapshots, when some have."""
        domains = self.domains
        if with_snapshots:
            domains = [d for d in self.domains if self.snapshot_count(d)] or domains
        return domains[0] if len(domains) == 1 else picks.of(domains)

    def active_domains(self) -> list[DomainSpec]:
        """The example's domains that run or are paused, in the model."""
        return [spec for spec in self.domains if self.state(spec).active]

    def snapshot_count(self, spec: DomainSpec) -> int:
        """How many snapshots the model has for a domain."""
        domain = self.model_domain(spec)
        return len(domain.snapshots) if domain else 0

    def has_snapshots(self) -> bool:
        """Whether any domain has a snapshot (reverts and deletes wait for one)."""
        return any(d.snapshots for d in self.s.lockstep.world.domains.values())

    def picks(self, values: bytes) -> Picks:
        """A rule's choices, with the example's rotation (see :func:`draws.filler`)."""
        self.rule_calls += 1
        if not any(values):
            return Picks(filler(self.rotation, self.rule_calls), self.rotation, filled=True)
        return Picks(values, self.rotation)

    def snapshot_name(self, picks: Picks, spec: DomainSpec, interior: bool) -> str:
        """A snapshot name: mostly an existing one (``interior`` favours snapshots with both a
        parent and children), sometimes any name."""
        domain = self.model_domain(spec)
        name: str = picks.of(Draws.target_names(domain.snapshots if domain else {}, interior))
        return name

    # --- rules ----------------------------------------------------------------------------------
    #
    # Each rule is written once: ``may_<rule>`` says when it can run (its precondition) and
    # ``do_<rule>`` what it does with its choices. The Hypothesis rules only call :meth:`run`.

    def run(self, kind: str, c: bytes) -> None:
        """Carry out the rule ``kind`` with its choices ``c``. A filler draw (all zeros, see
        :func:`~snaporacle.draws.filler`) first chooses, from the step's place, which of the rules
        that can run now it carries out: Hypothesis fills a whole tail of an example with its first
        rule, which would otherwise make such tails nothing but creates."""
        picks = self.picks(c)
        if picks.filled:
            kind = picks.of([k for k in FILLER_KINDS if getattr(self, f"may_{k}")()])
        getattr(self, f"do_{kind}")(picks)

    @initialize(c=CHOICES, more=CHOICES)
    def define(self, c: bytes, more: bytes) -> None:
        """Define the example's domains."""
        self.rotation = c[0]
        for index, disks in enumerate(self.s.draws.shapes(Picks(c[1:] + more))):
            spec = domain_spec(self.s.adapter.root, index, disks=disks)
            self.domains.append(spec)
            self.do(DefineDomain(spec), scene=index > 0)

    @precondition(lambda machine: machine.may_lifecycle())
    @rule(c=CHOICES)
    def lifecycle(self, c: bytes) -> None:
        """Start (running or paused), pause, resume or destroy a domain."""
        self.run("lifecycle", c)

    @precondition(lambda machine: machine.may_write())
    @rule(c=CHOICES)
    def write(self, c: bytes) -> None:
        """Write one block (of the first four) of one disk with a pattern 1..255."""
        self.run("write", c)

    @precondition(lambda machine: machine.may_write_memory())
    @rule(c=CHOICES)
    def write_memory(self, c: bytes) -> None:
        """Write one block of a running or paused domain's guest RAM."""
        self.run("write_memory", c)

    @precondition(lambda machine: machine.may_create())
    @rule(c=CHOICES)
    def create(self, c: bytes) -> None:
        """Create a snapshot in a drawn cell, the domain brought to the cell's state first."""
        self.run("create", c)

    @precondition(lambda machine: machine.may_revert())
    @rule(c=CHOICES)
    def revert(self, c: bytes) -> None:
        """Revert to a snapshot (mostly one in the middle of the tree) with any flags."""
        self.run("revert", c)

    @precondition(lambda machine: machine.may_delete())
    @rule(c=CHOICES)
    def delete(self, c: bytes) -> None:
        """Delete a snapshot (mostly one with a parent and children) with any flags."""
        self.run("delete", c)

    @precondition(lambda machine: machine.may_query())
    @rule(c=CHOICES)
    def query(self, c: bytes) -> None:
        """List, current, or the XML of any snapshot name."""
        self.run("query", c)

    @precondition(lambda machine: machine.may_dumpxml())
    @rule(c=CHOICES)
    def dumpxml(self, c: bytes) -> None:
        """The XML of an existing snapshot."""
        self.run("dumpxml", c)

    # --- what the rules do, and when they can --------------------------------------------------

    def may_lifecycle(self) -> bool:
        """Whether the lifecycle rule can run now."""
        return bool(self.s.draws.lifecycle)

    def may_write(self) -> bool:
        """Whether the write rule can run now."""
        return "write" in self.s.draws.ops

    def may_write_memory(self) -> bool:
        """Whether the write memory rule can run now."""
        return "write_memory" in self.s.draws.ops and bool(self.active_domains())

    def may_create(self) -> bool:
        """Whether the create rule can run now."""
        return "create" in self.s.draws.ops

    def may_revert(self) -> bool:
        """Whether the revert rule can run now."""
        return "revert" in self.s.draws.ops and self.has_snapshots()

    def may_delete(self) -> bool:
        """Whether the delete rule can run now."""
        return "delete" in self.s.draws.ops and self.has_snapshots()

    def may_query(self) -> bool:
        """Whether the query rule can run now."""
        return bool(self.s.draws.queries)

    def may_dumpxml(self) -> bool:
        """Whether the dumpxml rule can run now."""
        return "dumpxml" in self.s.draws.queries and self.has_snapshots()

    def do_lifecycle(self, picks: Picks) -> None:
        """Start (running or paused), pause, resume or destroy a domain."""
        spec = self.pick(picks)
        kind = picks.turned(self.s.draws.lifecycle)
        ops: dict[str, Op] = {
            "start": StartDomain(spec.name),
            "start-paused": StartDomain(spec.name, paused=True),
            "pause": PauseDomain(spec.name),
            "resume": ResumeDomain(spec.name),
            "destroy": DestroyDomain(spec.name),
        }
        self.do(ops[kind])

    def do_write(self, picks: Picks) -> None:
        """Write one block (of the first four) of one disk with a pattern 1..255."""
        spec = self.pick(picks)
        disk = picks.of(spec.disks)
        self.do(WriteData(spec.name, disk.target, picks.next() % 4, 1 + picks.next() % 255))

    def do_write_memory(self, picks: Picks) -> None:
        """Write one block (of the first four) of a running or paused domain's guest RAM (drawn
        only while one runs, so that it does not crowd out the snapshot rules)."""
        domains = self.active_domains()
        spec = domains[0] if len(domains) == 1 else picks.of(domains)
        self.do(WriteMemory(spec.name, picks.next() % 4, 1 + picks.next() % 255))

    def do_create(self, picks: Picks) -> None:
        """Create a snapshot in a drawn cell, the domain brought to the cell's state first."""
        s = self.s
        draws = s.draws
        spec = self.pick(picks)
        cell: Cell = picks.turned(draws.cells)
        online = cell.domain is DomainColumn.ONLINE
        paused = picks.of(_BOOLS)
        if online and not self.state(spec).active and draws.can_start:
            self.do(StartDomain(spec.name, paused=paused), scene=True)
        elif not online and self.state(spec).active and draws.can_destroy:
            self.do(DestroyDomain(spec.name), scene=True)
        domain = self.model_domain(spec)
        name = picks.of(Draws.create_names(domain.snapshots if domain else {}))
        targets = tuple(d.target for d in spec.disks)
        modes = dict.fromkeys(targets, cell.disk)
        vary, varied, column = picks.of(_BOOLS), picks.of(targets), picks.of(_COLUMNS)
        if len(targets) > 1 and vary:
            modes[varied] = column
        explicit = picks.of(_BOOLS)
        xml = snapshot_xml(s.adapter.root, name, cell.memory, modes,
                           explicit_sources=explicit, stem=f"{spec.name}-{name}")
        flags = CreateFlag.DISK_ONLY if cell.disk_only else CreateFlag(0)
        flags |= picks.turned(draws.create_flags[cell])
        if draws.excluded and self._reaches_excluded(spec, xml, flags):
            # the variation, or a disk's own default, would reach an excluded cell
            xml = snapshot_xml(s.adapter.root, name, cell.memory,
                               dict.fromkeys(targets, cell.disk),
                               explicit_sources=explicit, stem=f"{spec.name}-{name}")
            if self._reaches_excluded(spec, xml, flags):
                return
        self.do(CreateSnapshot(spec.name, xml, flags))

    def _reaches_excluded(self, spec: DomainSpec, xml: str, flags: CreateFlag) -> bool:
        """Whether a create would take the verdict of a cell the run excludes."""
        request = parse_snapshot(xml)
        reached = cell_of(self.s.profile, self.state(spec), request, flags, spec.disks)
        if not isinstance(reached, Cell):
            return False
        touched = [reached]
        verdict = self.s.profile.verdict(reached)
        if isinstance(verdict, Accepted):
            touched += own_default_cells(reached, verdict, request, spec.disks)
        return any(cell in self.s.draws.excluded for cell in touched)

    def do_revert(self, picks: Picks) -> None:
        """Revert to a snapshot (mostly one in the middle of the tree) with any flags."""
        spec = self.pick(picks, with_snapshots=True)
        name = self.snapshot_name(picks, spec, interior=True)
        self.do(RevertSnapshot(spec.name, name, picks.turned(self.s.draws.revert_flags)))

    def do_delete(self, picks: Picks) -> None:
        """Delete a snapshot (mostly one with a parent and children) with any flags."""
        spec = self.pick(picks, with_snapshots=True)
        name = self.snapshot_name(picks, spec, interior=True)
        self.do(DeleteSnapshot(spec.name, name, picks.turned(self.s.draws.delete_flags)))

    def do_query(self, picks: Picks) -> None:
        """List, current, or the XML of any snapshot name."""
        spec = self.pick(picks)
        kind = picks.turned(self.s.draws.queries)
        if kind == "list":
            self.do(ListSnapshots(spec.name))
        elif kind == "current":
            self.do(CurrentSnapshot(spec.name))
        else:
            self.do(DumpSnapshotXML(spec.name, self.snapshot_name(picks, spec, interior=False)))

    def do_dumpxml(self, picks: Picks) -> None:
        """The XML of an existing snapshot (a rule of its own: every element of it is compared,
        so it deserves the draws of a rule, not a third of one)."""
        spec = self.pick(picks, with_snapshots=True)
        domain = self.model_domain(spec)
        names = sorted(domain.snapshots) if domain else []
        if names:
            self.do(DumpSnapshotXML(spec.name, picks.of(names)))



@attrs.frozen
class ExploreResult:
    """The outcome of a run: coverage, seconds, the divergences found, the seed and timings.

    ``first_detection`` is the seconds from the start to the first divergence seen (before any
    shrinking); ``minimal_at`` the seconds until the minimal trace was ready.
    """

    coverage: Coverage
    seconds: float
    divergences: tuple[Divergence, ...]
    swept: tuple[Cell, ...]
    seed: int | None = None
    first_detection: float | None = None
    minimal_at: float | None = None
    examples_at_first_detection: int | None = None
    workers: int = 1
    interrupted: str | None = None
    environment_failures: tuple[EnvironmentReport, ...] = ()

    def as_json(self, examples: int, steps: int) -> dict[str, Any]:
        """The report JSON of ``snaporacle explore --report-json``."""
        return {
            "examples": examples,
            "steps": steps,
            "seed": self.seed,
            "workers": self.workers,
            "examples_run": self.coverage.examples,
            "steps_run": self.coverage.steps,
            "rules_run": self.coverage.rules,
            "seconds": round(self.seconds, 3),
            "time_to_first_detection": _round(self.first_detection),
            "time_to_minimal_trace": _round(self.minimal_at),
            "examples_to_first_detection": self.examples_at_first_detection,
            "cells_covered": [c.as_json() for c in ALL_CELLS if c in self.coverage.cells],
            "cells_swept": [c.as_json() for c in self.swept],
            "cells": self.coverage.cells_json(),
            "operations": dict(sorted(self.coverage.ops.items())),
            "divergences": [d.as_json() for d in self.divergences],
            "known_findings": dict(sorted(self.coverage.known.items())),
            "interrupted": self.interrupted,
            "environment_failures": [f.as_json() for f in self.environment_failures],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _state_ops(lockstep: Lockstep, spec: DomainSpec, cell: Cell) -> list[Op]:
    domain = lockstep.world.domains.get(spec.name)
    active = bool(domain and domain.state.active)
    if cell.domain is DomainColumn.ONLINE and not active:
        return [StartDomain(spec.name)]
    if cell.domain is DomainColumn.OFFLINE and active:
        return [DestroyDomain(spec.name)]
    return []


#: How many cells the sweep runs on one domain before it starts again from an empty world.
SWEEP_REUSE = 16


def sweep_cells(
    adapter: Adapter,
    profile: Profile,
    cells: list[Cell],
    coverage: Coverage,
    reporter: Reporter,
    allow_failures: bool = False,
) -> Divergence | None:
    """Run each cell's request on one reused domain (set to the cell's state, then create);
    a cell whose create did not get the cell's verdict there is run again on a fresh domain."""
    lockstep = Lockstep(adapter, profile, allow_failures=allow_failures)
    spec = domain_spec(adapter.root)

    def run(ops: list[Op]) -> bool:
        for op in ops:
            _, hit = lockstep.step(op)
            expected = lockstep.trace[-1].expected
            honest = coverage.record(op, hit, expected, profile)
            reporter.step(op, lockstep.trace[-1].actual, hit if honest else None)
        return honest

    def fresh() -> None:
        lockstep.reset()
        run([DefineDomain(spec)])

    retry: list[Cell] = []
    try:
        for number, cell in enumerate(cells):
            if number % SWEEP_REUSE == 0:
                fresh()
            xml, flags = cell_request(cell, adapter.root, f"cell{number}")
            create = CreateSnapshot(spec.name, xml, flags)
            if not run([*_state_ops(lockstep, spec, cell), create]):
                retry.append(cell)
        for cell in retry:
            fresh()
            xml, flags = cell_request(cell, adapter.root, "cell")
            run([*_state_ops(lockstep, spec, cell), CreateSnapshot(spec.name, xml, flags)])
    except Divergence as divergence:
        return divergence
    lockstep.reset()
    return None


def new_seed() -> int:
    """A fresh random seed for a run that was given none."""
    return random.SystemRandom().randrange(2**32)


def run_settings(examples: int, steps: int, database: ExampleDatabase | None) -> hypothesis.settings:
    """The Hypothesis settings of an exploration."""
    return hypothesis.settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=database,
        derandomize=False,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def explore(
    adapter: Adapter,
    profile: Profile,
    examples: int = 40,
    steps: int = 30,
    seed: int | None = None,
    reporter: Reporter | None = None,
    sweep: bool = True,
    allow_failures: bool = False,
    shrink_seconds: float = 3,
    exclude: frozenset[Cell] = frozenset(),
    database: ExampleDatabase | None = None,
    max_time: float | None = None,
    known: Sequence[KnownFinding] = (),
) -> ExploreResult:
    """Explore ``adapter`` against ``profile``; see the module docstring.

    Without ``seed`` a fresh one is drawn (and kept in the result). ``database`` is a Hypothesis
    example database: failures found before are tried first. ``max_time`` bounds the seconds
    spent drawing new examples; ``shrink_seconds`` the time Hypothesis spends shrinking a
    divergence. ``exclude`` names cells not to draw nor sweep, for instance a known bug already
    kept as a trace, so that the exploration can look past it.
    """
    reporter = reporter or NullReporter()
    seed = new_seed() if seed is None else seed
    machine = SnapshotMachine.bind(
        lambda: adapter, profile, reporter=reporter, allow_failures=allow_failures,
        exclude=exclude, owns_adapter=False, known=known,
    )
    machine = type(_class_name(type(adapter), profile), (machine,), {"__module__": __name__})
    session = machine.session()
    coverage = session.coverage
    reporter.run_started(examples, steps)
    start = session.started = time.perf_counter()
    divergences: list[Divergence] = []
    failures: list[EnvironmentReport] = []
    stopped: Interrupted | None = None
    swept: list[Cell] = []
    minimal_at = None
    saved_limit = conjecture_engine.MAX_SHRINKING_SECONDS
    conjecture_engine.MAX_SHRINKING_SECONDS = shrink_seconds  # type: ignore[assignment]
    try:
        with interrupts.interruptible():
            try:
                with hypothesis.reporting.with_reporter(lambda _message: None):
                    for chunk_seed, chunk in _chunks(seed, examples, max_time):
                        if max_time is not None and time.perf_counter() - start > max_time:
                            break
                        run_state_machine_as_test(
                            hypothesis.seed(chunk_seed)(machine),
                            settings=run_settings(chunk, steps, database),
                        )
            except Divergence as divergence:
                if session.first_detection is None:  # raised outside a step (a subclass's own invariant)
                    session.first_detection = time.perf_counter() - start
                    session.examples_at_first_detection = coverage.examples
                try:
                    shortest = minimize(adapter, profile, divergence, allow_failures)
                except Interrupted as stop:
                    stopped, shortest = stop, divergence
                except EnvironmentFailure as failure:
                    failures.append(EnvironmentReport("minimize", str(failure)))
                    shortest = divergence
                minimal_at = time.perf_counter() - start
                divergences.append(shortest)
                reporter.divergence(shortest)
            except Interrupted as stop:
                stopped = stop
                if coverage.first_divergence is not None:  # found, not shrunk yet: keep it
                    divergences.append(coverage.first_divergence)
                    reporter.divergence(coverage.first_divergence)
            except _EnvironmentBroke as broke:
                failures.append(broke.report)
            except hypothesis.errors.Unsatisfiable:
                if not coverage.known:
                    raise
                # every example stopped at a known finding: the run has nothing else to reach
            except hypothesis.errors.Flaky:
                if coverage.first_divergence is None:
                    raise
                first = coverage.first_divergence
                signum = interrupts.received()
                if signum is not None:
                    # the stop cut Hypothesis' replay of the divergence short (under pytest it
                    # calls that flaky): the run was stopped, the divergence stands as found
                    stopped = Interrupted(signum)
                    divergences.append(first)
                else:  # it did not happen again: report it as found
                    note = "this divergence did not happen again when Hypothesis replayed it"
                    divergences.append(
                        Divergence(first.trace, [*first.differences, note], first.cell, first.root)
                    )
                reporter.divergence(divergences[-1])
            if sweep and not (divergences or failures or stopped):
                swept = missing_cells(adapter, coverage, exclude)
                try:
                    found = sweep_cells(adapter, profile, swept, coverage, reporter, allow_failures)
                    finding = session.known.get(divergence_signature(found)) if found else None
                    if finding is not None:  # the sweep stopped at a known finding
                        coverage.known[finding] += 1
                        found = None
                    if found is not None:
                        if session.first_detection is None:
                            session.first_detection = time.perf_counter() - start
                        found = minimize(adapter, profile, found, allow_failures)
                        minimal_at = time.perf_counter() - start
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
        coverage, time.perf_counter() - start, tuple(divergences), tuple(swept), seed,
        session.first_detection, minimal_at, session.examples_at_first_detection,
        interrupted=stopped.name if stopped else None, environment_failures=tuple(failures),
    )
    reporter.run_finished(result)
    return result


#: With ``max_time``, examples run in chunks of this many, the clock checked between chunks.
TIMED_CHUNK = 20


def _chunks(seed: int, examples: int, max_time: float | None) -> list[tuple[int, int]]:
    """(seed, examples) per Hypothesis run: one run, or chunks when a time budget is set."""
    if max_time is None:
        return [(seed, examples)]
    sizes = [TIMED_CHUNK] * (examples // TIMED_CHUNK) + [examples % TIMED_CHUNK]
    return [(seed + n, size) for n, size in enumerate(s for s in sizes if s)]


def missing_cells(adapter: Adapter, coverage: Coverage, exclude: frozenset[Cell]) -> list[Cell]:
    """The cells a run has not covered honestly that the adapter can reach."""
    return [
        cell
        for cell in ALL_CELLS
        if cell not in coverage.cells
        and cell not in exclude
        and (adapter.capabilities.online or cell.domain is DomainColumn.OFFLINE)
    ]

