"""Snapshot create, revert, delete and dump as pure transitions of the world.

Create is decided by the profile (:func:`snaporacle.model.decide.decide`), after the flag rules
and the XML parse; its effect follows the mechanisms of SPEC.md section 2:

- ``qemu-img`` offline: an internal tag in each internal disk's active image; a new qcow2 overlay
  (backed by the old active image) for each external disk.
- ``savevm``: a tag holding VM state in each internal disk's active image.
- ``migrate``: a memory image file; ``transaction``: overlays as for qemu-img, atomically.

Names snaporacle chooses where libvirt would: an external disk without ``<source>`` gets
``<active image without its extension>.<snapshot name>``; revert to an external snapshot (where
the profile supports it) puts a fresh overlay ``<frozen image>.revert<N>`` (first free N) on the
image the snapshot froze. Deleting an external snapshot (where supported) is allowed for a leaf
whose overlays are the active images and whose parent is not internal (libvirt's rules, measured
on 9.0): each overlay is committed into its backing image (``qemu-img commit`` offline, an active
``block-commit`` on a running domain) and removed.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Collection, Mapping, Sequence

import attrs

from ..errors import SnapshotXMLError
from .codes import outcome_for_code
from .decide import Decision, decide, memory_rejection
from .definition import DomainDisk, DomainSpec, MemorySpec, SnapshotDefinition
from .definition import SnapshotDisk as DiskRequest
from .flags import check_create_flags, check_delete_flags, check_live, check_revert_flags
from .memory import restored_ram
from .modes import (
    CreateFlag,
    DeleteFlag,
    DiskMode,
    DomainState,
    MemoryMode,
    Outcome,
    RevertFlag,
    SnapshotState,
)
from .ops import CreateSnapshot, DeleteSnapshot, DumpSnapshotXML, Result, RevertSnapshot
from .profile import Accepted, Profile, Rejected
from .snapshot_xml import format_snapshot, parse_snapshot
from .world import Domain, Image, MemoryImage, Snapshot, SnapshotDisk, Tag, World

_CONFIG = "VIR_ERR_CONFIG_UNSUPPORTED"
_FAILED = "VIR_ERR_OPERATION_FAILED"
_NO_SNAPSHOT = "VIR_ERR_NO_DOMAIN_SNAPSHOT"


def _refused(rejected: Rejected) -> Result:
    return Result.refused(rejected.outcome, rejected.error, rejected.reason)


def default_overlay(active: str, name: str) -> str:
    """libvirt's name for an external disk snapshot without ``<source>``."""
    directory, base = posixpath.split(active)
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return posixpath.join(directory, f"{stem}.{name}")


# --- create -------------------------------------------------------------------------------


