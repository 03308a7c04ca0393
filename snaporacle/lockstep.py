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
from .errors import EnvironmentFailure, SnaporacleError
from .model.invariants import observation_problems
from .model.modes import Outcome
from .model.observation import Aspect, compare
from .model.observation import view as observation_view
from .model.ops import (
    CreateSnapshot,
    CurrentSnapshot,
    DefineDomain,
    ListSnapshots,
    Op,
    Result,
    op_to_json,
)
from .model.plan import cell_reached
from .model.profile import Cell, Profile
from .model.transition import step as model_step
from .model.world import World, observe
from .promise import broken_promises

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
        lines.append("trace (operation -> expected | actual):")
        for number, taken in enumerate(self.trace, start=1):
            lines.append(
                f"  {number:>3}. {_op_text(taken.op)} -> {_result_text(taken.expected)}"
                f" | {_result_text(taken.actual)}"
            )
        super().__init__("\n".join(lines))

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


def _op_text(op: Op) -> str:
    if isinstance(op, DefineDomain):
        disks = ", ".join(
            f"{d.target}={d.source} ({d.format}{', snapshot=' + d.snapshot.value if d.snapshot else ''})"
            for d in op.domain.disks
        )
        return f"define {op.domain.name}: {disks}"
    fields = op_to_json(op)
    kind = str(fields.pop("op"))
    xml = fields.pop("xml", None)
    text: str = kind + " " + " ".join(f"{k}={v}" for k, v in fields.items())
    if isinstance(xml, str):
        text += " " + " ".join(xml.split())
    return text.strip()


def _result_text(result: Result) -> str:
    text = result.outcome.value
    if result.error:
        text += f" {result.error}"
    if isinstance(result.value, tuple):
        text += f" {list(result.value)}"
    elif isinstance(result.value, str):
        text += " " + " ".join(result.value.split())[:120]
    return text


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
        self.resyncs = 0

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
            differences = compare_results(op, expected, actual, check_codes)
            self.world = world
            if not differences:
                differences = self._compare_observations()
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
        differences = compare(observe(self.world), seen, self.aspects)
        return differences + [f"invariant: {p}" for p in observation_problems(seen)]

    def _check_promise(self, actual: Result) -> list[str]:
        """After an injected failure: the promise holds, or the differences. Where the step
        changed what the promise leaves open (a domain's run state, a named leftover; anything
        at all for a life-cycle step or a write, whose reply may have been lost after its
        effect), both sides start again from an empty world (``resyncs`` counts it)."""
        try:
            seen = self.adapter.observe()
        except EnvironmentFailure:
            raise
        except SnaporacleError as err:
            return [f"observe failed after a failed {self.trace[-1].op.kind}: {err}"]
        expected = observe(self.world)
        promised = self.trace[-1].op.kind in ("create", "revert", "delete")
        problems = broken_promises(expected, seen, actual.message) if promised else []
        if problems:
            return [f"promise on failure: {p}" for p in problems]
        if not promised or compare(expected, seen, self.aspects):
            self.adapter.reset()
            self.world = World(root=self.adapter.root)
            self.resyncs += 1
        return []

    def expected_view(self) -> dict[str, Any]:
        """The model's observation, restricted to the adapter's aspects."""
        return observation_view(observe(self.world), self.aspects)
