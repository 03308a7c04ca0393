"""Seeded fault plans for the fake backends: which call fails, and whether before or after.

A :class:`FaultPlan` is shared by a :class:`~snaporacle.fakes.FakeImageTool` and its
:class:`~snaporacle.fakes.FakeLauncher` (and the monitors it starts). Every call that passes the
sandbox check asks the plan whether it fails; a fault fires either by rule (:class:`Fault`: the
``occurrence``-th call of ``verb``, counted from 1, optionally only on one ``source`` backend) or
by a seeded ``rate`` over ``rate_verbs``. A fired fault raises
:class:`~snaporacle.errors.InjectedFault` naming the verb and the occurrence.

``before``: nothing happens (no file, no state change), then InjectedFault.

``after``: the call's effect happens, then InjectedFault, as if the reply was lost. The effect is
the whole effect except where this table says otherwise:

==================  =============================================================================
verb                effect left behind by an ``after`` fault
==================  =============================================================================
create              the new image file exists (as qemu-img leaves it when it fails late)
snapshot_create     the tag exists
snapshot_apply      the image holds the tag's data
snapshot_delete     the tag is gone
commit              the overlay's data is in the backing image, but the overlay was not emptied
write, remove       done
makedirs            the directory exists
launch              none: the QEMU started and died at once, nothing is held (same as before)
stop, cont          the new run state
savevm              the tag exists on every disk; the VM runs on as before
loadvm, delvm       done
migrate_to_file     a partial memory file exists (``-incoming`` from it fails); the VM is left in
                    its run state as when a real migration fails, not in postmigrate
transaction         every overlay created and switched
quit                the process is gone
read-only verbs     none (status, chain, read, snapshot_list, info_chain, exists, files)
==================  =============================================================================

Sources are ``image`` (the image tool), ``launcher`` and ``monitor`` (``write``/``read`` exist on
both the image tool and the monitor; a rule without a source counts both).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable

import attrs

from ..errors import InjectedFault


class When(enum.Enum):
    """Whether a fault fires before the call's effect or after it."""

    BEFORE = "before"
    AFTER = "after"


SOURCES = ("image", "launcher", "monitor")

#: The verbs whose failure a driver must survive: every verb with an effect.
MUTATING_VERBS = frozenset({
    "create", "snapshot_create", "snapshot_apply", "snapshot_delete", "commit", "rebase", "write",
    "remove", "makedirs", "launch", "stop", "cont", "savevm", "snapshot_save", "loadvm", "delvm",
    "migrate_to_file", "transaction", "quit",
})


def _check_source(_instance: object, _attribute: object, value: str | None) -> None:
    if value is not None and value not in SOURCES:
        raise ValueError(f"fault source {value!r} is not one of {', '.join(SOURCES)}")


