"""The table oracle: which cell a snapshot request falls in, and what the profile says of it.

The table speaks of one memory mode and one disk mode. A real request names any number of disks,
each with its own mode (or none), so :func:`cell_of` maps a request onto a cell like this:

1. A ``'no'`` on a disk whose domain definition already says ``snapshot='no'`` is not a choice
   (libvirt skips such disks either way), so it is dropped.
2. The remaining disks that carry an explicit mode decide the disk column: none -> ``omit`` (also
   when there is no ``<disks>`` at all); all the same mode -> that mode.
3. ``internal`` and ``external`` together -> the profile's ``mixed`` rule (both shipped profiles
   refuse it, as libvirt's QEMU driver does).
   Before that, a request whose memory alone is refused (every disk column of its row refused
   alike: an offline or disk-only snapshot asking for memory, a running one with memory 'no')
   gets that refusal; libvirt checks the memory before the disks (:func:`memory_rejection`).
4. ``no`` beside one other mode -> the ``no`` disks are left out and the other mode decides the
   cell. Only ``no`` while the domain has disks the request leaves out (which take the default)
   -> ``omit``, as if no disk were named.

When the cell accepts, every disk of the domain gets a mode (:func:`decide` returns them): its
explicit mode; else its own domain default (``snapshot=`` in the domain definition, as libvirt's
virDomainSnapshotAlignDisks does: measured on 9.0 and 11.3, an offline snapshot of a disk whose
default is external makes an overlay); else the cell's disk result, ``default`` meaning
``external``. Where the cell's disk result is ``default``, and on a running domain, a mode a disk
took from its own default is checked as if it had been asked for: when the cell with that disk mode
refuses, the request gets that refusal (libvirt aligns the disks before it checks them: a running
domain's disk-only snapshot of a disk whose default is internal is refused as an explicit
internal one, and external memory beside such a disk as mixing). Then, in this order:
a resolution mixing internal and external disks gets the ``mixed`` rule; an internal snapshot
(an internal disk or internal memory) that leaves a disk out (``no``), or whose memory is internal
beside a disk that is external by its own default, gets the profile's ``partial_no`` rule when it
has one (qemuSnapshotPrepare refuses it: measured on 9.0 and 11.3); one with no memory and no disk
selected gets the ``nothing`` rule. Paused counts as online; an accepted ``running`` state becomes
``paused`` for a paused domain.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from .definition import DomainDisk, SnapshotDefinition
from .modes import (
    Column,
    CreateFlag,
    DiskMode,
    DiskResult,
    DomainState,
    Mechanism,
    MemoryMode,
    Outcome,
    SnapshotState,
)
from .profile import Accepted, Cell, Profile, Rejected


@attrs.frozen
class Decision:
    """The oracle's answer for one request.

    ``cell`` is ``None`` only when the request fell under a rule before reaching a cell (explicit
    internal and external disks together). For an accepted request, ``disks`` maps every disk to
    its mode and ``state`` is the snapshot's ``<state>``.
    """

    cell: Cell | None
    verdict: Accepted | Rejected
    disks: tuple[tuple[str, DiskMode], ...] = ()
    state: SnapshotState | None = None
    #: for a request refused by a rule that looks at all its disks at once (``mixed``,
    #: ``partial_no``, ``nothing``): the modes they resolved to, which libvirt checks one disk
    #: at a time before that rule
    resolved: tuple[tuple[str, DiskMode], ...] = ()

    @property
    def accepted(self) -> bool:
        """True when the request is carried out."""
        return isinstance(self.verdict, Accepted)


def _explicit_choices(
    request: SnapshotDefinition, domain_disks: Sequence[DomainDisk]
) -> dict[str, DiskMode]:
    """Disk name -> explicit mode, without the ``no`` the domain definition already implies."""
    defaults = {disk.target: disk.snapshot for disk in domain_disks}
    defaults.update({disk.source: disk.snapshot for disk in domain_disks})
    choices: dict[str, DiskMode] = {}
    for disk in request.disks or ():
        if disk.snapshot is None:
            continue
        if disk.snapshot is DiskMode.NO and defaults.get(disk.name) is DiskMode.NO:
            continue
        choices[disk.name] = disk.snapshot
    return choices


def _unlisted_selectable(request: SnapshotDefinition, domain_disks: Sequence[DomainDisk]) -> bool:
    """Whether a domain disk that the request gives no mode (left out of ``<disks>``, or listed
    without ``snapshot``) would be snapshotted by default."""
    named = {disk.name for disk in request.disks or () if disk.snapshot is not None}
    return any(
        disk.target not in named and disk.source not in named and disk.snapshot is not DiskMode.NO
        for disk in domain_disks
    )


def memory_rejection(
    profile: Profile,
    domain_state: DomainState,
    request: SnapshotDefinition,
    flags: CreateFlag,
    parse_only: bool = False,
) -> Cell | None:
    """The cell of a request refused whatever its disks say, or ``None``.

    Such a refusal comes before every disk rule (libvirt checks the memory before it aligns the
    disks). With ``parse_only``, only an *invalid* one counts: libvirt's parse-time check (an
    offline or disk-only snapshot asking for memory state), which comes even before LIVE.
    """
    memory = Column.of(request.memory_mode)
    disk_only = bool(flags & CreateFlag.DISK_ONLY)
    verdict = profile.verdict_across_disks(domain_state.column, memory, disk_only)
    if isinstance(verdict, Rejected) and (not parse_only or verdict.outcome is Outcome.INVALID):
        # the row refuses whatever its disks say: its first cell stands for it
        return Cell(domain_state.column, memory, Column.OMIT, disk_only)
    return None


def _explicit_in_order(
    request: SnapshotDefinition, domain_disks: Sequence[DomainDisk]
) -> tuple[tuple[str, DiskMode], ...]:
    """The disks the request gives a mode, in the domain's order (as named without one)."""
    choices = _explicit_choices(request, domain_disks)
    if not domain_disks:
        return tuple(choices.items())
    return tuple(
        (disk.target, mode)
        for disk in domain_disks
        if (mode := choices.get(disk.target) or choices.get(disk.source)) is not None
    )


