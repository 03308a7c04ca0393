"""Running an adapter and the model side by side, one operation at a time.

:class:`Lockstep` applies each operation to the model (``apply``) and to the adapter, compares the
outcomes (and, under the ``SNAPSHOT_XML`` aspect, a dumpxml's document against the model's, see
:func:`snapshot_xml_view`), then the observations (only the aspects the adapter declares), and
raises :class:`Divergence` with the whole trace so far at the first difference. The explorer, the
cell sweep and replay all run through it.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import attrs

from .adapters.protocol import Adapter
from .errors import SnaporacleError, SnapshotXMLError
from .model.decide import cell_of
from .model.definition import SnapshotDefinition
from .model.flags import check_create_flags
from .model.invariants import observation_problems
from .model.modes import CreateFlag, Outcome
from .model.observation import Aspect, compare
from .model.observation import view as observation_view
from .model.ops import (
    CreateSnapshot,
    CurrentSnapshot,
    DumpSnapshotXML,
    ListSnapshots,
    Op,
    Result,
    op_to_json,
)
from .model.profile import Accepted, Cell, Profile, Rejected
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

    def __reduce__(self) -> tuple[Any, ...]:
        # an exception pickles through its constructor's arguments (for --workers)
        return (Divergence, (self.trace, self.differences, self.cell))

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


_CREATION_TIME = re.compile(r"<creationTime>[^<]*</creationTime>")
_OPEN_TAG = re.compile(r"<domainsnapshot\b[^>]*>")


@functools.lru_cache(maxsize=1024)
def _parse_request(xml: str) -> SnapshotDefinition:
    # requests repeat (the explorer draws from a few names and modes); parsing is pure
    return parse_snapshot(xml)


@functools.lru_cache(maxsize=1024)
def _xml_view(xml: str) -> tuple[tuple[str, Any], ...]:
    return tuple(_snapshot_xml_view(xml).items())


def snapshot_xml_view(xml: str) -> dict[str, Any]:
    """What of a dumpxml document the model can know: name, description, state, parent, memory
    mode and file, and each disk's mode (and overlay, for an external one), sorted by disk.

    Left out: ``creationTime`` (the clock), the saved ``<domain>`` definition, the ``<cookie>``
    and the ``<active>`` marker, and how a driver spells the parts it does not model. A document
    that does not parse is kept whole, so that it differs. Answers are kept per document.
    """
    return dict(_xml_view(xml))


def _snapshot_xml_view(xml: str) -> dict[str, Any]:
    # the clock is the driver's: any creationTime (or none) reads as the same one
    xml = _OPEN_TAG.sub(r"\g<0><creationTime>1</creationTime>", _CREATION_TIME.sub("", xml), 1)
    try:
        definition = parse_snapshot(xml, redefine=True)
    except SnapshotXMLError as err:
        return {"unreadable": str(err)}
    memory = definition.memory
    return {
        "name": definition.name,
        "description": definition.description,
        "state": definition.state.value if definition.state else None,
        "parent": definition.parent,
        "memory": (memory.snapshot.value if memory and memory.snapshot else None,
                   memory.file if memory else None),
        "disks": tuple(sorted(
            (disk.name, disk.snapshot.value if disk.snapshot else None,
             disk.source_file if disk.snapshot and disk.snapshot.value == "external" else None)
            for disk in definition.disks or ()
        )),
    }


def compare_snapshot_xml(expected: str, actual: str) -> list[str]:
    """The differences between the model's dumpxml document and the adapter's."""
    want, got = snapshot_xml_view(expected), snapshot_xml_view(actual)
    return [
        f"dumpxml {key}: expected {want.get(key)!r}, actual {got.get(key)!r}"
        for key in sorted(set(want) | set(got))
        if want.get(key) != got.get(key)
    ]


def compare_results(
    op: Op, expected: Result, actual: Result, check_codes: bool, check_xml: bool = False
) -> list[str]:
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
    if (
        check_xml
        and isinstance(op, DumpSnapshotXML)
        and isinstance(expected.value, str)
        and expected.outcome is actual.outcome
    ):
        out += compare_snapshot_xml(expected.value, str(actual.value or ""))
    return out


def cell_verdict_met(profile: Profile, cell: Cell, expected: Result) -> bool:
    """Whether a create in ``cell`` got the verdict the cell decides: accepted, or refused by the
    cell's own rule (same outcome, error code and reason), not by another check."""
    verdict = profile.verdict(cell)
    if isinstance(verdict, Accepted):
        return expected.outcome is Outcome.ACCEPTED
    return (expected.outcome, expected.error, expected.message) == (
        verdict.outcome, verdict.error, verdict.reason
    )


def request_cell(world: World, op: CreateSnapshot, profile: Profile) -> Cell | None:
    """The table cell a create request falls in, when it gets as far as the table."""
    domain = world.domains.get(op.domain)
    if domain is None or check_create_flags(op.flags) is not None:
        return None
    if op.flags & (CreateFlag.REDEFINE | CreateFlag.LIVE):
        return None
    try:
        definition = _parse_request(op.xml)
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
        """Apply ``op`` to both sides and compare; returns the result and the cell it hit."""
        cell = request_cell(self.world, op, self.profile) if isinstance(op, CreateSnapshot) else None
        world, expected = apply(self.world, op, self.profile)
        actual = self.adapter.apply(op)
        self.trace.append(Step(op, expected, actual))
        check_codes = self.check_codes and Aspect.OUTCOME in self.aspects
        if self.allow_failures and actual.outcome is Outcome.FAILED:
            # a backend failed: the driver's promise is that nothing changed
            differences = []
        else:
            differences = compare_results(
                op, expected, actual, check_codes, Aspect.SNAPSHOT_XML in self.aspects
            )
            self.world = world
        if not differences:
            try:
                seen = self.adapter.observe()
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
