"""The table oracle: decide() against the profiles' cells, multi-disk rules, paused domains and
arbitrary requests. The multi-disk rules are written out again here from decide's docstring.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snaporacle.model.decide import Decision, decide
from snaporacle.model.definition import DomainDisk, MemorySpec, SnapshotDefinition, SnapshotDisk
from snaporacle.model.modes import (
    Column,
    CreateFlag,
    DiskMode,
    DiskResult,
    DomainColumn,
    DomainState,
    Mechanism,
    MemoryMode,
    SnapshotState,
)
from snaporacle.model.profile import ALL_CELLS, Accepted, Cell, Profile, Rejected, Verdict
from snaporacle.profiles import load_profile

PROFILES = {name: load_profile(name) for name in ("plan-1.0.1", "libvirt-current")}
STATES = {
    DomainColumn.OFFLINE: (DomainState.SHUTOFF,),
    DomainColumn.ONLINE: (DomainState.RUNNING, DomainState.PAUSED),
}


def _memory(column: Column) -> MemorySpec | None:
    if column is Column.OMIT:
        return None
    if column is Column.EXTERNAL:
        return MemorySpec(MemoryMode.EXTERNAL, "/images/memory.save")
    return MemorySpec(MemoryMode(column.value))


def _flags(disk_only: bool) -> CreateFlag:
    return CreateFlag.DISK_ONLY if disk_only else CreateFlag(0)


def _expected_state(verdict: Accepted, state: DomainState) -> SnapshotState:
    if verdict.state is SnapshotState.RUNNING and state is DomainState.PAUSED:
        return SnapshotState.PAUSED
    return verdict.state


# --- one disk: every cell gets the profile's verdict ---------------------------------------------


@given(
    profile=st.sampled_from(sorted(PROFILES)),
    cell=st.sampled_from(ALL_CELLS),
    by_source=st.booleans(),
    state_index=st.integers(0, 1),
)
def test_a_single_disk_request_gets_its_cells_verdict(
    profile: str, cell: Cell, by_source: bool, state_index: int
) -> None:
    states = STATES[cell.domain]
    state = states[state_index % len(states)]
    disk = DomainDisk(target="vda", source="/images/vda.qcow2")
    name = disk.source if by_source else disk.target
    listed = None if cell.disk is Column.OMIT else (SnapshotDisk(name, DiskMode(cell.disk.value)),)
    request = SnapshotDefinition(memory=_memory(cell.memory), disks=listed)
    decision = decide(PROFILES[profile], state, request, _flags(cell.disk_only), (disk,))
    verdict = PROFILES[profile].verdict(cell)
    assert decision.cell == cell
    assert decision.verdict == verdict
    if isinstance(verdict, Accepted):
        assert decision.state is _expected_state(verdict, state)
        mode = (
            DiskMode.EXTERNAL
            if verdict.disk is DiskResult.DEFAULT
            else DiskMode(verdict.disk.value)
        )
        assert decision.disks == (("vda", mode),)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_cell_is_reached_by_its_own_request(profile: str) -> None:
    reached = set()
    for cell in ALL_CELLS:
        listed = (
            None if cell.disk is Column.OMIT else (SnapshotDisk("vda", DiskMode(cell.disk.value)),)
        )
        request = SnapshotDefinition(memory=_memory(cell.memory), disks=listed)
        state = STATES[cell.domain][0]
        decision = decide(
            PROFILES[profile],
            state,
            request,
            _flags(cell.disk_only),
            (DomainDisk("vda", "/images/vda.qcow2"),),
        )
        assert decision.verdict == PROFILES[profile].verdict(cell)
        reached.add(decision.cell)
    assert reached == set(ALL_CELLS)


# --- several disks: the docstring's rules, written independently ----------------------------------


@dataclass(frozen=True)
class Disk:
    """A generated disk: its domain default, whether <disks> lists it, and with which mode."""

    name: str
    default: DiskMode | None
    listed: bool
    mode: DiskMode | None


def _oracle(
    profile: Profile, state: DomainState, memory: Column, disk_only: bool, disks: list[Disk]
) -> tuple[Cell | None, Verdict, dict[str, DiskMode]]:
    """What decide's docstring says: (cell, verdict, disk modes when accepted)."""
    chosen = [
        d.mode
        for d in disks
        if d.listed
        and d.mode is not None
        and not (d.mode is DiskMode.NO and d.default is DiskMode.NO)
    ]
    if DiskMode.INTERNAL in chosen and DiskMode.EXTERNAL in chosen:
        # a refusal that holds for every disk column comes first
        row = [profile.verdict(Cell(state.column, memory, c, disk_only)) for c in Column]
        first = row[0]
        if isinstance(first, Rejected) and all(v == first for v in row):
            return Cell(state.column, memory, Column.OMIT, disk_only), first, {}
        return None, profile.mixed, {}
    kept = [mode for mode in chosen if mode is not DiskMode.NO] or chosen
    left_out = any(
        (not d.listed or d.mode is None) and d.default is not DiskMode.NO for d in disks
    )
    if kept == chosen and chosen and set(chosen) == {DiskMode.NO} and left_out:
        kept = []  # only 'no' given, but disks left out take the default
    column = Column(kept[0].value) if kept else Column.OMIT
    cell = Cell(state.column, memory, column, disk_only)
    verdict = profile.verdict(cell)
    if isinstance(verdict, Rejected):
        return cell, verdict, {}
    resolved = {}
    for d in disks:
        if d.listed and d.mode is not None:
            resolved[d.name] = d.mode
        elif d.default is not None:  # a left-out disk's own default comes first
            resolved[d.name] = d.default
        elif verdict.disk is DiskResult.DEFAULT:
            resolved[d.name] = DiskMode.EXTERNAL
        else:
            resolved[d.name] = DiskMode(verdict.disk.value)
    used = set(resolved.values())
    own_default = {d.name for d in disks
                   if not (d.listed and d.mode is not None) and d.default is not None}
    for name, mode in resolved.items():  # disk by disk, in the domain's order
        if mode is DiskMode.NO:
            continue
        # where the cell leaves each disk to its default, and on a running domain for the
        # disks that took their own default, the disk's mode is checked in its own cell
        if verdict.disk is DiskResult.DEFAULT or (state.active and name in own_default):
            own = profile.verdict(Cell(cell.domain, cell.memory, Column(mode.value), disk_only))
            if isinstance(own, Rejected):
                return cell, own, {}
    if {DiskMode.INTERNAL, DiskMode.EXTERNAL} <= used:
        return cell, profile.mixed, {}
    is_internal = DiskMode.INTERNAL in used or verdict.memory is MemoryMode.INTERNAL
    if profile.partial_no and is_internal and used - {DiskMode.INTERNAL}:
        return cell, profile.partial_no, {}
    if used == {DiskMode.NO}:
        if verdict.memory is MemoryMode.NO:
            return cell, profile.nothing, {}
        disk_work = (Mechanism.TRANSACTION, Mechanism.QEMU_IMG)
        kept_mechanisms = [m for m in verdict.mechanisms if m not in disk_work]
        verdict = Accepted(verdict.memory, verdict.disk, kept_mechanisms, verdict.state)
    return cell, verdict, resolved


