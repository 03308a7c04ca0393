"""The transition function: ``apply(world, op, profile) -> (world', expected result)``.

Domain life-cycle operations are here; snapshot create, revert and delete are in
:mod:`snaporacle.model.snapshot_ops`. Every refusal leaves the world unchanged. Error codes are
libvirt's (``VIR_ERR_*``); outcome classes follow :mod:`snaporacle.model.modes`.
"""

from __future__ import annotations

import attrs

from ..backend import BLOCK_SIZE
from .memory import write_memory
from .modes import DomainState, Outcome
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
from .profile import Profile
from .snapshot_ops import create_snapshot, delete_snapshot, dump_snapshot, revert_snapshot
from .world import Domain, Image, World

refuse = Result.refused


def _domain(world: World, name: str) -> Domain | Result:
    domain = world.domains.get(name)
    if domain is None:
        return refuse(Outcome.INVALID, "VIR_ERR_NO_DOMAIN", f"no domain with name '{name}'")
    return domain


def _define(world: World, op: DefineDomain) -> tuple[World, Result]:
    spec = op.domain
    if spec.name in world.domains:
        return world, refuse(
            Outcome.FAILED, "VIR_ERR_OPERATION_FAILED", f"domain '{spec.name}' already exists"
        )
    for disk in spec.disks:
        if disk.source in world.files:
            return world, refuse(
                Outcome.FAILED, "VIR_ERR_OPERATION_FAILED", f"image {disk.source} already exists"
            )
    for disk in spec.disks:
        world = world.with_file(disk.source, Image(format=disk.format))
    domain = Domain(
        spec=spec,
        state=DomainState.SHUTOFF,
        active={disk.target: disk.source for disk in spec.disks},
    )
    return world.with_domain(domain), Result.ok()


_NEEDS = {
    StartDomain: ({DomainState.SHUTOFF}, "domain is already running"),
    PauseDomain: ({DomainState.RUNNING, DomainState.PAUSED}, "domain is not running"),
    ResumeDomain: ({DomainState.PAUSED}, "domain is already running"),
    DestroyDomain: ({DomainState.RUNNING, DomainState.PAUSED}, "domain is not running"),
}


def _lifecycle(
    world: World, op: StartDomain | PauseDomain | ResumeDomain | DestroyDomain
) -> tuple[World, Result]:
    domain = _domain(world, op.domain)
    if isinstance(domain, Result):
        return world, domain
    allowed, reason = _NEEDS[type(op)]
    if not domain.state.active and not isinstance(op, StartDomain):
        reason = "domain is not running"
    if domain.state not in allowed:
        return world, refuse(Outcome.INVALID, "VIR_ERR_OPERATION_INVALID", reason)
    if isinstance(op, StartDomain):
        state = DomainState.PAUSED if op.paused else DomainState.RUNNING
    elif isinstance(op, PauseDomain):
        state = DomainState.PAUSED
    elif isinstance(op, ResumeDomain):
        state = DomainState.RUNNING
    else:
        state = DomainState.SHUTOFF
    # a start cold-boots with zeroed RAM, destroy loses it; pause and resume keep it
    ram = domain.ram if state.active and not isinstance(op, StartDomain) else {}
    return world.with_domain(attrs.evolve(domain, state=state, ram=ram)), Result.ok()


def _write(world: World, op: WriteData) -> tuple[World, Result]:
    domain = _domain(world, op.domain)
    if isinstance(domain, Result):
        return world, domain
    path = domain.active.get(op.disk)
    if path is None:
        return world, refuse(Outcome.INVALID, "VIR_ERR_INVALID_ARG", f"no disk '{op.disk}'")
    if not 0 <= op.block < 16 or not 1 <= op.pattern <= 255:
        return world, refuse(
            Outcome.INVALID,
            "VIR_ERR_INVALID_ARG",
            f"block {op.block} (of {BLOCK_SIZE} bytes) or pattern {op.pattern} out of range",
        )
    image = world.image(path)
    blocks = dict(image.blocks)
    blocks[op.block] = op.pattern
    return world.with_file(path, attrs.evolve(image, blocks=blocks)), Result.ok()


def _query(world: World, op: ListSnapshots | CurrentSnapshot) -> tuple[World, Result]:
    domain = _domain(world, op.domain)
    if isinstance(domain, Result):
        return world, domain
    if isinstance(op, ListSnapshots):
        return world, Result.ok(tuple(sorted(domain.snapshots)))
    if domain.current is None:
        return world, refuse(
            Outcome.INVALID,
            "VIR_ERR_NO_DOMAIN_SNAPSHOT",
            f"the domain '{op.domain}' does not have a current snapshot",
        )
    return world, Result.ok(domain.current)


def apply(world: World, op: Op, profile: Profile) -> tuple[World, Result]:
    """The world after ``op`` and the result a conforming driver gives for it."""
    if isinstance(op, DefineDomain):
        return _define(world, op)
    if isinstance(op, (StartDomain, PauseDomain, ResumeDomain, DestroyDomain)):
        return _lifecycle(world, op)
    if isinstance(op, WriteData):
        return _write(world, op)
    if isinstance(op, WriteMemory):
        return write_memory(world, op)
    if isinstance(op, (ListSnapshots, CurrentSnapshot)):
        return _query(world, op)
    domain = _domain(world, op.domain)
    if isinstance(domain, Result):
        return world, domain
    if isinstance(op, CreateSnapshot):
        return create_snapshot(world, domain, op, profile)
    if isinstance(op, RevertSnapshot):
        return revert_snapshot(world, domain, op, profile)
    if isinstance(op, DeleteSnapshot):
        return delete_snapshot(world, domain, op, profile)
    if isinstance(op, DumpSnapshotXML):
        return world, dump_snapshot(domain, op)
    raise TypeError(f"not an operation: {op!r}")
