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

from . import interrupts
from .adapters.protocol import Adapter
from .errors import EnvironmentFailure, SnaporacleError, SnapshotXMLError
from .model.invariants import observation_problems, world_problems
from .model.modes import Outcome
from .model.observation import Aspect, Observation, canonical_image_path, compare
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
from .model.plan import cell_reached
from .model.profile import Accepted, Cell, Profile
from .model.snapshot_xml import parse_snapshot
from .model.transition import step as model_step
from .model.world import World, observe
from .promise import broken_promises
from .steps_text import trace_text

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


class Divergence(SnaporacleError, AssertionError):
    """The adapter and the model disagree; carries the trace, the differences and the cell.

    Its message is the differences, then the whole trace, one step a line with the expected and
    the actual result, so that a failed test shows what happened without a report.
    """

    def __init__(
        self, trace: list[Step], differences: list[str], cell: Cell | None, root: str = "/"
    ) -> None:
        self.trace = list(trace)
        self.differences = differences
        self.cell = cell
        self.root = root  # the adapter's work directory, which the trace's paths lie under
        step = trace[-1]
        lines = [f"divergence at step {len(trace)} ({step.op.kind}): " + "; ".join(differences[:5])]
        if cell is not None:
            lines.append(f"table cell: {cell.key()}")
        lines.append(trace_text([taken.as_json() for taken in self.trace]))
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[Any, ...]:
        # an exception pickles through its constructor's arguments (for --workers)
        return (Divergence, (self.trace, self.differences, self.cell, self.root))

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
            # a by-second revert overlay's second is the driver's clock (canonical_image_path)
            (disk.name, disk.snapshot.value if disk.snapshot else None,
             canonical_image_path(disk.source_file)
             if disk.source_file and disk.snapshot and disk.snapshot.value == "external" else None)
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
        self._observed: tuple[World, Observation] | None = None

    def reset(self) -> None:
        """Both sides back to an empty world."""
        self.adapter.reset()
        self.world = World(root=self.adapter.root)
        self.trace = []

    def model_observation(self) -> Observation:
        """What the model says a user sees now. A world is a frozen value, and a step that
        changes nothing (a refusal, a query) keeps the same one: its observation is kept too."""
        if self._observed is None or self._observed[0] is not self.world:
            self._observed = (self.world, observe(self.world))
        return self._observed[1]

    def step(self, op: Op) -> tuple[Result, Cell | None]:
        """Apply ``op`` to both sides and compare; returns the result and the cell it hit.

        Before the step, a pending SIGINT/SIGTERM stops the run (:func:`interrupts.check`).
        """
        interrupts.check()
        transition = model_step(self.world, op, self.profile)
        world, expected = transition.world, transition.result
        cell = cell_reached(transition.plan)
        actual = self.adapter.apply(op)
        self.trace.append(Step(op, expected, actual))
        check_codes = self.check_codes and Aspect.OUTCOME in self.aspects
        if self.allow_failures and actual.outcome is Outcome.FAILED:
            # a backend failed: the driver's promise is checked instead of the model's result
            differences = self._check_promise(actual)
        elif self.allow_failures and "leftovers:" in actual.message:
            # done, but a clean-up step failed: done as the model says, leftovers named
            differences = compare_results(op, expected, actual, check_codes)
            self.world = world
            if not differences:
                differences = self._check_promise(actual)
        else:
            differences = compare_results(
                op, expected, actual, check_codes, Aspect.SNAPSHOT_XML in self.aspects
            )
            changed = world is not self.world
            self.world = world
            if not differences:
                differences = self._compare_observations()
            if not differences and changed:
                # the model itself must keep every snapshot's data and a sound tree: where it
                # does not, libvirt's rule it follows loses data (or the model is wrong)
                differences = [f"invariant: {p}" for p in world_problems(world)]
        if differences:
            raise Divergence(self.trace, differences, cell, self.adapter.root)
        return actual, cell

    def _compare_observations(self) -> list[str]:
        try:
            seen = self.adapter.observe()
        except EnvironmentFailure:
            raise
        except SnaporacleError as err:
            return [f"observe failed after {self.trace[-1].op.kind}: {err}"]
        differences = compare(self.model_observation(), seen, self.aspects)
        return differences + [f"invariant: {p}" for p in observation_problems(seen)]

    def _check_promise(self, actual: Result) -> list[str]:
        """After an injected failure: the promise holds, or the differences. Where the step
        changed what the promise leaves open (a domain's run state, a named leftover; anything
        at all for a life-cycle step or a write, whose reply may have been lost after its
        effect), both sides start again from an empty world."""
        try:
            seen = self.adapter.observe()
        except EnvironmentFailure:
            raise
        except SnaporacleError as err:
            return [f"observe failed after a failed {self.trace[-1].op.kind}: {err}"]
        expected = self.model_observation()
        promised = self.trace[-1].op.kind in ("create", "revert", "delete")
        problems = broken_promises(expected, seen, actual.message) if promised else []
        if problems:
            return [f"promise on failure: {p}" for p in problems]
        if not promised or compare(expected, seen, self.aspects):
            self.adapter.reset()
            self.world = World(root=self.adapter.root)
        return []

    def expected_view(self) -> dict[str, Any]:
        """The model's observation, restricted to the adapter's aspects."""
        return observation_view(self.model_observation(), self.aspects)
