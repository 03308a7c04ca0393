"""The transition function: ``apply(world, op, profile) -> (world', expected result)``.

The rules are :func:`~snaporacle.model.prepare.prepare`'s; this module carries a plan out on the
world, following the mechanisms of SPEC.md section 2:

- ``qemu-img`` offline: an internal tag in each internal disk's active image; a new qcow2 overlay
  (backed by the old active image) for each external disk.
- ``savevm``: a tag holding VM state in each internal disk's active image.
- ``migrate``: a memory image file; ``transaction``: overlays as for qemu-img, atomically.
- Revert: each disk back on the image the snapshot was taken on, internal tags applied, a fresh
  overlay on each external disk's frozen image. Delete: tags removed; an external snapshot's
  overlay committed into its frozen image and removed (``qemu-img commit`` offline, an active
  ``block-commit`` on a running domain; for a snapshot with a child, libvirt 11.3, an
  intermediate commit that puts the child's overlay onto the frozen image); a leaf external
  snapshot that is not the current one (11.3) has its frozen images unlinked; its memory file
  removed.

Every refusal leaves the world unchanged. Error codes are libvirt's (``VIR_ERR_*``); outcome
classes follow :mod:`snaporacle.model.modes`.
"""

from __future__ import annotations

from typing import assert_never

import attrs

from .memory import restored_ram
from .modes import DiskMode, DomainState, MemoryMode
from .ops import Op, Result
from .plan import (
    AnswerPlan,
    DefinePlan,
    DeletePlan,
    LifecyclePlan,
    Plan,
    RedefinePlan,
    Refusal,
    RevertPlan,
    TakePlan,
    WorldView,
    WriteMemoryPlan,
    WritePlan,
)
from .prepare import forget, prepare
from .profile import Profile
from .world import Domain, Image, MemoryImage, Snapshot, Tag, World


@attrs.frozen
class Transition:
    """One operation on the model: the world after it, its result, and the plan it followed."""

    world: World
    result: Result
    plan: Plan | Refusal


def step(world: World, op: Op, profile: Profile) -> Transition:
    """Plan ``op`` on ``world`` and carry the plan out."""
    plan = prepare(WorldView(world), op, profile)
    if isinstance(plan, Refusal):
        return Transition(world, plan.result, plan)
    after, result = carry_out(world, plan)
    return Transition(after, result, plan)


def apply(world: World, op: Op, profile: Profile) -> tuple[World, Result]:
    """The world after ``op`` and the result a conforming driver gives for it."""
    transition = step(world, op, profile)
    return transition.world, transition.result


def carry_out(world: World, plan: Plan) -> tuple[World, Result]:
    """The effects of an accepted plan on the world, and its result."""
    match plan:
        case DefinePlan():
            for disk in plan.spec.disks:
                world = world.with_file(disk.source, Image(format=disk.format))
            domain = Domain(
                spec=plan.spec,
                state=DomainState.SHUTOFF,
                active={disk.target: disk.source for disk in plan.spec.disks},
            )
            return world.with_domain(domain), Result.ok()
        case LifecyclePlan():
            domain = world.domains[plan.domain]
            # a start cold-boots with zeroed RAM, destroy loses it; pause and resume keep it
            ram = domain.ram if plan.before.active and plan.after.active else {}
            domain = attrs.evolve(domain, state=plan.after, ram=ram)
            return world.with_domain(domain), Result.ok()
        case WriteMemoryPlan():
            domain = world.domains[plan.domain]
            domain = attrs.evolve(domain, ram={**domain.ram, plan.block: plan.pattern})
            return world.with_domain(domain), Result.ok()
        case WritePlan():
            image = world.image(plan.path)
            blocks = {**image.blocks, plan.block: plan.pattern}
            return world.with_file(plan.path, attrs.evolve(image, blocks=blocks)), Result.ok()
        case AnswerPlan():
            return world, Result.ok(plan.value)
        case TakePlan():
            return _take(world, plan), Result.ok(plan.name)
        case RedefinePlan():
            domain = world.domains[plan.domain]
            snapshots = {**domain.snapshots, **_released(plan.released),
                         plan.record.name: plan.record}
            current = plan.record.name if plan.make_current else domain.current
            domain = attrs.evolve(domain, snapshots=snapshots, current=current)
            return world.with_domain(domain), Result.ok(plan.record.name)
        case RevertPlan():
            return _revert(world, plan), Result.ok()
        case DeletePlan():
            return _delete(world, plan), Result.ok()
        case _:
            assert_never(plan)


