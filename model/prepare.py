"""``prepare(view, op, profile)``: every rule of the snapshot API, in libvirt's order, once.

Each operation becomes a plan (:mod:`snaporacle.model.plan`) or a :class:`Refusal`. The model's
transition and the reference driver both carry out the plan; neither decides again.

Create: the flag rules, the XML parse, then (REDEFINE aside) the parse-time memory check, LIVE,
the table (:func:`~snaporacle.model.decide.decide`), QUIESCE on an active domain, the disks
(formats, overlay files) and last the name, as libvirt 9.0 does. Names snaporacle chooses where
libvirt would: an external disk without ``<source>`` gets ``<active image without its
extension>.<snapshot name>``; a revert to an external snapshot (where the profile supports it)
puts a fresh overlay ``<frozen image>.revert<N>`` (first free N) on the image the snapshot froze.

Revert: the snapshot's name, the flags, what the profile can revert, the memory file, the images
and their tags. Delete: the name, the flags, then (unless metadata only) what the profile can
delete: an external snapshot only as a leaf whose overlays are the active images and whose parent
is not internal (measured on libvirt 9.0); an internal one of a running domain only while its
disks are still on the images it was taken on.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from typing import assert_never

import attrs

from .codes import outcome_for_code
from .decide import cell_of, decide, memory_rejection
from .definition import DomainSpec, MemorySpec, SnapshotDefinition
from .definition import SnapshotDisk as DiskRequest
from .errors import SnapshotXMLError
from .flags import check_create_flags, check_delete_flags, check_live, check_revert_flags
from .geometry import DISK_BLOCKS
from .memory import write_problem
from .modes import (
    CreateFlag,
    DeleteFlag,
    DiskMode,
    DomainState,
    Mechanism,
    MemoryMode,
    Outcome,
    RevertFlag,
    SnapshotState,
)
from .naming import default_overlay, revert_overlay
from .ops import (
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
from .plan import (
    AnswerPlan,
    Commit,
    DefinePlan,
    DeletePlan,
    Discard,
    LifecyclePlan,
    Overlay,
    Plan,
    RedefinePlan,
    Refusal,
    RevertPlan,
    TakePlan,
    View,
    WriteMemoryPlan,
    WritePlan,
)
from .profile import Accepted, Cell, Profile, Rejected
from .revert_by_second import (
    SECOND_BASE,
    finish_revert,
    overlay_collision,
    revert_overlay_names,
)
from .snapshot_xml import format_snapshot, parse_snapshot
from .world import Domain, Snapshot, SnapshotDisk

_CONFIG = "VIR_ERR_CONFIG_UNSUPPORTED"
_FAILED = "VIR_ERR_OPERATION_FAILED"
_INVALID_OP = "VIR_ERR_OPERATION_INVALID"
_NO_SNAPSHOT = "VIR_ERR_NO_DOMAIN_SNAPSHOT"

#: The largest pattern a block can be written with (a byte; 0 means never written).
MAX_PATTERN = 255


def _refuse(rule: str, outcome: Outcome, error: str | None, message: str) -> Refusal:
    if outcome is Outcome.FAILED:
        return Refusal(Result.failed(error, message), rule)
    return Refusal(Result.refused(outcome, error, message), rule)


def _rejected(rule: str, rejected: Rejected) -> Refusal:
    return Refusal(Result.refused(rejected.outcome, rejected.error, rejected.reason), rule)


def _no_snapshot(name: str) -> Refusal:
    return _refuse(
        "name", Outcome.INVALID, _NO_SNAPSHOT, f"no domain snapshot with matching name '{name}'"
    )


def prepare(view: View, op: Op, profile: Profile) -> Plan | Refusal:
    """The plan for ``op`` on what ``view`` shows, or the refusal libvirt gives for it."""
    if isinstance(op, DefineDomain):
        return _prepare_define(view, op)
    domain = view.domain(op.domain)
    if domain is None:
        return _refuse(
            "domain", Outcome.INVALID, "VIR_ERR_NO_DOMAIN", f"no domain with name '{op.domain}'"
        )
    match op:
        case StartDomain() | PauseDomain() | ResumeDomain() | DestroyDomain():
            return _prepare_lifecycle(domain, op)
        case WriteData():
            return _prepare_write(domain, op)
        case WriteMemory():
            return _prepare_write_memory(domain, op)
        case ListSnapshots():
            return AnswerPlan(tuple(sorted(domain.snapshots)))
        case CurrentSnapshot():
            if domain.current is None:
                return _refuse(
                    "current",
                    Outcome.INVALID,
                    _NO_SNAPSHOT,
                    f"the domain '{op.domain}' does not have a current snapshot",
                )
            return AnswerPlan(domain.current)
        case DumpSnapshotXML():
            snapshot = domain.snapshots.get(op.name)
            if snapshot is None:
                return _no_snapshot(op.name)
            return AnswerPlan(format_snapshot(snapshot_definition(snapshot)))
        case CreateSnapshot():
            return _prepare_create(view, domain, op, profile)
        case RevertSnapshot():
            return _prepare_revert(view, domain, op, profile)
        case DeleteSnapshot():
            return _prepare_delete(view, domain, op, profile)
        case _:
            assert_never(op)


# --- domains ------------------------------------------------------------------------------


def _prepare_write_memory(domain: Domain, op: WriteMemory) -> WriteMemoryPlan | Refusal:
    problem = write_problem(op.block, op.pattern)
    if problem is not None:
        return _refuse("range", Outcome.INVALID, "VIR_ERR_INVALID_ARG", problem)
    if not domain.state.active:
        return _refuse("state", Outcome.INVALID, _INVALID_OP, "domain is not running")
    return WriteMemoryPlan(domain.spec.name, op.block, op.pattern)


def _prepare_define(view: View, op: DefineDomain) -> DefinePlan | Refusal:
    spec = op.domain
    if view.domain(spec.name) is not None:
        return _refuse(
            "define", Outcome.FAILED, _FAILED, f"domain '{spec.name}' already exists"
        )
    for disk in spec.disks:
        if view.exists(disk.source):
            return _refuse(
                "define", Outcome.FAILED, _FAILED, f"image {disk.source} already exists"
            )
    return DefinePlan(spec)


def _prepare_lifecycle(
    domain: Domain, op: StartDomain | PauseDomain | ResumeDomain | DestroyDomain
) -> LifecyclePlan | Refusal:
    state = domain.state
    name = domain.spec.name
    match op:
        case StartDomain():
            if state.active:
                return _refuse("state", Outcome.INVALID, _INVALID_OP, "domain is already running")
            after = DomainState.PAUSED if op.paused else DomainState.RUNNING
        case ResumeDomain() if state is DomainState.RUNNING:
            return _refuse("state", Outcome.INVALID, _INVALID_OP, "domain is already running")
        case _ if not state.active:
            return _refuse("state", Outcome.INVALID, _INVALID_OP, "domain is not running")
        case PauseDomain():
            after = DomainState.PAUSED
        case ResumeDomain():
            after = DomainState.RUNNING
        case DestroyDomain():
            after = DomainState.SHUTOFF
    return LifecyclePlan(name, state, after)


def _prepare_write(domain: Domain, op: WriteData) -> WritePlan | Refusal:
    path = domain.active.get(op.disk)
    if path is None:
        return _refuse("disk", Outcome.INVALID, "VIR_ERR_INVALID_ARG", f"no disk '{op.disk}'")
    if not 0 <= op.block < DISK_BLOCKS or not 1 <= op.pattern <= MAX_PATTERN:
        return _refuse(
            "range",
            Outcome.INVALID,
            "VIR_ERR_INVALID_ARG",
            f"block {op.block} (0..{DISK_BLOCKS - 1}) or pattern {op.pattern} "
            f"(1..{MAX_PATTERN}) out of range",
        )
    return WritePlan(domain.spec.name, op.disk, path, op.block, op.pattern)


# --- create -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _parse(xml: str, redefine: bool, validate: bool) -> SnapshotDefinition:
    # pure, and its value frozen: the model and a driver ask for the same requests again and again
    return parse_snapshot(xml, redefine=redefine, validate=validate)


def read_request(flags: CreateFlag, xml: str) -> SnapshotDefinition | Refusal:
    """A create request's flags checked and its XML parsed, or the refusal (libvirt's order)."""
    refusal = check_create_flags(flags)
    if refusal is not None:
        return _rejected("flags", refusal)
    try:
        return _parse(xml, bool(flags & CreateFlag.REDEFINE), bool(flags & CreateFlag.VALIDATE))
    except SnapshotXMLError as err:
        return _refuse("xml", outcome_for_code(err.error), err.error, str(err))


def redefined_record(
    snapshots: Mapping[str, Snapshot],
    definition: SnapshotDefinition,
    clock: int,
    sources: Mapping[str, str],
) -> Snapshot | Refusal:
    """The record a REDEFINE leaves (an update of an existing one, or a new one), or a refusal."""
    name = definition.name
    if name is None:
        return _refuse(
            "redefine", Outcome.INVALID, "VIR_ERR_XML_ERROR", "a redefined snapshot must have a name"
        )
    if definition.state is None:
        return _refuse(
            "redefine", Outcome.INVALID, "VIR_ERR_XML_ERROR", "missing state from existing snapshot"
        )
    parent = definition.parent
    if parent is not None and (parent == name or parent not in snapshots):
        return _refuse(
            "redefine",
            Outcome.INVALID,
            "VIR_ERR_INVALID_ARG",
            f"parent '{parent}' of '{name}' not found",
        )
    existing = snapshots.get(name)
    if existing is not None:
        return attrs.evolve(existing, description=definition.description)
    return Snapshot(
        name=name,
        parent=parent,
        state=definition.state,
        memory=definition.memory_mode or MemoryMode.NO,
        memory_file=definition.memory.file if definition.memory else None,
        disks=tuple(
            SnapshotDisk(d.name, d.snapshot, None, d.source_file)
            for d in definition.disks or ()
            if d.snapshot is not None
        ),
        creation_time=definition.creation_time or clock,
        description=definition.description,
        sources=tuple(sorted(sources.items())),
        taken=False,
    )


def plan_disks(
    view: View,
    domain: DomainSpec,
    active_images: Mapping[str, str],
    definition: SnapshotDefinition,
    modes: tuple[tuple[str, DiskMode], ...],
    flags: CreateFlag,
    name: str,
    online: bool = False,
) -> tuple[SnapshotDisk, ...] | Refusal:
    """The per-disk plan of a create (with overlay paths), or the refusal a disk earns.

    ``online``: the domain runs or is paused. There a REUSE_EXT overlay that is the disk's active
    image is no refusal of its own: QEMU fails to open it after the name is checked (see the
    ``lock`` rule), as libvirt 9.0 and 11.3 do."""
    requested = {d.name: d for d in definition.disks or ()}
    by_target = {d.target: d for d in domain.disks}
    plan: list[SnapshotDisk] = []
    overlays: set[str] = set()
    for target, mode in modes:
        active = active_images[target]
        request = requested.get(target) or requested.get(by_target[target].source)
        if mode is DiskMode.INTERNAL:
            image_format = view.format_of(active)
            if image_format != "qcow2":
                return _refuse(
                    "disk",
                    Outcome.UNSUPPORTED,
                    _CONFIG,
                    f"internal snapshot for disk {target} unsupported for storage type "
                    f"{image_format}",
                )
            plan.append(SnapshotDisk(target, mode))
            continue
        if mode is DiskMode.NO:
            plan.append(SnapshotDisk(target, mode))
            continue
        driver = request.driver_type if request else None
        if driver not in (None, "qcow2"):
            return _refuse(
                "disk",
                Outcome.UNSUPPORTED,
                _CONFIG,
                f"external snapshot format for disk {target} is unsupported: {driver}",
            )
        overlay = (request.source_file if request else None) or default_overlay(active, name)
        present = view.exists(overlay)
        reused_active = overlay == active and online and bool(flags & CreateFlag.REUSE_EXT)
        if overlay in overlays or (overlay == active and not reused_active):
            return _refuse(
                "disk", Outcome.UNSUPPORTED, _CONFIG, f"overlay {overlay} for disk {target} is in use"
            )
        if present and not flags & CreateFlag.REUSE_EXT:
            return _refuse(
                "disk",
                Outcome.UNSUPPORTED,
                _CONFIG,
                f"external snapshot file for disk {target} already exists: {overlay}",
            )
        if not present and flags & CreateFlag.REUSE_EXT:
            # a failed stat(), reported with its errno by libvirt 9.0 and 11.3 alike
            return _refuse(
                "disk",
                Outcome.FAILED,
                "VIR_ERR_SYSTEM_ERROR",
                f"missing existing file for disk {target}: {overlay}: No such file or directory",
            )
        overlays.add(overlay)
        plan.append(SnapshotDisk(target, mode, active, overlay))
    return tuple(plan)


def _prepare_create(
    view: View, domain: Domain, op: CreateSnapshot, profile: Profile
) -> TakePlan | RedefinePlan | Refusal:
    flags = op.flags
    definition = read_request(flags, op.xml)
    if isinstance(definition, Refusal):
        return definition
    if flags & CreateFlag.REDEFINE:
        record = redefined_record(domain.snapshots, definition, view.clock, domain.active)
        if isinstance(record, Refusal):
            return record
        current = bool(flags & CreateFlag.CURRENT)
        return RedefinePlan(domain.spec.name, record, current,
                            released_current(domain) if current else None)
    state = domain.state
    refused_cell = memory_rejection(profile, state, definition, flags, parse_only=True)
    if refused_cell is not None:
        verdict = profile.verdict(refused_cell)
        assert isinstance(verdict, Rejected)
        # the whole row refuses it: the cell is the one its disks name
        named = cell_of(profile, state, definition, flags, domain.spec.disks)
        reached = named if isinstance(named, Cell) else refused_cell
        return attrs.evolve(_rejected("table", verdict), cell=reached, by_table=True)
    live = check_live(flags, state, definition.memory_mode is MemoryMode.EXTERNAL)
    if live is not None:
        return _rejected("live", live)
    decision = decide(profile, state, definition, flags, domain.spec.disks)
    name = definition.name or str(view.clock)
    if isinstance(decision.verdict, Rejected):
        if decision.resolved:  # libvirt checks each disk (its files, its format) in turn
            per_disk = plan_disks(view, domain.spec, domain.active, definition,
                                  decision.resolved, flags, name, state.active)
            if isinstance(per_disk, Refusal):
                return attrs.evolve(per_disk, cell=decision.cell)
        by_table = decision.cell is not None and decision.verdict == profile.verdict(decision.cell)
        refusal = _rejected("table" if by_table else "disks", decision.verdict)
        return attrs.evolve(refusal, cell=decision.cell, by_table=by_table)
    accepted: Accepted = decision.verdict
    cell = decision.cell
    disks = plan_disks(
        view, domain.spec, domain.active, definition, decision.disks, flags, name, state.active
    )
    if isinstance(disks, Refusal):
        return attrs.evolve(disks, cell=cell)
    if name in domain.snapshots and not flags & CreateFlag.NO_METADATA:
        # the name is checked as the record is added, and NO_METADATA adds none (measured on
        # 9.0 and 11.3: a NO_METADATA snapshot may take an existing snapshot's name)
        refusal = _refuse(
            "name", Outcome.FAILED, _FAILED, f"domain moment {name} already exists"
        )
        return attrs.evolve(refusal, cell=cell)
    # the freeze comes last, once the disks and the name passed (libvirt 9.0: a missing
    # REUSE_EXT overlay is reported first)
    if flags & CreateFlag.QUIESCE and state.active:  # offline there is nothing to freeze
        # qemuDomainAgentAvailable: a guest agent answers only while the domain runs
        if state is DomainState.PAUSED:
            refusal = _refuse("quiesce", Outcome.INVALID, _INVALID_OP, "domain is not running")
        else:
            refusal = _refuse(
                "quiesce",
                Outcome.UNSUPPORTED,
                "VIR_ERR_ARGUMENT_UNSUPPORTED",
                "QEMU guest agent is not configured",
            )
        return attrs.evolve(refusal, cell=cell)
    if Mechanism.SNAPSHOT_SAVE in accepted.mechanisms and any(
        disk.mode is DiskMode.INTERNAL and view.has_tag(domain.active[disk.target], name)
        for disk in disks
    ):
        refusal = _refuse(
            "tag", Outcome.FAILED, _FAILED,
            f"snapshot-save job failed: Snapshot '{name}' already exists in one or more devices",
        )
        return attrs.evolve(refusal, cell=cell)
    if state.active and flags & CreateFlag.REUSE_EXT:
        # QEMU opens a reused overlay for writing; one it already holds in a disk's chain (a
        # backing image) cannot be: measured on libvirt 9.0 and 11.3 alike
        held = {image for path in domain.active.values() for image in view.chain(path)}
        if any(disk.mode is DiskMode.EXTERNAL and disk.overlay in held for disk in disks):
            refusal = _refuse(
                "lock", Outcome.FAILED, "VIR_ERR_INTERNAL_ERROR",
                "internal error: unable to execute QEMU command 'blockdev-add': "
                'Failed to get "write" lock',
            )
            return attrs.evolve(refusal, cell=cell)
    memory_file = None
    if definition.memory is not None and accepted.memory is MemoryMode.EXTERNAL:
        memory_file = definition.memory.file
    snapshot_state = decision.state or SnapshotState.SHUTOFF
    new_record = None
    if not flags & CreateFlag.NO_METADATA:
        new_record = Snapshot(
            name=name,
            parent=domain.current,
            state=snapshot_state,
            memory=accepted.memory,
            memory_file=memory_file,
            disks=disks,
            creation_time=view.clock,
            description=definition.description,
            sources=tuple(sorted(domain.active.items())),
        )
    return TakePlan(
        domain=domain.spec.name,
        name=name,
        cell=cell,
        verdict=accepted,
        state=snapshot_state,
        disks=disks,
        memory_file=memory_file,
        online=state.active,
        halt=bool(flags & CreateFlag.HALT),
        live=bool(flags & CreateFlag.LIVE),
        record=new_record,
        released=released_current(domain) if new_record is not None else None,
    )


def released_current(domain: Domain) -> Snapshot | None:
    """The current snapshot's record without its revert overlays, when it has some; else None.

    A snapshot taken with metadata (or redefined as the current one) makes the overlays a revert
    put the disks on part of the new snapshot's chain, so the snapshot reverted to no longer
    names them: libvirt 11.3's ``qemuSnapshotClearRevertdisks``, measured there. Were they kept,
    a later delete of a child would make them the snapshot's own disks, and a revert to it would
    then remove images that other snapshots are taken on.
    """
    current = domain.snapshots.get(domain.current or "")
    if current is None or current.revert_overlays is None:
        return None
    return attrs.evolve(current, revert_overlays=None)


# --- revert -------------------------------------------------------------------------------


def revert_target_state(snapshot: Snapshot, flags: RevertFlag) -> DomainState:
    """The domain state after a revert: RUNNING/PAUSED flags, else the snapshot's state."""
    if flags & RevertFlag.RUNNING:
        return DomainState.RUNNING
    if flags & RevertFlag.PAUSED:
        return DomainState.PAUSED
    if snapshot.state is SnapshotState.RUNNING:
        return DomainState.RUNNING
    if snapshot.state is SnapshotState.PAUSED:
        return DomainState.PAUSED
    return DomainState.SHUTOFF


