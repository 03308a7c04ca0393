"""The defaults libvirt fills into a new snapshot definition (SPEC.md sections 1 and 4).

The back-compat rule of the 1.0.1 design: the output always has ``<memory>``; an input without
one gets ``no`` for an offline domain or a disk-only snapshot and ``internal`` for a running or
paused one. Memory state cannot be saved when there is no running VM or when only disks are
asked for. A new snapshot is named after its creation time when it has no name, and records
the state of the domain it was taken from.
"""

from __future__ import annotations

import attrs

from .definition import MemorySpec, SnapshotDefinition
from .errors import SnapshotXMLError
from .modes import DomainState, MemoryMode, SnapshotState


def _offline(domain_state: DomainState, disk_only: bool) -> bool:
    """libvirt's ``VIR_DOMAIN_SNAPSHOT_PARSE_OFFLINE``: no memory can be saved."""
    return disk_only or not domain_state.active


def check_memory_allowed(
    definition: SnapshotDefinition,
    domain_state: DomainState,
    disk_only: bool,
    *,
    source: str = "<xml>",
) -> None:
    """Refuse memory state for an offline domain or a disk-only snapshot, as libvirt's parser.

    Raises :class:`SnapshotXMLError` (``VIR_ERR_XML_ERROR``) naming ``source``.
    """
    mode = definition.memory_mode
    if _offline(domain_state, disk_only) and mode in (MemoryMode.INTERNAL, MemoryMode.EXTERNAL):
        why = "a disk-only snapshot" if disk_only else f"a {domain_state.value} domain"
        raise SnapshotXMLError(
            f"{source}: memory state cannot be saved with offline or disk-only snapshot (memory "
            f"{mode.value} asked for {why}); use <memory snapshot='no'/> or drop <memory>"
        )


def with_defaults(
    definition: SnapshotDefinition,
    domain_state: DomainState,
    disk_only: bool,
    *,
    source: str = "<xml>",
) -> SnapshotDefinition:
    """``definition`` with its ``<memory>`` default filled in for ``domain_state``.

    A memory given with only a ``file`` becomes ``external``; a missing one becomes ``no`` for
    an offline domain or a disk-only snapshot and ``internal`` otherwise. Raises
    :class:`SnapshotXMLError` naming ``source`` when the memory given cannot be saved
    (:func:`check_memory_allowed`).
    """
    check_memory_allowed(definition, domain_state, disk_only, source=source)
    mode = definition.memory_mode
    if mode is None:
        mode = MemoryMode.NO if _offline(domain_state, disk_only) else MemoryMode.INTERNAL
    file = definition.memory.file if definition.memory is not None else None
    return attrs.evolve(definition, memory=MemorySpec(snapshot=mode, file=file))


def snapshot_state(domain_state: DomainState, disk_only: bool) -> SnapshotState:
    """The ``<state>`` a new snapshot records: the domain's, or ``disk-snapshot`` for a
    disk-only snapshot of an active domain."""
    if disk_only and domain_state.active:
        return SnapshotState.DISK_SNAPSHOT
    return SnapshotState(domain_state.value)


def with_creation_time(definition: SnapshotDefinition, creation_time: int) -> SnapshotDefinition:
    """``definition`` stamped with ``creation_time``, named after it when it has no name."""
    name = definition.name if definition.name is not None else str(creation_time)
    return attrs.evolve(definition, creation_time=creation_time, name=name)