def _released(record: Snapshot | None) -> dict[str, Snapshot]:
    """The records a plan's ``released`` snapshot replaces (none without one)."""
    return {} if record is None else {record.name: record}


def _take(world: World, plan: TakePlan) -> World:
    domain = world.domains[plan.domain]
    if plan.memory_file is not None:
        saved = MemoryImage(domain.spec.name, tuple(sorted(domain.active.items())), domain.ram)
        world = world.with_file(plan.memory_file, saved)
    vmstate = plan.verdict.memory is MemoryMode.INTERNAL
    active = dict(domain.active)
    for disk in plan.disks:
        path = active[disk.target]
        if disk.mode is DiskMode.INTERNAL:
            image = world.image(path)
            tag = Tag(blocks=dict(image.blocks), vmstate=vmstate, ram=domain.ram if vmstate else {})
            world = world.with_file(path, image.with_tag(plan.name, tag, replace=vmstate))
        elif disk.mode is DiskMode.EXTERNAL and disk.overlay is not None:
            if disk.overlay not in world.files:
                world = world.with_file(disk.overlay, Image(format="qcow2", backing=path))
            active[disk.target] = disk.overlay
    state = DomainState.SHUTOFF if plan.halt else domain.state
    snapshots = dict(domain.snapshots)
    current = domain.current
    if plan.record is not None:
        snapshots.update(_released(plan.released))
        snapshots[plan.name] = plan.record
        current = plan.name
    domain = attrs.evolve(
        domain, state=state, active=active, snapshots=snapshots, current=current,
        ram=domain.ram if state.active else {},
    )
    return attrs.evolve(world.with_domain(domain), clock=world.clock + 1)


def _revert(world: World, plan: RevertPlan) -> World:
    domain = world.domains[plan.domain]
    ram = restored_ram(world, plan.snapshot, plan.images) if plan.target.active else {}
    active = dict(plan.images)
    for _target, path in plan.internal:
        image = world.image(path)
        tag = image.tag(plan.snapshot.name)
        assert tag is not None  # prepare checked it
        world = world.with_file(path, attrs.evolve(image, blocks=dict(tag.blocks)))
    for overlay in plan.overlays:
        world = world.with_file(overlay.path, Image(format="qcow2", backing=overlay.frozen))
        active[overlay.target] = overlay.path
    for path in plan.removed:
        world = world.with_file(path, None)
    snapshots = plan.records if plan.records is not None else domain.snapshots
    domain = attrs.evolve(
        domain, state=plan.target, active=active, current=plan.snapshot.name, ram=ram,
        snapshots=snapshots,
    )
    world = world.with_domain(domain)
    return attrs.evolve(world, clock=world.clock + 1) if plan.ticks else world


def _delete(world: World, plan: DeletePlan) -> World:
    domain = world.domains[plan.domain]
    active = dict(domain.active)
    for discard in plan.discards:
        for path in discard.tagged:
            world = world.with_file(path, world.image(path).without_tag(discard.name))
        for commit in discard.commits:
            overlay = world.image(commit.overlay)
            base = world.image(commit.frozen)
            merged = {**base.blocks, **overlay.blocks}
            world = world.with_file(commit.frozen, attrs.evolve(base, blocks=merged))
            world = world.with_file(commit.overlay, None)
            if commit.above is None:
                active[commit.target] = commit.frozen
            else:
                above = world.image(commit.above)
                world = world.with_file(commit.above, attrs.evolve(above, backing=commit.frozen))
        for path in discard.unlinked:
            world = world.with_file(path, None)
        if discard.memory_file is not None:
            world = world.with_file(discard.memory_file, None)
    domain = forget(attrs.evolve(domain, active=active, snapshots=plan.records), plan.victims)
    return world.with_domain(domain)