def _revert_refusal(snapshot: Snapshot, profile: Profile, view: View) -> Refusal | None:
    """Why a revert to ``snapshot`` is refused before anything runs, or ``None``."""
    caps = profile.capabilities
    if snapshot.external and not caps.revert_external:
        return _refuse(
            "profile", Outcome.UNSUPPORTED, _CONFIG, "revert to external snapshot not supported yet"
        )
    if not snapshot.external and not caps.revert_internal:
        return _refuse(
            "profile", Outcome.UNSUPPORTED, _CONFIG, "revert to internal snapshot not supported"
        )
    if snapshot.state is SnapshotState.DISK_SNAPSHOT and not caps.revert_disk_only:
        return _refuse(
            "profile",
            Outcome.UNSUPPORTED,
            _CONFIG,
            "revert to a disk-only snapshot is not supported",
        )
    if snapshot.memory is MemoryMode.EXTERNAL and (
        snapshot.memory_file is None or not view.exists(snapshot.memory_file)
    ):
        return _refuse(
            "files", Outcome.FAILED, _FAILED, f"memory state file of '{snapshot.name}' is missing"
        )
    return None


def revert_sources(active: Mapping[str, str], snapshot: Snapshot) -> dict[str, str]:
    """The disk images after a revert: each disk back on its image when the snapshot was taken
    (libvirt restores the snapshot's domain definition)."""
    images = dict(active)
    images.update((target, path) for target, path in snapshot.sources if target in images)
    return images