def cell_of(
    profile: Profile,
    domain_state: DomainState,
    request: SnapshotDefinition,
    flags: CreateFlag,
    domain_disks: Sequence[DomainDisk] = (),
) -> Cell | Rejected:
    """The cell a request falls in, or the rule that refuses it before any cell applies.

    A request that :func:`memory_rejection` refuses is refused by its cell whatever its disks,
    before the rules for mixed modes.
    """
    refused = memory_rejection(profile, domain_state, request, flags)
    modes = set(_explicit_choices(request, domain_disks).values())
    if DiskMode.INTERNAL in modes and DiskMode.EXTERNAL in modes:
        return refused or profile.mixed
    if len(modes) == 2:  # 'no' beside one other mode
        modes.discard(DiskMode.NO)
    if modes == {DiskMode.NO} and _unlisted_selectable(request, domain_disks):
        modes.clear()  # the disks left out take the default: as if no disk were given
    disk = Column.of(modes.pop()) if modes else Column.OMIT
    return Cell(
        domain=domain_state.column,
        memory=Column.of(request.memory_mode),
        disk=disk,
        disk_only=bool(flags & CreateFlag.DISK_ONLY),
    )


def _resolve_disks(
    verdict: Accepted, request: SnapshotDefinition, domain_disks: Sequence[DomainDisk]
) -> tuple[tuple[str, DiskMode], ...]:
    listed = {disk.name: disk.snapshot for disk in request.disks or () if disk.snapshot}
    if not domain_disks:
        return tuple(listed.items())
    resolved = []
    for disk in domain_disks:
        # a disk the request leaves out takes its own default first (libvirt's
        # virDomainSnapshotAlignDisks), then the snapshot's
        mode = listed.get(disk.target) or listed.get(disk.source) or disk.snapshot
        if mode is None:
            default = verdict.disk is DiskResult.DEFAULT
            mode = DiskMode.EXTERNAL if default else DiskMode(verdict.disk.value)
        resolved.append((disk.target, mode))
    return tuple(resolved)


def _own_default_disks(
    request: SnapshotDefinition, domain_disks: Sequence[DomainDisk]
) -> list[DomainDisk]:
    """The disks left out of the request that take their own default (not ``no``)."""
    listed = {disk.name for disk in request.disks or () if disk.snapshot}
    return [
        disk
        for disk in domain_disks
        if disk.snapshot is not None and disk.snapshot is not DiskMode.NO
        and disk.target not in listed and disk.source not in listed
    ]


