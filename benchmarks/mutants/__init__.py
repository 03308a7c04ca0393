"""Broken drivers for the mutation benchmark: one realistic bug each, on top of the fake adapter.

Each mutant is a :class:`~snaporacle.adapters.fake.FakeAdapter` whose driver gets one thing
wrong, the way a driver author might: a flag dropped on its way to the backend, a name check
forgotten, a query answered from stale state, an XML element left out, a disk format or default
ignored, a rollback that forgets a step. ``AREA`` names what it breaks; ``TRACE`` is a
hand-written operation sequence that exposes it (the tests check that the trace diverges on the
mutant and agrees on the fake); ``ALLOW_FAILURES`` is set for the mutant that only shows under
injected backend faults. :data:`MUTANTS` lists them all.
"""

from __future__ import annotations

import re
from typing import ClassVar

import attrs

from snaporacle.adapters.fake import FAKE_ROOT, FakeAdapter
from snaporacle.fakes.faults import Fault, FaultPlan
from snaporacle.model.definition import DomainSpec
from snaporacle.model.modes import Column, CreateFlag, DeleteFlag, DiskMode, Outcome, RevertFlag
from snaporacle.model.ops import (
    CreateSnapshot,
    DefineDomain,
    DeleteSnapshot,
    DumpSnapshotXML,
    ListSnapshots,
    Op,
    Result,
    RevertSnapshot,
    StartDomain,
    WriteData,
)
from snaporacle.reference.driver import ReferenceDriver
from snaporacle.requests import domain_spec, snapshot_xml

D0 = domain_spec(FAKE_ROOT)
D1 = domain_spec(FAKE_ROOT, 1)


def _create(name: str, memory: Column = Column.OMIT, disk: Column = Column.OMIT,
            flags: CreateFlag = CreateFlag(0), spec: DomainSpec = D0) -> CreateSnapshot:
    modes = {d.target: disk for d in spec.disks}
    return CreateSnapshot(spec.name, snapshot_xml(FAKE_ROOT, name, memory, modes), flags)


def _name_of(xml: str) -> str | None:
    found = re.search(r"<name>([^<]*)</name>", xml)
    return found.group(1) if found else None


class Mutant(FakeAdapter):
    """A fake adapter with one bug; subclasses override :meth:`mutate` or :meth:`apply`."""

    AREA: ClassVar[str] = ""
    TRACE: ClassVar[list[Op]] = []
    ALLOW_FAILURES: ClassVar[bool] = False

    def mutate(self, op: Op) -> Op:
        """The operation as the broken driver passes it on."""
        return op

    def apply(self, op: Op) -> Result:
        """Carry out the mutated operation."""
        return self.driver.apply(self.mutate(op))


class _DropsCreateFlag(Mutant):
    FLAG: ClassVar[CreateFlag]

    def mutate(self, op: Op) -> Op:
        if isinstance(op, CreateSnapshot):
            return attrs.evolve(op, flags=op.flags & ~self.FLAG)
        return op


class IgnoresHalt(_DropsCreateFlag):
    """HALT is not passed on: the domain keeps running after the snapshot."""

    AREA = "flags"
    FLAG = CreateFlag.HALT
    TRACE = [DefineDomain(D0), StartDomain("d0"), _create("s1", Column.INTERNAL, flags=CreateFlag.HALT)]


class IgnoresQuiesce(_DropsCreateFlag):
    """QUIESCE is dropped instead of refused without a guest agent."""

    AREA = "flags"
    FLAG = CreateFlag.QUIESCE
    TRACE = [DefineDomain(D0), StartDomain("d0"),
             _create("s1", Column.INTERNAL, flags=CreateFlag.QUIESCE)]


class IgnoresLive(_DropsCreateFlag):
    """LIVE is dropped instead of refused for a snapshot without external memory."""

    AREA = "flags"
    FLAG = CreateFlag.LIVE
    TRACE = [DefineDomain(D0), StartDomain("d0"),
             _create("s1", Column.INTERNAL, flags=CreateFlag.LIVE)]


class IgnoresDiskOnly(_DropsCreateFlag):
    """DISK_ONLY is dropped: a running domain's external disk snapshot is then refused."""

    AREA = "create"
    FLAG = CreateFlag.DISK_ONLY
    TRACE = [DefineDomain(D0), StartDomain("d0"),
             _create("s1", disk=Column.EXTERNAL, flags=CreateFlag.DISK_ONLY)]


class _RevertDropsFlag(Mutant):
    FLAG: ClassVar[RevertFlag]

    def mutate(self, op: Op) -> Op:
        if isinstance(op, RevertSnapshot):
            return attrs.evolve(op, flags=op.flags & ~self.FLAG)
        return op