def _prepare_revert(
    view: View, domain: Domain, op: RevertSnapshot, profile: Profile
) -> RevertPlan | Refusal:
    snapshot = domain.snapshots.get(op.name)
    if snapshot is None:
        return _no_snapshot(op.name)
    # the API looks the snapshot up before it looks at the flags
    refusal = check_revert_flags(op.flags)
    if refusal is not None:
        return _rejected("flags", refusal)
    problem = _revert_refusal(snapshot, profile, view)
    if problem is not None:
        return problem
    images = revert_sources(domain.active, snapshot)
    for path in sorted(images.values()):
        if not view.exists(path):
            return _refuse(
                "files", Outcome.FAILED, _FAILED, f"the disk image {path} of '{snapshot.name}' is gone"
            )
    target = revert_target_state(snapshot, op.flags)
    if snapshot.external and profile.capabilities.revert_overlay == "by-second":
        return _revert_by_second(view, domain, snapshot, target, images)
    internal = []
    overlays: list[Overlay] = []
    planned: set[str] = set()
    for disk in snapshot.disks:
        if disk.mode is DiskMode.INTERNAL:
            path = images[disk.target]
            if not view.has_tag(path, snapshot.name):
                return _refuse(
                    "files", Outcome.FAILED, _FAILED, f"snapshot '{snapshot.name}' not found in {path}"
                )
            internal.append((disk.target, path))
        elif disk.mode is DiskMode.EXTERNAL and disk.frozen is not None:
            path = revert_overlay(disk.frozen, lambda p: view.exists(p) or p in planned)
            planned.add(path)
            overlays.append(Overlay(disk.target, disk.frozen, path))
    return RevertPlan(
        domain=domain.spec.name,
        snapshot=snapshot,
        target=target,
        images=images,
        internal=tuple(internal),
        overlays=tuple(overlays),
    )