def own_default_cells(
    cell: Cell, verdict: Accepted, request: SnapshotDefinition, domain_disks: Sequence[DomainDisk]
) -> list[Cell]:
    """The cells a request in ``cell`` also reaches: one per mode that disks it leaves out take
    from their own defaults (or from ``default``), as if it had asked for it (the explorer keeps
    excluded cells out by these too)."""
    modes = {mode for _, mode in _resolve_disks(verdict, request, domain_disks)}
    own = {d.snapshot for d in _own_default_disks(request, domain_disks) if d.snapshot}
    if verdict.disk is DiskResult.DEFAULT:
        own |= modes - {DiskMode.NO}
    return [attrs.evolve(cell, disk=Column.of(mode)) for mode in sorted(own, key=lambda m: m.value)]


def decide(
    profile: Profile,
    domain_state: DomainState,
    request: SnapshotDefinition,
    flags: CreateFlag = CreateFlag(0),
    domain_disks: Sequence[DomainDisk] = (),
) -> Decision:
    """The oracle for one snapshot request against one profile.

    ``domain_disks`` are the disks of the domain definition; without them only the disks the
    request names are resolved. See the module docstring for how disks map onto cells.
    """
    cell = cell_of(profile, domain_state, request, flags, domain_disks)
    if isinstance(cell, Rejected):  # explicit internal and external disks: the mixed rule
        if flags & CreateFlag.DISK_ONLY or request.memory_mode is MemoryMode.EXTERNAL:
            # comes after each disk's own checks (libvirt's qemuSnapshotPrepare loop)
            return Decision(None, cell, resolved=_explicit_in_order(request, domain_disks))
        # else the disks must match the memory's mode as they are aligned, before any disk's
        # own check (virDomainSnapshotAlignDisks: "disk 'vda' must use snapshot mode 'internal'")
        return Decision(None, cell)
    verdict = profile.verdict(cell)
    if isinstance(verdict, Rejected):
        return Decision(cell, verdict)
    disks = _resolve_disks(verdict, request, domain_disks)
    modes = {mode for _, mode in disks}
    # a mode a disk takes from its own default is checked as if the request had asked for it
    # where the snapshot leaves each disk to its default, and on a running domain (measured on
    # 9.0 and 11.3: a running domain's disk-only snapshot of a disk whose default is internal is
    # refused; a shut-off domain's snapshot of a disk whose default is external makes an
    # overlay, though 9.0 refuses the same disk asked for as external)
    if verdict.disk is DiskResult.DEFAULT:
        checked = {target for target, mode in disks if mode is not DiskMode.NO}
    elif domain_state.active:
        checked = {disk.target for disk in _own_default_disks(request, domain_disks)}
    else:
        checked = set()
    # disk by disk, as libvirt checks them: the disks before a refused one come first
    for index, (target, mode) in enumerate(disks):
        if target in checked:
            own = profile.verdict(attrs.evolve(cell, disk=Column.of(mode)))
            if isinstance(own, Rejected):
                # an internal disk is refused as libvirt reaches it; an external one only once
                # every disk's files were checked (measured on 11.3: a missing REUSE_EXT overlay
                # of an external-by-default disk beside internal memory is reported first)
                reached = disks if mode is DiskMode.EXTERNAL else disks[:index]
                return Decision(cell, own, resolved=reached)
    if DiskMode.INTERNAL in modes and DiskMode.EXTERNAL in modes:
        return Decision(cell, profile.mixed, resolved=disks)
    internal = DiskMode.INTERNAL in modes or verdict.memory is MemoryMode.INTERNAL
    if profile.partial_no is not None and internal and modes - {DiskMode.INTERNAL}:
        # a disk left out, or external by its own default, beside internal memory: measured on
        # 9.0 and 11.3 ("internal and full system snapshots require all disks to be selected")
        return Decision(cell, profile.partial_no, resolved=disks)
    selected = modes - {DiskMode.NO}
    if verdict.memory is MemoryMode.NO and not selected and domain_disks:
        return Decision(cell, profile.nothing, resolved=disks)
    if domain_disks and not selected:
        mechanisms = tuple(
            m for m in verdict.mechanisms if m not in (Mechanism.TRANSACTION, Mechanism.QEMU_IMG)
        )
        verdict = attrs.evolve(verdict, mechanisms=mechanisms)
    state = verdict.state
    if state is SnapshotState.RUNNING and domain_state is DomainState.PAUSED:
        state = SnapshotState.PAUSED
    return Decision(cell, verdict, disks, state)
