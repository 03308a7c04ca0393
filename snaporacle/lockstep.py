"""Running an adapter and the model side by side, one operation at a time.

:class:`Lockstep` applies each operation to the model (``apply``) and to the adapter, compares the
outcomes, then the observations (only the aspects the adapter declares), and raises
:class:`Divergence` with the whole trace so far at the first difference. The explorer, the cell
sweep and replay all run through it.
"""

from __future__ import annotations

from typing import Any

import attrs

from . import interrupts
from .adapters.protocol import Adapter
from .errors import EnvironmentFailure, SnaporacleError, SnapshotXMLError
from .model.decide import cell_of
from .model.flags import check_create_flags
from .model.invariants import observation_problems
from .model.modes import CreateFlag, Outcome
from .model.observation import Aspect, compare
from .model.observation import view as observation_view
from .model.ops import CreateSnapshot, CurrentSnapshot, ListSnapshots, Op, Result, op_to_json
from .model.profile import Cell, Profile, Rejected
from .model.snapshot_xml import parse_snapshot
from .model.transition import apply
from .model.world import World, observe

#: The operations of the snapshot API, whose libvirt error codes are compared.
SNAPSHOT_OPS = frozenset({"create", "revert", "delete", "list", "current", "dumpxml"})


@attrs.frozen
class Step:
    """One operation with what the model expected and what the adapter did."""

    op: Op
    expected: Result
    actual: Result

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready mapping: the op, expected and actual results."""
        return {
            "op": op_to_json(self.op),
            "expected": self.expected.as_json(),
            "actual": self.actual.as_json(),
        }


class Divergence(AssertionError):
    """The adapter and the model disagree; carries the trace, the differences and the cell."""

    def __init__(self, trace: list[Step], differences: list[str], cell: Cell | None) -> None:
        self.trace = list(trace)
        self.differences = differences
        self.cell = cell
        step = trace[-1]
        super().__init__(
            f"divergence at step {len(trace)} ({step.op.kind}): " + "; ".join(differences[:5])
        )

    def as_json(self) -> dict[str, Any]:
        """The report entry: minimal trace, expected and actual, and the cell."""
        last = self.trace[-1]
        return {
            "trace": [step.as_json() for step in self.trace],
            "expected": last.expected.as_json(),
            "actual": last.actual.as_json(),
            "differences": self.differences,
            "cell": self.cell.as_json() if self.cell else None,
        }


def compare_results(op: Op, expected: Result, actual: Result, check_codes: bool) -> list[str]:
    """The differences between two results of the same operation.

    For the snapshot API the outcome class counts (and the error code with ``check_codes``); for
    the life-cycle operations that set the scene (define, start, write...) only whether they were
    accepted: drivers refuse those with codes of their own.
    """
    out = []
    if op.kind not in SNAPSHOT_OPS:
        accepted = (expected.outcome is Outcome.ACCEPTED, actual.outcome is Outcome.ACCEPTED)
        if accepted[0] != accepted[1]:
            out.append(
                f"outcome: expected {expected.outcome.value} ({expected.message}),"
                f" actual {actual.outcome.value} ({actual.error}: {actual.message})"
            )
        return out
    if expected.outcome is not actual.outcome:
        out.append(
            f"outcome: expected {expected.outcome.value} ({expected.error}: {expected.message}),"
            f" actual {actual.outcome.value} ({actual.error}: {actual.message})"
        )
    elif check_codes and expected.error != actual.error:
        out.append(f"error: expected {expected.error}, actual {actual.error}")
    if isinstance(op, (ListSnapshots, CurrentSnapshot, CreateSnapshot)):
        if expected.value != actual.value:
            out.append(f"value: expected {expected.value!r}, actual {actual.value!r}")
    return out


def request_cell(world: World, op: CreateSnapshot, profile: Profile) -> Cell | None:
    """The table cell a create request falls in, when it gets as far as the table."""
    domain = world.domains.get(op.domain)
    if domain is None or check_create_flags(op.flags) is not None:
        return None
    if op.flags & (CreateFlag.REDEFINE | CreateFlag.LIVE):
        return None
    try:
        definition = parse_snapshot(op.xml)
    except SnapshotXMLError:
        return None
    cell = cell_of(profile, domain.state, definition, op.flags, domain.spec.disks)
    return None if isinstance(cell, Rejected) else cell


class Lockstep:
    """An adapter and the model, kept in step.

    ``check_codes`` compares libvirt error codes too, not only outcome classes.
    ``allow_failures`` is for adapters with injected faults: a ``failed`` result is then allowed
    for any operation, and the driver's promise is checked instead: the world as before the step.
    """

    def __init__(
        self,
        adapter: Adapter,
        profile: Profile,
        check_codes: bool = True,
        allow_failures: bool = False,
    ) -> None:
        self.adapter = adapter
        self.allow_failures = allow_failures
        self.profile = profile
        self.check_codes = check_codes
        self.aspects = frozenset(adapter.capabilities.aspects)
        self.world = World(root=adapter.root)
        self.trace: list[Step] = []

    def reset(self) -> None:
        """Both sides back to an empty world."""
        self.adapter.reset()
        self.world = World(root=self.adapter.root)
        self.trace = []

    def step(self, op: Op) -> tuple[Result, Cell | None]:
        """Apply ``op`` to both sides and compare; returns the result and the cell it hit.

        Before the step, a pending SIGINT/SIGTERM stops the run (:func:`interrupts.check`).
        """
        interrupts.check()
        cell = request_cell(self.world, op, self.profile) if isinstance(op, CreateSnapshot) else None
        world, expected = apply(self.world, op, self.profile)
        actual = self.adapter.apply(op)
        self.trace.append(Step(op, expected, actual))
        check_codes = self.check_codes and Aspect.OUTCOME in self.aspects
        if self.allow_failures and actual.outcome is Outcome.FAILED:
            # a backend failed: the driver's promise is that nothing changed
            differences = []
        else:
            differences = compare_results(op, expected, actual, check_codes)
            self.world = world
        if not differences:
            try:
                seen = self.adapter.observe()
            except EnvironmentFailure:
                raise
            except SnaporacleError as err:
                differences = [f"observe failed after {op.kind}: {err}"]
            else:
                differences = compare(observe(self.world), seen, self.aspects)
                differences += [f"invariant: {p}" for p in observation_problems(seen)]
        if differences:
            raise Divergence(self.trace, differences, cell)
        return actual, cell

    def expected_view(self) -> dict[str, Any]:
        """The model's observation, restricted to the adapter's aspects."""
        return observation_view(observe(self.world), self.aspects)