_MODES = st.sampled_from([None, *DiskMode])


@st.composite
def _disks(draw: st.DrawFn) -> list[Disk]:
    count = draw(st.integers(2, 4))
    return [
        Disk(f"vd{'abcd'[i]}", draw(_MODES), draw(st.booleans()), draw(_MODES))
        for i in range(count)
    ]


def _request(memory: Column, disks: list[Disk]) -> tuple[SnapshotDefinition, list[DomainDisk]]:
    domain = [DomainDisk(d.name, f"/images/{d.name}.qcow2", snapshot=d.default) for d in disks]
    listed = [SnapshotDisk(d.name, d.mode) for d in disks if d.listed]
    return SnapshotDefinition(memory=_memory(memory), disks=listed or None), domain


@given(
    profile=st.sampled_from(sorted(PROFILES)),
    state=st.sampled_from(DomainState),
    memory=st.sampled_from(Column),
    disk_only=st.booleans(),
    disks=_disks(),
)
def test_multi_disk_requests_follow_the_documented_rules(
    profile: str, state: DomainState, memory: Column, disk_only: bool, disks: list[Disk]
) -> None:
    request, domain = _request(memory, disks)
    decision = decide(PROFILES[profile], state, request, _flags(disk_only), domain)
    cell, verdict, resolved = _oracle(PROFILES[profile], state, memory, disk_only, disks)
    assert decision.cell == cell
    assert decision.verdict == verdict
    assert dict(decision.disks) == resolved
    if isinstance(verdict, Accepted):
        assert [name for name, _ in decision.disks] == [d.name for d in disks]
        assert decision.state is _expected_state(verdict, state)


@given(
    profile=st.sampled_from(sorted(PROFILES)),
    memory=st.sampled_from(Column),
    disk_only=st.booleans(),
    disks=_disks(),
)
def test_paused_decides_as_running_except_the_state(
    profile: str, memory: Column, disk_only: bool, disks: list[Disk]
) -> None:
    request, domain = _request(memory, disks)
    flags = _flags(disk_only)
    running = decide(PROFILES[profile], DomainState.RUNNING, request, flags, domain)
    paused = decide(PROFILES[profile], DomainState.PAUSED, request, flags, domain)
    assert (paused.cell, paused.verdict, paused.disks) == (
        running.cell,
        running.verdict,
        running.disks,
    )
    if running.state is SnapshotState.RUNNING:
        assert paused.state is SnapshotState.PAUSED
    else:
        assert paused.state is running.state


# --- anything at all -----------------------------------------------------------------------------

_NAMES = st.sampled_from(["vda", "vdb", "vdz", "/images/vda.qcow2", "/elsewhere.img", ""])


@given(
    profile=st.sampled_from(sorted(PROFILES)),
    state=st.sampled_from(DomainState),
    memory=st.none()
    | st.builds(
        MemorySpec, st.none() | st.sampled_from(MemoryMode), st.none() | st.just("/images/m.save")
    ),
    listed=st.none() | st.lists(st.builds(SnapshotDisk, _NAMES, _MODES), max_size=6),
    flags=st.integers(0, 1023).map(CreateFlag),
    domain=st.lists(
        st.builds(
            DomainDisk,
            st.sampled_from(["vda", "vdb", "vdc"]),
            st.sampled_from(["/images/vda.qcow2", "/images/vdb.qcow2"]),
            snapshot=_MODES,
        ),
        max_size=4,
    ),
)
def test_decide_never_raises(
    profile: str,
    state: DomainState,
    memory: MemorySpec | None,
    listed: list[SnapshotDisk] | None,
    flags: CreateFlag,
    domain: list[DomainDisk],
) -> None:
    request = SnapshotDefinition(memory=memory, disks=listed)
    decision = decide(PROFILES[profile], state, request, flags, domain)
    assert isinstance(decision, Decision)
    assert isinstance(decision.verdict, (Accepted, Rejected))
    if decision.accepted:
        modes = {mode for _, mode in decision.disks}
        assert not {DiskMode.INTERNAL, DiskMode.EXTERNAL} <= modes