def _revert_by_second(
    view: View, domain: Domain, snapshot: Snapshot, target: DomainState, images: dict[str, str]
) -> RevertPlan | Refusal:
    """A revert to an external snapshot as libvirt 11.3 does it (:mod:`.revert_by_second`)."""
    targets = [disk.target for disk in domain.spec.disks if disk.target in images]
    names = revert_overlay_names(images, targets, SECOND_BASE + view.clock)
    collision = overlay_collision(names, view.exists)
    if collision is not None:
        return Refusal(collision, "files")
    records, removed = finish_revert(
        domain.snapshots, domain.current, snapshot.name, names, images
    )
    problem = _removal_refusal(view, records, removed, snapshot.name, domain.current)
    if problem is not None:
        return problem
    return RevertPlan(
        domain=domain.spec.name,
        snapshot=snapshot,
        target=target,
        images=images,
        internal=(),
        overlays=tuple(Overlay(t, images[t], path) for t, path in names.items()),
        removed=tuple(removed),
        records=records,
        ticks=True,
    )


def _removal_refusal(
    view: View, records: Mapping[str, Snapshot], removed: Sequence[str], name: str,
    current: str | None,
) -> Refusal | None:
    """libvirt 11.3 removes the overlays of the snapshot a revert leaves (its revert overlays,
    else its own) whatever else is taken on them: the current snapshot can be one whose child
    was made on its overlay (it became current again when a later child was deleted, metadata
    only), and that child's data is then lost (measured). The model refuses such a revert."""
    users: dict[str, str] = {}
    for record in sorted(records.values(), key=lambda r: r.name):
        sources = dict(record.sources)
        for disk in record.disks:
            path = disk.frozen if disk.mode is DiskMode.EXTERNAL else sources.get(disk.target)
            if disk.mode is DiskMode.NO or path is None or not view.exists(path):
                continue
            for image in view.chain(path):
                users.setdefault(image, record.name)
    for path in removed:
        if path in users:
            return _refuse(
                "keeps-data", Outcome.UNSUPPORTED, "VIR_ERR_OPERATION_UNSUPPORTED",
                f"reverting to '{name}' would remove image {path} (the overlays of the current "
                f"snapshot '{current}'), but snapshot '{users[path]}' is taken on it",
            )
    return None


