"""What the explorer draws, as Hypothesis strategies built once per adapter and profile.

Strategies are made when a machine is bound (or on first use, cached by their arguments), never
per draw. The weights push toward what drivers get wrong while keeping everything else:

- domain shapes: one to three domains of one to three disks, qcow2 or raw, each disk with or
  without its own ``snapshot=`` default (qcow2 and no default are the simplest, shrunk toward);
- creates: cells the profile accepts five times as often as the others (refused cells
  and invalid combinations stay; the list is turned per example, see :meth:`Draws.rotated`),
  a fresh name most of the time, and the extra flags that matter in the drawn cell (HALT,
  LIVE, QUIESCE on running domains, REUSE_EXT with external disks, ATOMIC) twice as often as
  the others, and no extra flag half the time;
- reverts and deletes: snapshots with both a parent and children three times as often as the
  others, an unknown name sometimes, and every combination of the supported flags.

``sampled_from`` shrinks toward its first element, so each list starts with the plainest choice.
"""

from __future__ import annotations

import itertools
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


@attrs.define
class Draws:
    """The strategies of one bound machine (see the module docstring)."""

    ops: frozenset[str]
    lifecycle: tuple[str, ...]
    queries: tuple[str, ...]
    can_start: bool
    can_destroy: bool
    domain_count: SearchStrategy[int]
    domain_shape: SearchStrategy[tuple[DiskShape, ...]]
    cells: tuple[Cell, ...]
    cell_index: SearchStrategy[int]
    create_flags: dict[Cell, tuple[CreateFlag, ...]]
    revert_flags: tuple[RevertFlag, ...]
    delete_flags: tuple[DeleteFlag, ...]
    disk_index: SearchStrategy[int] = st.integers(0, 2)
    block: SearchStrategy[int] = st.integers(0, 3)
    pattern: SearchStrategy[int] = st.integers(1, 255)
    paused: SearchStrategy[bool] = st.booleans()
    vary_disk: SearchStrategy[bool] = st.booleans()
    explicit_sources: SearchStrategy[bool] = st.booleans()
    column: SearchStrategy[Column] = st.sampled_from(list(Column))
    _sampled: dict[tuple[Any, ...], SearchStrategy[Any]] = attrs.field(factory=dict)

    @classmethod
    def for_adapter(
        cls, caps: Capabilities, profile: Profile, exclude: frozenset[Cell] = frozenset()
    ) -> Draws:
        """The strategies for an adapter's capabilities and a profile."""
        lifecycle = tuple(k for k, needs in LIFECYCLE_NEEDS if needs in caps.ops and caps.online)
        queries = tuple(k for k in ("list", "current", "dumpxml") if k in caps.ops)
        cells = [
            c for c in ALL_CELLS
            if (caps.online or c.domain is DomainColumn.OFFLINE) and c not in exclude
        ]
        accepted = [c for c in cells if isinstance(profile.verdict(c), Accepted)]
        weighted = tuple(accepted * 5 + cells) or ALL_CELLS
        disk = st.tuples(st.sampled_from(FORMATS), st.sampled_from(DISK_DEFAULTS))
        max_disks = max(1, min(caps.max_disks, 3))
        domain = st.lists(disk, min_size=1, max_size=max_disks).map(tuple)
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
            domain_count=st.sampled_from(DOMAIN_COUNTS),
            domain_shape=domain,
            cells=weighted,
            cell_index=st.integers(0, len(weighted) - 1),
            create_flags={c: _create_flag_options(c, caps.create_flags) for c in ALL_CELLS},
            revert_flags=tuple(_combinations(revert, RevertFlag(0))),
            delete_flags=tuple(_combinations(delete, DeleteFlag(0))),
        )

    @staticmethod
    def rotated(options: tuple[Any, ...], index: int, rotation: int) -> Any:
        """The option at ``index`` of a list turned by the example's ``rotation``.

        Hypothesis draws the simplest choice (index 0) far more often than the others inside a
        state machine; turning the list by a rotation drawn once per example moves that favoured
        option around from example to example, while a shrunk example still ends at index 0.
        """
        return options[(index + rotation) % len(options)]

    def index(self, count: int) -> SearchStrategy[int]:
        """An index into ``count`` options."""
        return self.sampled(tuple(range(count)))

    def sampled(self, options: tuple[Any, ...]) -> SearchStrategy[Any]:
        """``sampled_from(options)``, made once per distinct tuple."""
        strategy = self._sampled.get(options)
        if strategy is None:
            strategy = self._sampled[options] = st.sampled_from(options)
        return strategy

    domain_index = index

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
