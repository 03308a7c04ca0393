"""What the explorer draws: option lists made once per adapter and profile, and byte choices.

Each rule draws its choices as one string of bytes (:data:`CHOICES`) that :class:`Picks` maps
onto option lists made once per bound machine (:class:`Draws`); no strategy is built per draw. The
weights push toward what drivers get wrong while keeping everything else:

- domain shapes: one to three domains of one to three disks, qcow2 or raw, each disk with or
  without its own ``snapshot=`` default (qcow2 and no default are the simplest, shrunk toward);
- creates: cells the profile accepts five times as often as the others (refused cells
  and invalid combinations stay; the list is turned per example, see :meth:`Picks.turned`),
  a fresh name most of the time, and the extra flags that matter in the drawn cell (HALT,
  LIVE, QUIESCE on running domains, REUSE_EXT with external disks, ATOMIC) twice as often as
  the others, and no extra flag half the time;
- reverts and deletes: snapshots with both a parent and children three times as often as the
  others, an unknown name sometimes, and every combination of the supported flags;
- the steps Hypothesis fills with zeros after one of its mutations (:func:`filler`): a create,
  revert or delete (three creates to one of each), its choices made from the step's place, so
  that such tails grow and walk the snapshot tree.

A choice shrinks toward 0, the first option, so each list starts with the plainest choice.

Swarm testing (Groce et al., ISSTA 2012) over the flags, each example allowing a random subset of
the flag bits, was measured on the mutation benchmark (19 mutants x 5 seeds, 200 examples): 94/95
killed, median first detection 0.34 s, against 95/95 and 0.26 s without. It is not used;
Hypothesis' own swarm over the rules (its feature flags) stays on.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from .adapters.protocol import Capabilities
from .model.modes import Column, CreateFlag, DeleteFlag, DiskMode, DomainColumn, RevertFlag
from .model.profile import ALL_CELLS, Accepted, Cell, Profile
from .model.world import Snapshot

#: The snapshot names the explorer uses; few, so that names collide now and then.
NAMES = ("s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8")

#: The create flags beside DISK_ONLY that the explorer draws.
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

LIFECYCLE_NEEDS = (("start", "start"), ("start-paused", "start"), ("pause", "pause"),
                   ("resume", "resume"), ("destroy", "destroy"))

#: Disk formats and per-disk ``snapshot=`` defaults, plainest first and most often.
FORMATS = ("qcow2", "qcow2", "qcow2", "raw")
DISK_DEFAULTS: tuple[DiskMode | None, ...] = (
    None, None, None, DiskMode.NO, DiskMode.INTERNAL, DiskMode.EXTERNAL,
)

#: How many domains an example defines: one most often, up to three.
DOMAIN_COUNTS = (1, 1, 2, 3)

DiskShape = tuple[str, DiskMode | None]


def _combinations(flags: Sequence[Any], empty: Any) -> list[Any]:
    """Every combination of ``flags`` (the empty one first)."""
    out = []
    for size in range(len(flags) + 1):
        for chosen in itertools.combinations(flags, size):
            value = empty
            for flag in chosen:
                value |= flag
            out.append(value)
    return out


def relevant_create_flags(cell: Cell) -> list[CreateFlag]:
    """The extra create flags whose handling depends on ``cell``."""
    flags = [CreateFlag.ATOMIC]
    if cell.domain is DomainColumn.ONLINE:
        flags += [CreateFlag.HALT, CreateFlag.QUIESCE]
        if cell.memory is Column.EXTERNAL or cell.disk_only:
            flags.append(CreateFlag.LIVE)
    if cell.disk in (Column.EXTERNAL, Column.OMIT):
        flags.append(CreateFlag.REUSE_EXT)
    return flags


def _create_flag_options(cell: Cell, supported: CreateFlag) -> tuple[CreateFlag, ...]:
    relevant = [f for f in relevant_create_flags(cell) if f & supported]
    every = [f for f in EXTRA_CREATE_FLAGS if f & supported]
    pairs = [a | b for a, b in itertools.combinations(relevant, 2)]
    none = [CreateFlag(0)] * (len(relevant) * 2 + len(pairs) + len(every))
    return (*none, *relevant * 2, *pairs, *every)


#: How many choices a rule draws (the most any rule makes; the define rule draws twice).
CHOICE_COUNT = 16

#: A rule's choices, each a byte, in one Hypothesis draw. Hypothesis' cost is per draw, so a
#: rule draws its choices together, and never a strategy built per draw. Bytes are drawn evenly
#: and shrunk one by one toward 0, so each choice still shrinks on its own toward the plainest
#: option. Every rule draws the same size: Hypothesis' mutator copies a draw from one step into
#: another, and a copy of a different size would not fit and become all zeros.
CHOICES: SearchStrategy[bytes] = st.binary(min_size=CHOICE_COUNT, max_size=CHOICE_COUNT)


def filler(rotation: int, call: int) -> bytes:
    """The choices of a rule that drew nothing but zeros: the ``call``-th rule call of an example
    whose rotation is ``rotation``.

    When Hypothesis' mutator copies part of one example into another, the choices after the copy
    often no longer fit and Hypothesis fills them with zeros: the first rule, every choice 0, step
    after step. Taken as they are, such tails made half of all creates the same plainest create
    and left cells unreached. An all-zero draw therefore stands for choices made from the rule's
    place in the example instead, the same each time, so that a run and its replay agree. A
    shrunk rule that needs only plain choices keeps one byte it does not use (the last), which
    Hypothesis' shrinker finds.
    """
    return random.Random(rotation * 65_537 + call).randbytes(CHOICE_COUNT)


class Picks:
    """A rule's choices, taken one after the other (and again from the start if it asks for more)."""

    def __init__(self, values: bytes, rotation: int = 0, filled: bool = False) -> None:
        self.values = values
        self.rotation = rotation
        #: the choices stand for a filler draw (see :func:`filler`)
        self.filled = filled
        self.at = 0

    def next(self) -> int:
        """The next raw choice (0..255)."""
        value = self.values[self.at % len(self.values)]
        self.at += 1
        return value

    def _index(self, options: Sequence[Any]) -> int:
        """A choice for a list of ``options``: two bytes for a long list, so that every option
        can be drawn and none much more often than the others."""
        value = self.next()
        return (value << 8 | self.next()) if len(options) > 64 else value

    def of(self, options: Sequence[Any]) -> Any:
        """One of ``options``: the plainest (the first) when the choice is 0."""
        return options[self._index(options) % len(options)]

    def turned(self, options: Sequence[Any]) -> Any:
        """One of ``options``, the list turned by the example's rotation.

        Hypothesis draws the simplest choice (0) far more often than the others inside a state
        machine; turning the list by a rotation drawn once per example moves that favoured option
        around from example to example, while a shrunk example still ends at the first option.
        """
        return options[(self._index(options) + self.rotation) % len(options)]