# --- delete -------------------------------------------------------------------------------


def delete_victims(domain: Domain, name: str, flags: DeleteFlag) -> list[str]:
    """The snapshots a delete removes, children before parents."""
    victims = []
    if flags & (DeleteFlag.CHILDREN | DeleteFlag.CHILDREN_ONLY):
        victims = list(reversed(domain.descendants(name)))
    if not flags & DeleteFlag.CHILDREN_ONLY:
        victims.append(name)
    return victims


def _external_delete_refusal(
    view: View, domain: Domain, snapshot: Snapshot, flags: DeleteFlag, profile: Profile
) -> Refusal | None:
    if not profile.capabilities.delete_external:
        return _refuse(
            "profile",
            Outcome.UNSUPPORTED,
            _CONFIG,
            "deletion of external disk snapshots not supported yet",
        )
    if flags & (DeleteFlag.CHILDREN | DeleteFlag.CHILDREN_ONLY):
        return _refuse(
            "flags",
            Outcome.UNSUPPORTED,
            _CONFIG,
            "deletion of external snapshots with CHILDREN is not supported",
        )
    if profile.capabilities.delete_external_non_leaf:
        return _non_leaf_delete_refusal(view, domain, snapshot, profile)
    # measured on libvirt 9.0: a non-leaf one, or one whose overlay is not in use, fails to find
    # its images (the model refuses every non-leaf one: deleting it would lose its children's data)
    unreachable = domain.children(snapshot.name) or any(
        disk.mode is DiskMode.EXTERNAL and domain.active.get(disk.target) != disk.overlay
        for disk in snapshot.disks
    )
    if unreachable:
        return _refuse(
            "chain",
            Outcome.INVALID,
            "VIR_ERR_INVALID_ARG",
            "could not find base disk source in disk source chain",
        )
    return _internal_parent_refusal(domain, snapshot)