def redefined_record(
    snapshots: Mapping[str, Snapshot],
    definition: SnapshotDefinition,
    clock: int,
    sources: Mapping[str, str],
) -> Snapshot | Result:
    """The record a REDEFINE leaves (an update of an existing one, or a new one), or a refusal."""
    name = definition.name
    if name is None:
        return Result.refused(
            Outcome.INVALID, "VIR_ERR_XML_ERROR", "a redefined snapshot must have a name"
        )
    if definition.state is None:
        return Result.refused(
            Outcome.INVALID, "VIR_ERR_XML_ERROR", "missing state from existing snapshot"
        )
    parent = definition.parent
    if parent is not None and (parent == name or parent not in snapshots):
        return Result.refused(
            Outcome.INVALID, "VIR_ERR_INVALID_ARG", f"parent '{parent}' of '{name}' not found"
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


def _redefine(
    world: World, domain: Domain, definition: SnapshotDefinition, flags: CreateFlag
) -> tuple[World, Result]:
    record = redefined_record(domain.snapshots, definition, world.clock, domain.active)
    if isinstance(record, Result):
        return world, record
    snapshots = dict(domain.snapshots)
    snapshots[record.name] = record
    current = record.name if flags & CreateFlag.CURRENT else domain.current
    domain = attrs.evolve(domain, snapshots=snapshots, current=current)
    return world.with_domain(domain), Result.ok(record.name)


def read_request(xml: str, flags: CreateFlag) -> SnapshotDefinition | Result:
    """A create request's flags checked and its XML parsed, or the refusal (libvirt's order)."""
    refusal = check_create_flags(flags)
    if refusal is not None:
        return _refused(refusal)
    try:
        return parse_snapshot(
            xml,
            redefine=bool(flags & CreateFlag.REDEFINE),
            validate=bool(flags & CreateFlag.VALIDATE),
        )
    except SnapshotXMLError as err:
        return Result.refused(outcome_for_code(err.error), err.error, str(err))


def check_new_name(name: str, existing: Collection[str]) -> Result | None:
    """A new snapshot's name must be free (checked by libvirt after the disks)."""
    if name in existing:
        return Result.refused(
            Outcome.FAILED, "VIR_ERR_OPERATION_FAILED", f"domain moment {name} already exists"
        )
    return None


def admit_create(
    profile: Profile,
    state: DomainState,
    definition: SnapshotDefinition,
    flags: CreateFlag,
    disks: Sequence[DomainDisk],
) -> Decision | Result:
    """The checks of a new snapshot after its XML is parsed, in libvirt's order.

    The parse-time memory check (:func:`memory_rejection`), then LIVE, then the table
    (:func:`decide`), then QUIESCE on an active domain (there is no guest agent; offline, libvirt
    ignores it). The disks (:func:`plan_disks`) and then the name (:func:`check_new_name`) come
    after, in that order. Returns the accepted
    decision or the refusal.
    """
    refused = memory_rejection(profile, state, definition, flags, parse_only=True)
    if refused is not None:
        return _refused(profile.verdict(refused))  # type: ignore[arg-type]
    refusal = check_live(flags, state, definition.memory_mode is MemoryMode.EXTERNAL)
    if refusal is not None:
        return _refused(refusal)
    decision = decide(profile, state, definition, flags, disks)
    if isinstance(decision.verdict, Rejected):
        return _refused(decision.verdict)
    if flags & CreateFlag.QUIESCE and state.active:  # offline there is nothing to freeze
        return Result.refused(
            Outcome.UNSUPPORTED, "VIR_ERR_ARGUMENT_UNSUPPORTED", "QEMU guest agent is not configured"
        )
    return decision


def memory_file_of(definition: SnapshotDefinition, verdict: Accepted) -> str | None:
    """The memory state file an accepted snapshot writes, if its memory is external."""
    if definition.memory is None or verdict.memory is not MemoryMode.EXTERNAL:
        return None
    return definition.memory.file


def plan_disks(
    domain: DomainSpec,
    active_images: Mapping[str, str],
    definition: SnapshotDefinition,
    modes: tuple[tuple[str, DiskMode], ...],
    flags: CreateFlag,
    name: str,
    format_of: Callable[[str], str],
    exists: Callable[[str], bool],
) -> list[SnapshotDisk] | Result:
    """The per-disk plan of a create (with overlay paths), or the refusal a disk earns.

    ``format_of`` and ``exists`` look at the images; the model passes its world's, a driver its
    backends'.
    """
    requested = {d.name: d for d in definition.disks or ()}
    by_target = {d.target: d for d in domain.disks}
    plan: list[SnapshotDisk] = []
    overlays: set[str] = set()
    for target, mode in modes:
        active = active_images[target]
        request = requested.get(target) or requested.get(by_target[target].source)
        if mode is DiskMode.INTERNAL:
            image_format = format_of(active)
            if image_format != "qcow2":
                return Result.refused(
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
            return Result.refused(
                Outcome.UNSUPPORTED,
                _CONFIG,
                f"external snapshot format for disk {target} is unsupported: {driver}",
            )
        overlay = (request.source_file if request else None) or default_overlay(active, name)
        present = exists(overlay)
        if overlay in overlays or overlay == active:
            return Result.refused(
                Outcome.UNSUPPORTED, _CONFIG, f"overlay {overlay} for disk {target} is in use"
            )
        if present and not flags & CreateFlag.REUSE_EXT:
            return Result.refused(
                Outcome.UNSUPPORTED,
                _CONFIG,
                f"external snapshot file for disk {target} already exists: {overlay}",
            )
        if not present and flags & CreateFlag.REUSE_EXT:
            return Result.refused(
                Outcome.UNSUPPORTED,
                _CONFIG,
                f"missing existing file for disk {target}: {overlay}",
            )
        overlays.add(overlay)
        plan.append(SnapshotDisk(target, mode, active, overlay))
    return plan


def _take(
    world: World, domain: Domain, plan: list[SnapshotDisk], name: str, vmstate: bool
) -> tuple[World, dict[str, str]]:
    """Carry out the disk part of a snapshot; returns the world and the new active images."""
    active = dict(domain.active)
    for disk in plan:
        path = active[disk.target]
        if disk.mode is DiskMode.INTERNAL:
            image = world.image(path)
            tag = Tag(blocks=dict(image.blocks), vmstate=vmstate, ram=domain.ram if vmstate else {})
            world = world.with_file(path, image.with_tag(name, tag, replace=vmstate))
        elif disk.mode is DiskMode.EXTERNAL and disk.overlay is not None:
            if disk.overlay not in world.files:
                world = world.with_file(disk.overlay, Image(format="qcow2", backing=path))
            active[disk.target] = disk.overlay
    return world, active


def create_snapshot(
    world: World, domain: Domain, op: CreateSnapshot, profile: Profile
) -> tuple[World, Result]:
    """``virDomainSnapshotCreateXML`` on the model."""
    flags = op.flags
    definition = read_request(op.xml, flags)
    if isinstance(definition, Result):
        return world, definition
    if flags & CreateFlag.REDEFINE:
        return _redefine(world, domain, definition, flags)
    name = definition.name or str(world.clock)
    decision = admit_create(profile, domain.state, definition, flags, domain.spec.disks)
    if isinstance(decision, Result):
        return world, decision
    verdict = decision.verdict
    assert isinstance(verdict, Accepted)
    plan = plan_disks(
        domain.spec,
        domain.active,
        definition,
        decision.disks,
        flags,
        name,
        lambda path: world.image(path).format,
        lambda path: path in world.files,
    )
    if isinstance(plan, Result):
        return world, plan
    taken = check_new_name(name, domain.snapshots)
    if taken is not None:
        return world, taken
    memory_file = memory_file_of(definition, verdict)
    if memory_file is not None:
        image = MemoryImage(domain.spec.name, tuple(sorted(domain.active.items())), domain.ram)
        world = world.with_file(memory_file, image)
    world, active = _take(world, domain, plan, name, verdict.memory is MemoryMode.INTERNAL)
    state = domain.state
    if flags & CreateFlag.HALT:
        state = DomainState.SHUTOFF
    snapshots = dict(domain.snapshots)
    current = domain.current
    if not flags & CreateFlag.NO_METADATA:
        snapshots[name] = Snapshot(
            name=name,
            parent=domain.current,
            state=decision.state or SnapshotState.SHUTOFF,
            memory=verdict.memory,
            memory_file=memory_file,
            disks=tuple(plan),
            creation_time=world.clock,
            description=definition.description,
            sources=tuple(sorted(domain.active.items())),
        )
        current = name
    domain = attrs.evolve(
        domain, state=state, active=active, snapshots=snapshots, current=current,
        ram=domain.ram if state.active else {},
    )
    world = attrs.evolve(world.with_domain(domain), clock=world.clock + 1)
    return world, Result.ok(name)


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


def revert_refusal(
    snapshot: Snapshot, profile: Profile, exists: Callable[[str], bool]
) -> Result | None:
    """Why a revert to ``snapshot`` is refused before anything runs, or ``None``."""
    caps = profile.capabilities
    if snapshot.external and not caps.revert_external:
        return Result.refused(
            Outcome.UNSUPPORTED, _CONFIG, "revert to external snapshot not supported yet"
        )
    if not snapshot.external and not caps.revert_internal:
        return Result.refused(
            Outcome.UNSUPPORTED, _CONFIG, "revert to internal snapshot not supported"
        )
    if snapshot.state is SnapshotState.DISK_SNAPSHOT:
        return Result.refused(
            Outcome.UNSUPPORTED, _CONFIG, "revert to a disk-only snapshot is not supported"
        )
    if snapshot.memory is MemoryMode.EXTERNAL and (
        snapshot.memory_file is None or not exists(snapshot.memory_file)
    ):
        return Result.refused(
            Outcome.FAILED, _FAILED, f"memory state file of '{snapshot.name}' is missing"
        )
    return None


def revert_sources(active: Mapping[str, str], snapshot: Snapshot) -> dict[str, str]:
    """The disk images after a revert: each disk back on its image when the snapshot was taken
    (libvirt restores the snapshot's domain definition)."""
    images = dict(active)
    images.update(
        (target, path) for target, path in snapshot.sources if target in images
    )
    return images


def discard_images(domain: Domain, snapshot: Snapshot) -> dict[str, str]:
    """Where deleting an internal snapshot looks for its tags: the active images of a running
    domain (``delvm``), else the images it was taken on (libvirt's ``qemu-img snapshot -d`` on
    the snapshot's domain definition)."""
    if domain.state.active:
        return dict(domain.active)
    images = dict(domain.active)
    images.update((target, path) for target, path in snapshot.sources if target in images)
    return images


def revert_overlay(frozen: str, exists: Callable[[str], bool]) -> str:
    """The fresh overlay a revert to an external snapshot puts on ``frozen``."""
    number = 1
    while exists(f"{frozen}.revert{number}"):
        number += 1
    return f"{frozen}.revert{number}"


def revert_snapshot(
    world: World, domain: Domain, op: RevertSnapshot, profile: Profile
) -> tuple[World, Result]:
    """``virDomainRevertToSnapshot`` on the model."""
    snapshot = domain.snapshots.get(op.name)
    if snapshot is None:
        return world, Result.refused(
            Outcome.INVALID, _NO_SNAPSHOT, f"no domain snapshot with matching name '{op.name}'"
        )
    # the API looks the snapshot up before it looks at the flags
    refusal = check_revert_flags(op.flags)
    if refusal is not None:
        return world, _refused(refusal)
    problem = revert_refusal(snapshot, profile, lambda path: path in world.files)
    if problem is not None:
        return world, problem
    original = world
    target = revert_target_state(snapshot, op.flags)
    active = revert_sources(domain.active, snapshot)
    missing = sorted(path for path in active.values() if path not in world.files)
    if missing:
        return world, Result.refused(
            Outcome.FAILED, _FAILED, f"the disk image {missing[0]} of '{snapshot.name}' is gone"
        )
    for disk in snapshot.disks:
        if disk.mode is DiskMode.INTERNAL:
            path = active[disk.target]
            image = world.image(path)
            tag = image.tag(snapshot.name)
            if tag is None:
                return original, Result.refused(
                    Outcome.FAILED, _FAILED, f"snapshot '{snapshot.name}' not found in {path}"
                )
            world = world.with_file(path, attrs.evolve(image, blocks=dict(tag.blocks)))
        elif disk.mode is DiskMode.EXTERNAL and disk.frozen is not None:
            overlay = revert_overlay(disk.frozen, world.files.__contains__)
            world = world.with_file(overlay, Image(format="qcow2", backing=disk.frozen))
            active[disk.target] = overlay
    ram = restored_ram(original, snapshot, active) if target.active else {}
    domain = attrs.evolve(domain, state=target, active=active, current=snapshot.name, ram=ram)
    return world.with_domain(domain), Result.ok()


# --- delete -------------------------------------------------------------------------------


def _check_external_delete(
    domain: Domain, snapshot: Snapshot, flags: DeleteFlag, profile: Profile
) -> Result | None:
    if not profile.capabilities.delete_external:
        return Result.refused(
            Outcome.UNSUPPORTED, _CONFIG, "deletion of external disk snapshots not supported yet"
        )
    if flags & (DeleteFlag.CHILDREN | DeleteFlag.CHILDREN_ONLY):
        return Result.refused(
            Outcome.UNSUPPORTED,
            _CONFIG,
            "deletion of external snapshots with CHILDREN is not supported",
        )
    # measured on libvirt 9.0: a non-leaf one, or one whose overlay is not in use, fails to find
    # its images (the model refuses every non-leaf one: deleting it would lose its children's data)
    unreachable = domain.children(snapshot.name) or any(
        disk.mode is DiskMode.EXTERNAL and domain.active.get(disk.target) != disk.overlay
        for disk in snapshot.disks
    )
    if unreachable:
        return Result.refused(
            Outcome.INVALID,
            "VIR_ERR_INVALID_ARG",
            "could not find base disk source in disk source chain",
        )
    parent = domain.snapshots.get(snapshot.parent) if snapshot.parent else None
    if parent is not None and not parent.external:
        return Result.refused(
            Outcome.UNSUPPORTED,
            "VIR_ERR_OPERATION_UNSUPPORTED",
            "deleting external snapshot that has internal snapshot as parent not supported",
        )
    return None


def _discard(world: World, domain: Domain, snapshot: Snapshot) -> tuple[World, Domain]:
    """Remove a snapshot's data from the images (not its metadata)."""
    active = dict(domain.active)
    tagged = discard_images(domain, snapshot)
    for disk in snapshot.disks:
        path = active[disk.target]
        if disk.mode is DiskMode.INTERNAL:
            image_path = tagged[disk.target]
            if image_path in world.files:
                image = world.image(image_path)
                world = world.with_file(image_path, image.without_tag(snapshot.name))
        elif disk.mode is DiskMode.EXTERNAL and disk.frozen is not None:
            overlay = world.image(path)
            base = world.image(disk.frozen)
            merged = {**base.blocks, **overlay.blocks}
            world = world.with_file(disk.frozen, attrs.evolve(base, blocks=merged))
            world = world.with_file(path, None)
            active[disk.target] = disk.frozen
    if snapshot.memory_file is not None and snapshot.memory is MemoryMode.EXTERNAL:
        world = world.with_file(snapshot.memory_file, None)
    return world, attrs.evolve(domain, active=active)


def delete_victims(domain: Domain, name: str, flags: DeleteFlag) -> list[str]:
    """The snapshots a delete removes, children before parents."""
    victims = []
    if flags & (DeleteFlag.CHILDREN | DeleteFlag.CHILDREN_ONLY):
        victims = list(reversed(domain.descendants(name)))
    if not flags & DeleteFlag.CHILDREN_ONLY:
        victims.append(name)
    return victims


def delete_refusal(
    domain: Domain, victims: list[str], flags: DeleteFlag, profile: Profile
) -> Result | None:
    """Why deleting ``victims`` (not metadata only) is refused, or ``None``."""
    for name in victims:
        victim = domain.snapshots[name]
        if victim.external:
            problem = _check_external_delete(domain, victim, flags, profile)
            if problem is not None:
                return problem
        elif not profile.capabilities.delete_internal:
            return Result.refused(
                Outcome.UNSUPPORTED, _CONFIG, "deletion of internal snapshots not supported"
            )
        elif domain.state.active:
            # delvm reaches only the images in use: libvirt 9.0 refuses when they moved on
            sources = dict(victim.sources)
            for disk in victim.disks:
                taken_on = sources.get(disk.target)
                moved = taken_on is not None and taken_on != domain.active.get(disk.target)
                if disk.mode is DiskMode.INTERNAL and moved:
                    return Result.refused(
                        Outcome.UNSUPPORTED,
                        "VIR_ERR_OPERATION_UNSUPPORTED",
                        f"disk image '{disk.target}' for internal snapshot '{name}' is not the "
                        "same as disk image currently used by VM",
                    )
    return None


def forget(domain: Domain, victims: list[str]) -> Domain:
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


def delete_snapshot(
    world: World, domain: Domain, op: DeleteSnapshot, profile: Profile
) -> tuple[World, Result]:
    """``virDomainSnapshotDelete`` on the model."""
    if op.name not in domain.snapshots:
        return world, Result.refused(
            Outcome.INVALID, _NO_SNAPSHOT, f"no domain snapshot with matching name '{op.name}'"
        )
    # the API looks the snapshot up before it looks at the flags
    refusal = check_delete_flags(op.flags)
    if refusal is not None:
        return world, _refused(refusal)
    victims = delete_victims(domain, op.name, op.flags)
    if not op.flags & DeleteFlag.METADATA_ONLY:
        problem = delete_refusal(domain, victims, op.flags, profile)
        if problem is not None:
            return world, problem
        for name in victims:
            world, domain = _discard(world, domain, domain.snapshots[name])
    return world.with_domain(forget(domain, victims)), Result.ok()


# --- dump ---------------------------------------------------------------------------------


def snapshot_definition(domain: Domain, snapshot: Snapshot) -> SnapshotDefinition:
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


def dump_snapshot(domain: Domain, op: DumpSnapshotXML) -> Result:
    """``virDomainSnapshotGetXMLDesc`` on the model."""
    snapshot = domain.snapshots.get(op.name)
    if snapshot is None:
        return Result.refused(
            Outcome.INVALID, _NO_SNAPSHOT, f"no domain snapshot with matching name '{op.name}'"
        )
    return Result.ok(format_snapshot(snapshot_definition(domain, snapshot)))