@attrs.define
class Draws:
    """The option lists of one bound machine (see the module docstring)."""

    ops: frozenset[str]
    lifecycle: tuple[str, ...]
    queries: tuple[str, ...]
    can_start: bool
    can_destroy: bool
    max_disks: int
    cells: tuple[Cell, ...]
    create_flags: dict[Cell, tuple[CreateFlag, ...]]
    revert_flags: tuple[RevertFlag, ...]
    delete_flags: tuple[DeleteFlag, ...]
    #: cells not to reach: not drawn, and a create whose varied disk modes would reach one is
    #: drawn without the variation
    excluded: frozenset[Cell] = frozenset()

    @classmethod
    def for_adapter(
        cls, caps: Capabilities, profile: Profile, exclude: frozenset[Cell] = frozenset()
    ) -> Draws:
        """The options for an adapter's capabilities and a profile."""
        lifecycle = tuple(k for k, needs in LIFECYCLE_NEEDS if needs in caps.ops and caps.online)
        queries = tuple(k for k in ("list", "current", "dumpxml") if k in caps.ops)
        cells = [
            c for c in ALL_CELLS
            if (caps.online or c.domain is DomainColumn.OFFLINE) and c not in exclude
        ]
        accepted = [c for c in cells if isinstance(profile.verdict(c), Accepted)]
        revert = [f for f in (RevertFlag.RUNNING, RevertFlag.PAUSED, RevertFlag.FORCE)
                  if f & caps.revert_flags]
        delete = [f for f in (DeleteFlag.CHILDREN, DeleteFlag.CHILDREN_ONLY,
                              DeleteFlag.METADATA_ONLY) if f & caps.delete_flags]
        return cls(
            ops=frozenset(caps.ops),
            lifecycle=lifecycle,
            queries=queries,
            can_start="start" in caps.ops,
            can_destroy="destroy" in caps.ops,
            max_disks=max(1, min(caps.max_disks, 3)),
            cells=tuple(accepted * 5 + cells) or ALL_CELLS,
            create_flags={c: _create_flag_options(c, caps.create_flags) for c in ALL_CELLS},
            revert_flags=tuple(_combinations(revert, RevertFlag(0))),
            delete_flags=tuple(_combinations(delete, DeleteFlag(0))),
            excluded=exclude,
        )

    def shapes(self, picks: Picks) -> list[tuple[DiskShape, ...]]:
        """The example's domains: how many, and each one's disks (format, own default)."""
        return [
            tuple((picks.of(FORMATS), picks.of(DISK_DEFAULTS))
                  for _ in range(1 + picks.next() % self.max_disks))
            for _ in range(picks.of(DOMAIN_COUNTS))
        ]

    @staticmethod
    def create_names(snapshots: Mapping[str, Snapshot]) -> tuple[str, ...]:
        """Names for a new snapshot: the first free one most often, any name sometimes."""
        free = next((n for n in NAMES if n not in snapshots), None)
        return ((free,) * 4 + NAMES) if free else NAMES

    @staticmethod
    def target_names(snapshots: Mapping[str, Snapshot], interior: bool) -> tuple[str, ...]:
        """Names to revert to, delete or dump: existing ones (with ``interior``, those with a
        parent and children three times over), and one unknown name."""
        if not snapshots:
            return NAMES[:1]
        existing = tuple(sorted(snapshots))
        unknown = next(n for n in (*NAMES, "missing") if n not in snapshots)
        if not interior:
            return (*existing, unknown)
        parents = {s.parent for s in snapshots.values()}
        middle = tuple(
            n for n in existing if snapshots[n].parent is not None and n in parents
        )
        return (*middle * 3, *existing, unknown)