def _internal_parent_refusal(domain: Domain, snapshot: Snapshot) -> Refusal | None:
    parent = domain.snapshots.get(snapshot.parent) if snapshot.parent else None
    if parent is not None and not parent.external:
        return _refuse(
            "chain",
            Outcome.UNSUPPORTED,
            "VIR_ERR_OPERATION_UNSUPPORTED",
            "deleting external snapshot that has internal snapshot as parent not supported",
        )
    return None


def is_ancestor(domain: Domain, name: str, of: str | None) -> bool:
    """Whether snapshot ``name`` is above snapshot ``of`` in the tree."""
    seen = set()
    while of is not None and of not in seen:
        seen.add(of)
        record = domain.snapshots.get(of)
        of = record.parent if record is not None else None
        if of == name:
            return True
    return False


def _non_leaf_delete_refusal(
    view: View, domain: Domain, snapshot: Snapshot, profile: Profile
) -> Refusal | None:
    """libvirt 11.3's rules (``qemuSnapshotDeleteValidate``, ``...ExternalPrepareData``), in its
    order, then the model's own: nothing a remaining snapshot needs may be lost."""
    name, current = snapshot.name, domain.current
    children = domain.children(name)
    if children and name == current:
        return _refuse("tree", Outcome.UNSUPPORTED, _CONFIG, "deletion of active external "
                       "snapshot that is not a leaf snapshot is not supported")
    if children and not is_ancestor(domain, name, current):
        return _refuse("tree", Outcome.UNSUPPORTED, _CONFIG, "deletion of non-leaf external "
                       "snapshot that is not in active chain is not supported")
    if len(children) > 1:
        return _refuse("tree", Outcome.UNSUPPORTED, _CONFIG, "deletion of external disk snapshot "
                       "with multiple children snapshots not supported")
    if name != current and not children:
        return _unlink_refusal(view, domain, snapshot)
    child = domain.snapshots[children[0]] if children else None
    for disk in snapshot.disks:
        if disk.mode is not DiskMode.EXTERNAL:
            continue
        problem = _merge_refusal(view, domain, snapshot, disk, child, profile)
        if problem is not None:
            return problem
    return None