class RevertIgnoresRunning(_RevertDropsFlag):
    """Revert with RUNNING leaves the domain in the snapshot's state (off)."""

    AREA = "revert"
    FLAG = RevertFlag.RUNNING
    TRACE = [DefineDomain(D0), _create("s1"), RevertSnapshot("d0", "s1", RevertFlag.RUNNING)]


class RevertIgnoresPaused(_RevertDropsFlag):
    """Revert with PAUSED leaves the domain running."""

    AREA = "revert"
    FLAG = RevertFlag.PAUSED
    TRACE = [DefineDomain(D0), StartDomain("d0"), _create("s1", Column.INTERNAL),
             RevertSnapshot("d0", "s1", RevertFlag.PAUSED)]


class _DeleteMapsFlags(Mutant):
    def flags(self, flags: DeleteFlag) -> DeleteFlag:
        raise NotImplementedError

    def mutate(self, op: Op) -> Op:
        if isinstance(op, DeleteSnapshot):
            return attrs.evolve(op, flags=self.flags(op.flags))
        return op


class ChildrenOnlyDeletesParent(_DeleteMapsFlags):
    """CHILDREN_ONLY is taken for CHILDREN: the snapshot itself goes too."""

    AREA = "delete"
    TRACE = [DefineDomain(D0), _create("s1"), _create("s2"),
             DeleteSnapshot("d0", "s1", DeleteFlag.CHILDREN_ONLY)]

    def flags(self, flags: DeleteFlag) -> DeleteFlag:
        if flags & DeleteFlag.CHILDREN_ONLY:
            return (flags & ~DeleteFlag.CHILDREN_ONLY) | DeleteFlag.CHILDREN
        return flags


class IgnoresMetadataOnly(_DeleteMapsFlags):
    """METADATA_ONLY is dropped: the internal tag is removed from the image."""

    AREA = "delete"
    TRACE = [DefineDomain(D0), _create("s1"), DeleteSnapshot("d0", "s1", DeleteFlag.METADATA_ONLY)]

    def flags(self, flags: DeleteFlag) -> DeleteFlag:
        return flags & ~DeleteFlag.METADATA_ONLY


class IgnoresDeleteChildren(_DeleteMapsFlags):
    """CHILDREN is dropped: only the snapshot goes, its children are re-parented."""

    AREA = "delete"
    TRACE = [DefineDomain(D0), _create("s1"), _create("s2"),
             DeleteSnapshot("d0", "s1", DeleteFlag.CHILDREN)]

    def flags(self, flags: DeleteFlag) -> DeleteFlag:
        return flags & ~DeleteFlag.CHILDREN


class ListsOnlyRoots(Mutant):
    """The snapshot list leaves out every snapshot that has a parent."""

    AREA = "list"
    TRACE = [DefineDomain(D0), _create("s1"), _create("s2"), ListSnapshots("d0")]

    def apply(self, op: Op) -> Result:
        result = self.driver.apply(op)
        if isinstance(op, ListSnapshots) and isinstance(result.value, tuple):
            record = self.driver.domains[op.domain]
            roots = tuple(n for n in result.value if record.snapshots[n].parent is None)
            return attrs.evolve(result, value=roots)
        return result


class CurrentStaysAfterRevert(Mutant):
    """A revert does not move the current snapshot."""

    AREA = "current"
    TRACE = [DefineDomain(D0), _create("s1"), _create("s2"), RevertSnapshot("d0", "s1")]

    def apply(self, op: Op) -> Result:
        record = self.driver.domains.get(op.domain) if isinstance(op, RevertSnapshot) else None
        before = record.current if record else None
        result = self.driver.apply(op)
        if record is not None and result.outcome is Outcome.ACCEPTED:
            record.current = before
        return result


class DumpxmlWithoutParent(Mutant):
    """The snapshot XML leaves out ``<parent>``."""

    AREA = "dumpxml"
    TRACE = [DefineDomain(D0), _create("s1"), _create("s2"), DumpSnapshotXML("d0", "s2")]

    def apply(self, op: Op) -> Result:
        result = self.driver.apply(op)
        if isinstance(op, DumpSnapshotXML) and isinstance(result.value, str):
            xml = re.sub(r"\s*<parent>.*?</parent>", "", result.value, flags=re.S)
            return attrs.evolve(result, value=xml)
        return result


class DumpxmlMemoryAlwaysNo(Mutant):
    """The snapshot XML says ``<memory snapshot='no'/>`` whatever was saved."""

    AREA = "dumpxml"
    TRACE = [DefineDomain(D0), StartDomain("d0"), _create("s1", Column.INTERNAL),
             DumpSnapshotXML("d0", "s1")]

    def apply(self, op: Op) -> Result:
        result = self.driver.apply(op)
        if isinstance(op, DumpSnapshotXML) and isinstance(result.value, str):
            xml = re.sub(r"<memory [^>]*/>", "<memory snapshot='no'/>", result.value)
            return attrs.evolve(result, value=xml)
        return result