def _verbs(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


@attrs.frozen
class Fault:
    """A rule: the ``occurrence``-th call of ``verb`` (on ``source``, or any) fails ``when``."""

    verb: str = attrs.field(validator=attrs.validators.min_len(1))
    occurrence: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    when: When = attrs.field(default=When.BEFORE, validator=attrs.validators.instance_of(When))
    source: str | None = attrs.field(default=None, validator=_check_source)


@attrs.define
class FaultPlan:
    """Which calls fail: explicit :class:`Fault` rules plus a seeded random ``rate``.

    A rate fault fires on a call of one of ``rate_verbs`` with probability ``rate``, drawn from a
    ``random.Random(seed)``, so one seed gives one sequence of faults; ``rate_when`` says before
    or after its effect (``None``: either, drawn too). ``fired`` lists every fault
    that fired, as ``(source, verb, occurrence, when)``; ``drawn`` every call asked about, as
    ``(source, verb, occurrence)``, so that a fault can be aimed at any call position.
    """

    faults: tuple[Fault, ...] = attrs.field(default=(), converter=tuple)
    rate: float = attrs.field(default=0.0, validator=[attrs.validators.ge(0.0),
                                                      attrs.validators.le(1.0)])
    seed: int = 0
    rate_when: When | None = When.BEFORE
    rate_verbs: frozenset[str] = attrs.field(default=MUTATING_VERBS, converter=_verbs)
    fired: list[tuple[str, str, int, When]] = attrs.field(factory=list, init=False)
    drawn: list[tuple[str, str, int]] = attrs.field(factory=list, init=False)
    _counts: dict[tuple[str | None, str], int] = attrs.field(factory=dict, init=False)
    _random: random.Random = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def draw(self, source: str, verb: str) -> When | None:
        """Count one call of ``verb`` on ``source``; return when it fails, or None."""
        for key in ((source, verb), (None, verb)):
            self._counts[key] = self._counts.get(key, 0) + 1
        self.drawn.append((source, verb, self._counts[(source, verb)]))
        when = None
        for fault in self.faults:
            if (
                fault.verb == verb
                and fault.source in (None, source)
                and fault.occurrence == self._counts[(fault.source, verb)]
            ):
                when = fault.when
                break
        rate_hit = self.rate and verb in self.rate_verbs and self._random.random() < self.rate
        if when is None and rate_hit:
            when = self.rate_when or self._random.choice((When.BEFORE, When.AFTER))
        if when is not None:
            self.fired.append((source, verb, self._counts[(source, verb)], when))
        return when

    def fault(self, source: str, verb: str, detail: str) -> InjectedFault:
        """The InjectedFault for the call just drawn."""
        count = self._counts.get((source, verb), 0)
        return InjectedFault(
            f"{verb} ({detail}): injected fault on call {count} of {verb} on the {source}; "
            "this failure was planned by the FaultPlan"
        )


class Injector:
    """The per-backend hook: asks a plan (if any) and raises the planned fault at the right time."""

    def __init__(self, plan: FaultPlan | None, source: str) -> None:
        self._plan = plan
        self._source = source

    def before(self, verb: str, detail: str) -> When | None:
        """Draw for this call; raise now for a ``before`` fault, else return what was drawn."""
        if self._plan is None:
            return None
        when = self._plan.draw(self._source, verb)
        if when is When.BEFORE:
            raise self._plan.fault(self._source, verb, detail)
        return when

    def after(self, when: When | None, verb: str, detail: str) -> None:
        """Raise the ``after`` fault drawn by :meth:`before`, once the effect is done."""
        if when is When.AFTER and self._plan is not None:
            raise self._plan.fault(self._source, verb, detail)


def parse_fault_plan(spec: str, seed: int) -> FaultPlan:
    """A fault plan from its command-line form: ``random:RATE`` then, comma-separated, ``before``
    or ``after`` (default: either) and the verbs that may fail (default: every verb with an
    effect). For example ``random:0.05`` or ``random:0.2,after,transaction,savevm``. Raises
    ``ValueError`` saying what is wrong."""
    terms = [term.strip() for term in spec.split(",") if term.strip()]
    if not terms or not terms[0].startswith("random:"):
        raise ValueError(
            f"fault plan {spec!r} must start with random:RATE (e.g. random:0.05), then optional "
            "before|after and verbs, comma-separated"
        )
    try:
        rate = float(terms[0].removeprefix("random:"))
    except ValueError:
        raise ValueError(f"fault rate {terms[0]!r} is not a number") from None
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"fault rate {rate} must be above 0 and at most 1")
    when: When | None = None
    verbs: set[str] = set()
    for term in terms[1:]:
        if term in ("before", "after"):
            when = When(term)
        elif term in MUTATING_VERBS:
            verbs.add(term)
        else:
            raise ValueError(
                f"fault plan term {term!r} is neither before/after nor a verb; verbs: "
                + ", ".join(sorted(MUTATING_VERBS))
            )
    chosen: frozenset[str] = frozenset(verbs) if verbs else MUTATING_VERBS
    return FaultPlan(rate=rate, seed=seed, rate_when=when, rate_verbs=chosen)