def _merge_refusal(
    view: View,
    domain: Domain,
    snapshot: Snapshot,
    disk: SnapshotDisk,
    child: Snapshot | None,
    profile: Profile,
) -> Refusal | None:
    """Why one disk's overlay cannot be committed into its frozen image, or ``None``."""
    chain = view.chain(domain.active[disk.target])
    searched = chain
    if not domain.state.active and not profile.capabilities.delete_external_offline_chain:
        searched = chain[:1]  # libvirt 9.0 knows only a shut-off domain's active image
    if disk.overlay not in searched:
        return _refuse("chain", Outcome.INVALID, "VIR_ERR_INVALID_ARG",
                       "could not find base disk source in disk source chain")
    above, below = _neighbours(chain, disk.overlay)
    # measured on 11.3: the image on the overlay must be the child's (an overlay left by a
    # snapshot deleted METADATA_ONLY fails the same check as a wrong image below)
    expected_above = _overlay_of(child, disk.target) if child is not None else None
    if below is None or below != disk.frozen or above != expected_above:
        return _refuse("chain", Outcome.FAILED, _FAILED,
                       "snapshot VM disk source and parent disk source are not the same")
    problem = _internal_parent_refusal(domain, snapshot)
    if problem is not None:
        return problem
    for other in sorted(domain.snapshots):
        if other != snapshot.name and view.has_tag(disk.overlay, other):
            # libvirt 11.3 merges the overlay away with the tag in it (a finding)
            return _refuse(
                "keeps-data", Outcome.UNSUPPORTED, "VIR_ERR_OPERATION_UNSUPPORTED",
                f"deleting external snapshot '{snapshot.name}' would merge away its overlay "
                f"of disk {disk.target}, which holds internal snapshot '{other}'",
            )
    return None


def _neighbours(chain: Sequence[str], image: str) -> tuple[str | None, str | None]:
    """The images above and below ``image`` in a chain (top first), ``None`` at either end."""
    index = chain.index(image)
    return (chain[index - 1] if index > 0 else None,
            chain[index + 1] if index + 1 < len(chain) else None)


def _overlay_of(snapshot: Snapshot, target: str) -> str | None:
    for disk in snapshot.disks:
        if disk.target == target and disk.mode is DiskMode.EXTERNAL:
            return disk.overlay
    return None


def _unlink_refusal(view: View, domain: Domain, snapshot: Snapshot) -> Refusal | None:
    """A leaf external snapshot that is not the current one: libvirt 11.3 unlinks the images it
    froze (nothing was written on them since). The model refuses when one is still needed: a
    disk's chain runs through it, or it holds another snapshot's internal snapshot."""
    for disk in snapshot.disks:
        if disk.mode is not DiskMode.EXTERNAL or disk.frozen is None:
            continue
        users = [t for t, path in sorted(domain.active.items()) if disk.frozen in view.chain(path)]
        tagged = [n for n in sorted(domain.snapshots) if n != snapshot.name
                  and view.exists(disk.frozen) and view.has_tag(disk.frozen, n)]
        if users or tagged:
            needed = (f"disk {users[0]} runs on it" if users
                      else f"it holds internal snapshot '{tagged[0]}'")
            return _refuse(
                "keeps-data", Outcome.UNSUPPORTED, "VIR_ERR_OPERATION_UNSUPPORTED",
                f"deleting external snapshot '{snapshot.name}' would remove image "
                f"{disk.frozen}, but {needed}",
            )
    return None


def _delete_refusal(
    view: View, domain: Domain, victims: Sequence[str], flags: DeleteFlag, profile: Profile
) -> Refusal | None:
    """Why deleting ``victims`` (not metadata only) is refused, or ``None``."""
    for name in victims:
        victim = domain.snapshots[name]
        if victim.external:
            problem = _external_delete_refusal(view, domain, victim, flags, profile)
            if problem is not None:
                return problem
        elif not profile.capabilities.delete_internal:
            return _refuse(
                "profile", Outcome.UNSUPPORTED, _CONFIG, "deletion of internal snapshots not supported"
            )
        elif domain.state.active:
            # delvm reaches only the images in use: libvirt 9.0 refuses when they moved on
            sources = dict(victim.sources)
            for disk in victim.disks:
                taken_on = sources.get(disk.target)
                moved = taken_on is not None and taken_on != domain.active.get(disk.target)
                if disk.mode is DiskMode.INTERNAL and moved:
                    return _refuse(
                        "chain",
                        Outcome.UNSUPPORTED,
                        "VIR_ERR_OPERATION_UNSUPPORTED",
                        f"disk image '{disk.target}' for internal snapshot '{name}' is not the "
                        "same as disk image currently used by VM",
                    )
    return None


def discard_images(domain: Domain, snapshot: Snapshot) -> dict[str, str]:
    """Where deleting an internal snapshot looks for its tags: the active images of a running
    domain (``delvm``), else the images it was taken on (libvirt's ``qemu-img snapshot -d`` on
    the snapshot's domain definition)."""
    if domain.state.active:
        return dict(domain.active)
    return revert_sources(domain.active, snapshot)