class AcceptsDuplicateName(Mutant):
    """A create with a name already taken replaces the old snapshot's metadata."""

    AREA = "create"
    TRACE = [DefineDomain(D0), _create("s1"), _create("s1")]

    def apply(self, op: Op) -> Result:
        if isinstance(op, CreateSnapshot):
            record = self.driver.domains.get(op.domain)
            name = _name_of(op.xml)
            if record is not None and name in record.snapshots:
                self.driver.apply(DeleteSnapshot(op.domain, name, DeleteFlag.METADATA_ONLY))
        return self.driver.apply(op)


class NamesAcrossDomains(Mutant):
    """Snapshot names are checked across all domains instead of per domain."""

    AREA = "domain shapes"
    TRACE = [DefineDomain(D0), DefineDomain(D1), _create("s1"), _create("s1", spec=D1)]

    def apply(self, op: Op) -> Result:
        if isinstance(op, CreateSnapshot):
            name = _name_of(op.xml)
            if any(name in r.snapshots for d, r in self.driver.domains.items() if d != op.domain):
                return Result.failed(
                    "VIR_ERR_OPERATION_FAILED", f"domain moment {name} already exists"
                )
        return self.driver.apply(op)


class RawTreatedAsQcow2(Mutant):
    """Every disk is created as qcow2, whatever format the domain asks for."""

    AREA = "domain shapes"
    TRACE = [DefineDomain(domain_spec(FAKE_ROOT, disks=[("raw", None)]))]

    def mutate(self, op: Op) -> Op:
        if isinstance(op, DefineDomain):
            disks = tuple(attrs.evolve(d, format="qcow2") for d in op.domain.disks)
            return DefineDomain(attrs.evolve(op.domain, disks=disks))
        return op


class IgnoresDiskDefaults(Mutant):
    """A disk's own ``snapshot=`` default is ignored."""

    AREA = "domain shapes"
    TRACE = [
        DefineDomain(domain_spec(FAKE_ROOT, disks=[("qcow2", DiskMode.NO), ("qcow2", None)])),
        _create("s1"),
    ]

    def mutate(self, op: Op) -> Op:
        if isinstance(op, DefineDomain):
            disks = tuple(attrs.evolve(d, snapshot=None) for d in op.domain.disks)
            return DefineDomain(attrs.evolve(op.domain, disks=disks))
        return op


class WritesToFirstDisk(Mutant):
    """Guest writes to any disk land on the first disk."""

    AREA = "domain shapes"
    TRACE = [DefineDomain(domain_spec(FAKE_ROOT, disks=2)), WriteData("d0", "vdb", 0, 9)]

    def mutate(self, op: Op) -> Op:
        if isinstance(op, WriteData):
            return attrs.evolve(op, disk="vda")
        return op


class SwitchesBeforeTransaction(ReferenceDriver):
    """Points the disks at their overlays before the transaction, and does not undo that."""

    def _take_online(self, record, plan, undo):  # type: ignore[no-untyped-def]
        for disk in plan.disks:
            if disk.mode is DiskMode.EXTERNAL and disk.overlay is not None:
                record.active[disk.target] = disk.overlay
        super()._take_online(record, plan, undo)


class LosesDiskOnFailedTransaction(Mutant):
    """Rollback: a failed transaction leaves the disk on an overlay that was never made."""

    AREA = "rollback"
    ALLOW_FAILURES = True
    TRACE = [DefineDomain(D0), StartDomain("d0"),
             _create("s1", disk=Column.EXTERNAL, flags=CreateFlag.DISK_ONLY)]

    def __init__(self, **options: object) -> None:
        faults = FaultPlan(faults=(Fault("transaction"),), rate=0.5, seed=1,
                           rate_verbs={"transaction"})
        super().__init__(driver_class=SwitchesBeforeTransaction, faults=faults,
                         **options)  # type: ignore[arg-type]


#: Every mutant, in the order of the benchmark's table.
MUTANTS: tuple[type[Mutant], ...] = (
    IgnoresDiskOnly, AcceptsDuplicateName, IgnoresHalt, IgnoresQuiesce, IgnoresLive,
    RevertIgnoresRunning, RevertIgnoresPaused, ChildrenOnlyDeletesParent, IgnoresMetadataOnly,
    IgnoresDeleteChildren, ListsOnlyRoots, CurrentStaysAfterRevert, DumpxmlWithoutParent,
    DumpxmlMemoryAlwaysNo, NamesAcrossDomains, RawTreatedAsQcow2, IgnoresDiskDefaults,
    WritesToFirstDisk, LosesDiskOnFailedTransaction,
)