def _discard(view: View, domain: Domain, snapshot: Snapshot, profile: Profile) -> Discard:
    images = discard_images(domain, snapshot)
    tagged = tuple(
        images[disk.target]
        for disk in snapshot.disks
        if disk.mode is DiskMode.INTERNAL
        and view.exists(images[disk.target])
        and view.has_tag(images[disk.target], snapshot.name)
    )
    external = [
        (d.target, d.overlay, d.frozen)
        for d in snapshot.disks
        if d.mode is DiskMode.EXTERNAL and d.frozen is not None
    ]
    memory_file = snapshot.memory_file if snapshot.memory is MemoryMode.EXTERNAL else None
    if not profile.capabilities.delete_external_non_leaf:
        commits = tuple(Commit(t, domain.active[t], frozen) for t, _, frozen in external)
        return Discard(snapshot.name, tagged, commits, memory_file)
    if snapshot.name != domain.current and not domain.children(snapshot.name):
        return Discard(snapshot.name, tagged, (), memory_file, tuple(f for _, _, f in external))
    merges = []
    for target, overlay, frozen in external:
        assert overlay is not None  # the refusal checked it is in the chain
        above, _ = _neighbours(view.chain(domain.active[target]), overlay)
        merges.append(Commit(target, overlay, frozen, above))
    return Discard(snapshot.name, tagged, tuple(merges), memory_file)


def _records_after_delete(
    domain: Domain, victims: Sequence[str], discards: Sequence[Discard]
) -> dict[str, Snapshot]:
    """The snapshot records once the discards are done (libvirt 11.3's
    ``qemuSnapshotDiscardMetadata``): a merged overlay's images are replaced by the image it was
    merged into in the records that named them, and a victim's parent whose disks a revert put on
    new overlays (its revert overlays) now names those as its disks."""
    records = dict(domain.snapshots)
    for discard in discards:
        for commit in discard.commits:
            for name, record in list(records.items()):
                if name == discard.name:
                    continue
                disks = tuple(
                    attrs.evolve(d, frozen=commit.frozen)
                    if d.target == commit.target and d.frozen == commit.overlay else d
                    for d in record.disks
                )
                sources = tuple(
                    (t, commit.frozen if t == commit.target and p == commit.overlay else p)
                    for t, p in record.sources
                )
                if disks != record.disks or sources != record.sources:
                    records[name] = attrs.evolve(record, disks=disks, sources=sources)
    for name in victims:
        parent = records.get(records[name].parent or "")
        if parent is not None and parent.revert_overlays is not None:
            taken_on = dict(parent.sources)
            disks = tuple(
                SnapshotDisk(target, DiskMode.EXTERNAL, taken_on.get(target), path)
                for target, path in parent.revert_overlays
            )
            records[parent.name] = attrs.evolve(parent, disks=disks, revert_overlays=None)
    return records


def _prepare_delete(
    view: View, domain: Domain, op: DeleteSnapshot, profile: Profile
) -> DeletePlan | Refusal:
    if op.name not in domain.snapshots:
        return _no_snapshot(op.name)
    # the API looks the snapshot up before it looks at the flags
    refusal = check_delete_flags(op.flags)
    if refusal is not None:
        return _rejected("flags", refusal)
    victims = tuple(delete_victims(domain, op.name, op.flags))
    if op.flags & DeleteFlag.METADATA_ONLY:
        return DeletePlan(domain.spec.name, victims, (), _records_after_delete(domain, victims, ()))
    problem = _delete_refusal(view, domain, victims, op.flags, profile)
    if problem is not None:
        return problem
    discards = tuple(_discard(view, domain, domain.snapshots[name], profile) for name in victims)
    return DeletePlan(
        domain.spec.name, victims, discards, _records_after_delete(domain, victims, discards)
    )


def forget(domain: Domain, victims: Collection[str]) -> Domain:
    """Drop snapshot records, re-parenting children and moving current up the tree."""
    snapshots = dict(domain.snapshots)
    current = domain.current
    for name in victims:
        gone = snapshots.pop(name)
        for child, record in list(snapshots.items()):
            if record.parent == name:
                snapshots[child] = attrs.evolve(record, parent=gone.parent)
        if current == name:
            current = gone.parent
    return attrs.evolve(domain, snapshots=snapshots, current=current)


# --- dump ---------------------------------------------------------------------------------


def snapshot_definition(snapshot: Snapshot) -> SnapshotDefinition:
    """The ``<domainsnapshot>`` a driver reports for a snapshot (without ``<domain>``)."""
    disks = []
    for disk in snapshot.disks:
        external = disk.mode is DiskMode.EXTERNAL
        disks.append(
            DiskRequest(
                name=disk.target,
                snapshot=disk.mode,
                type="file" if external else None,
                source_file=disk.overlay if external else None,
                driver_type="qcow2" if external else None,
            )
        )
    return SnapshotDefinition(
        name=snapshot.name,
        description=snapshot.description,
        state=snapshot.state,
        parent=snapshot.parent,
        creation_time=snapshot.creation_time,
        memory=MemorySpec(snapshot.memory, snapshot.memory_file),
        disks=tuple(disks),
    )

