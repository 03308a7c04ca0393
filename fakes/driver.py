"""The reference driver: libvirt's snapshot API carried out on any backends, by the table.

It shares the *decisions* with the model (flag rules, XML parse, :func:`decide`, the per-disk plan)
and does the *work* itself through an :class:`~snaporacle.backend.ImageTool` and a
:class:`~snaporacle.backend.Launcher`: qemu-img offline; savevm, migrate and transaction on the
monitor of a running domain. Its metadata (snapshot records, tree, current) is its own.

Promise on failure: when a backend call fails part way, the driver undoes what it did (removes the
tags and overlays it made, resumes the VM), returns a ``failed`` result naming the backend error,
adds no snapshot metadata and leaves guest data unchanged; files it could not remove are listed in
``leftovers`` and named at the end of the failed result's message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import attrs

from ..backend import Call, DiskAttachment, ImageTool, Launcher, Monitor, SnapshotAction
from ..errors import BackendError
from ..model.definition import DomainSpec, SnapshotDefinition
from ..model.flags import (
    check_delete_flags,
    check_revert_flags,
)
from ..model.memory import blocks_to_read, memory_view, write_problem
from ..model.modes import (
    CreateFlag,
    DeleteFlag,
    DiskMode,
    DomainState,
    Mechanism,
    MemoryMode,
    Outcome,
)
from ..model.observation import (
    DiskObservation,
    DomainObservation,
    ImageObservation,
    Observation,
)
from ..model.ops import (
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
from ..model.profile import Accepted, Profile, Rejected
from ..model.snapshot_ops import (
    admit_create,
    check_new_name,
    delete_refusal,
    delete_victims,
    discard_images,
    forget,
    memory_file_of,
    plan_disks,
    read_request,
    redefined_record,
    revert_overlay,
    revert_refusal,
    revert_sources,
    revert_target_state,
    snapshot_definition,
)
from ..model.snapshot_xml import format_snapshot
from ..model.world import Domain, Snapshot, SnapshotDisk, relative, snapshot_observation

_CONFIG = "VIR_ERR_CONFIG_UNSUPPORTED"
_FAILED = "VIR_ERR_OPERATION_FAILED"
_NO_SNAPSHOT = "VIR_ERR_NO_DOMAIN_SNAPSHOT"


#: Which backend verbs carry out which mechanism of the table.
MECHANISM_VERBS = {
    "create": Mechanism.QEMU_IMG,
    "snapshot_create": Mechanism.QEMU_IMG,
    "savevm": Mechanism.SAVEVM,
    "migrate_to_file": Mechanism.MIGRATE,
    "transaction": Mechanism.TRANSACTION,
}


def mechanisms_of(calls: Sequence[Call]) -> tuple[Mechanism, ...]:
    """The mechanisms a snapshot create used, in order, read from its backend calls."""
    used: list[Mechanism] = []
    for call in calls:
        mechanism = MECHANISM_VERBS.get(call.verb)
        if mechanism is not None and mechanism not in used:
            used.append(mechanism)
    return tuple(used)


@attrs.define
class _DomainRecord:
    """The driver's own bookkeeping for one domain."""

    spec: DomainSpec
    active: dict[str, str]
    snapshots: dict[str, Snapshot] = attrs.field(factory=dict)
    current: str | None = None
    monitor: Monitor | None = None
    clock: int = 0
    ram_written: set[int] = attrs.field(factory=set)

    def formats(self) -> dict[str, str]:
        return {disk.target: disk.format for disk in self.spec.disks}


def _refused(rejected: Rejected) -> Result:
    return Result.refused(rejected.outcome, rejected.error, rejected.reason)


def _failed(what: str, err: BackendError) -> Result:
    return Result.refused(Outcome.FAILED, _FAILED, f"{what}: {err}")


class ReferenceDriver:
    """The snapshot API over an image tool and a launcher, deciding by ``profile``."""

    def __init__(self, images: ImageTool, launcher: Launcher, profile: Profile) -> None:
        self.images = images
        self.launcher = launcher
        self.profile = profile
        self.domains: dict[str, _DomainRecord] = {}
        self.memory_files: set[str] = set()
        self.leftovers: list[str] = []
        self.last_calls: list[Call] = []

    # --- helpers ------------------------------------------------------------------------------

    def _format_of(self, path: str) -> str:
        return self.images.info_chain(path)[0].format

    def _attachments(self, record: _DomainRecord) -> list[DiskAttachment]:
        return [
            DiskAttachment(disk.target, record.active[disk.target], self._format_of(
                record.active[disk.target]))
            for disk in record.spec.disks
        ]

    def _launch(self, record: _DomainRecord, paused: bool, incoming: str | None = None) -> None:
        record.monitor = self.launcher.launch(
            record.spec.name, self._attachments(record), paused=paused, incoming=incoming
        )

    def _stop_process(self, record: _DomainRecord) -> None:
        if record.monitor is not None:
            record.monitor.quit()
            record.monitor = None

    def state(self, record: _DomainRecord) -> DomainState:
        """The domain state as the monitor reports it."""
        if record.monitor is None:
            return DomainState.SHUTOFF
        return DomainState.RUNNING if record.monitor.status() == "running" else DomainState.PAUSED

    def _undo(self, steps: list[Callable[[], None]], undo_files: list[str]) -> None:
        for step in reversed(steps):
            try:
                step()
            except BackendError:
                pass
        for path in undo_files:
            try:
                if self.images.exists(path):
                    self.images.remove(path)
            except BackendError:
                self.leftovers.append(path)

    # --- domains ------------------------------------------------------------------------------

    def _define(self, op: DefineDomain) -> Result:
        spec = op.domain
        if spec.name in self.domains:
            return Result.refused(
                Outcome.FAILED, _FAILED, f"domain '{spec.name}' already exists"
            )
        for disk in spec.disks:
            if self.images.exists(disk.source):
                return Result.refused(
                    Outcome.FAILED, _FAILED, f"image {disk.source} already exists"
                )
        made: list[str] = []
        try:
            for disk in spec.disks:
                self.images.create(disk.source, disk.format)
                made.append(disk.source)
        except BackendError as err:
            self._undo([], made)
            return _failed("define", err)
        self.domains[spec.name] = _DomainRecord(
            spec=spec, active={d.target: d.source for d in spec.disks}
        )
        return Result.ok()

    def _lifecycle(self, record: _DomainRecord, op: Op) -> Result:
        state = self.state(record)
        if isinstance(op, StartDomain):
            if state.active:
                return Result.refused(
                    Outcome.INVALID, "VIR_ERR_OPERATION_INVALID", "domain is already running"
                )
            self._launch(record, paused=op.paused)
            return Result.ok()
        if not state.active or record.monitor is None:
            return Result.refused(
                Outcome.INVALID, "VIR_ERR_OPERATION_INVALID", "domain is not running"
            )
        if isinstance(op, ResumeDomain) and state is DomainState.RUNNING:
            return Result.refused(
                Outcome.INVALID, "VIR_ERR_OPERATION_INVALID", "domain is already running"
            )
        if isinstance(op, PauseDomain) and state is DomainState.RUNNING:
            record.monitor.stop()
        elif isinstance(op, ResumeDomain) and state is DomainState.PAUSED:
            record.monitor.cont()
        elif isinstance(op, DestroyDomain):
            self._stop_process(record)
        return Result.ok()

    def _write(self, record: _DomainRecord, op: WriteData) -> Result:
        path = record.active.get(op.disk)
        if path is None:
            return Result.refused(Outcome.INVALID, "VIR_ERR_INVALID_ARG", f"no disk '{op.disk}'")
        if not 0 <= op.block < 16 or not 1 <= op.pattern <= 255:
            return Result.refused(
                Outcome.INVALID, "VIR_ERR_INVALID_ARG", "block or pattern out of range"
            )
        if record.monitor is not None:
            record.monitor.write(op.disk, op.block, op.pattern)
        else:
            self.images.write(path, self._format_of(path), op.block, op.pattern)
        return Result.ok()

    def _write_memory(self, record: _DomainRecord, op: WriteMemory) -> Result:
        problem = write_problem(op.block, op.pattern)
        if problem is not None:
            return Result.refused(Outcome.INVALID, "VIR_ERR_INVALID_ARG", problem)
        if record.monitor is None:
            return Result.refused(
                Outcome.INVALID, "VIR_ERR_OPERATION_INVALID", "domain is not running"
            )
        record.ram_written.add(op.block)
        record.monitor.write_memory(op.block, op.pattern)
        return Result.ok()

    def _read_memory(self, record: _DomainRecord) -> tuple[int, ...] | None:
        """The guest RAM of a running domain: the blocks written so far and one canary."""
        if record.monitor is None:
            return None
        found = record.monitor.read_memory(blocks_to_read(record.ram_written))
        return memory_view(found)

    # --- create -------------------------------------------------------------------------------

    def _create(self, record: _DomainRecord, op: CreateSnapshot) -> Result:
        flags = op.flags
        state = self.state(record)
        definition = read_request(op.xml, flags)
        if isinstance(definition, Result):
            return definition
        if flags & CreateFlag.REDEFINE:
            return self._redefine(record, definition, flags)
        name = definition.name or str(record.clock)
        decision = admit_create(self.profile, state, definition, flags, record.spec.disks)
        if isinstance(decision, Result):
            return decision
        verdict = decision.verdict
        assert isinstance(verdict, Accepted)
        plan = plan_disks(
            record.spec, record.active, definition, decision.disks, flags, name,
            self._format_of, self.images.exists,
        )
        if isinstance(plan, Result):
            return plan
        taken = check_new_name(name, record.snapshots)
        if taken is not None:
            return taken
        memory_file = memory_file_of(definition, verdict)
        sources = tuple(sorted(record.active.items()))
        try:
            if state.active:
                self._take_online(record, plan, name, memory_file, verdict.memory, flags)
            else:
                self._take_offline(record, plan, name)
        except BackendError as err:
            return _failed("snapshot create", err)
        if memory_file is not None:
            self.memory_files.add(memory_file)
        if flags & CreateFlag.HALT:
            self._stop_process(record)
        if not flags & CreateFlag.NO_METADATA:
            record.snapshots[name] = Snapshot(
                name=name,
                parent=record.current,
                state=decision.state or state,  # type: ignore[arg-type]
                memory=verdict.memory,
                memory_file=memory_file,
                disks=tuple(plan),
                creation_time=record.clock,
                description=definition.description,
                sources=sources,
            )
            record.current = name
        record.clock += 1
        return Result.ok(name)

    def _take_offline(self, record: _DomainRecord, plan: list[SnapshotDisk], name: str) -> None:
        undo: list[Callable[[], None]] = []
        made: list[str] = []
        try:
            for disk in plan:
                path = record.active[disk.target]
                if disk.mode is DiskMode.INTERNAL:
                    self.images.snapshot_create(path, name)
                    undo.append(functools.partial(self.images.snapshot_delete, path, name))
                elif disk.mode is DiskMode.EXTERNAL and disk.overlay is not None:
                    if not self.images.exists(disk.overlay):
                        made.append(disk.overlay)
                        self.images.create(
                            disk.overlay, "qcow2", backing=path, backing_fmt=self._format_of(path)
                        )
        except BackendError:
            self._undo(undo, made)
            raise
        for disk in plan:
            if disk.mode is DiskMode.EXTERNAL and disk.overlay is not None:
                record.active[disk.target] = disk.overlay

    def _take_online(
        self,
        record: _DomainRecord,
        plan: list[SnapshotDisk],
        name: str,
        memory_file: str | None,
        memory: MemoryMode,
        flags: CreateFlag,
    ) -> None:
        monitor = record.monitor
        assert monitor is not None
        was_running = monitor.status() == "running"
        actions = [
            SnapshotAction(disk.target, disk.overlay)
            for disk in plan
            if disk.mode is DiskMode.EXTERNAL and disk.overlay is not None
        ]
        if memory is MemoryMode.INTERNAL:
            monitor.savevm(name)
            return
        made: list[str] = []
        try:
            if memory_file is not None:
                if was_running and not flags & CreateFlag.LIVE:
                    monitor.stop()
                made.append(memory_file)
                monitor.migrate_to_file(memory_file)
                monitor.cont()
                if not was_running or not flags & CreateFlag.LIVE:
                    monitor.stop()
            if actions:
                made.extend(a.overlay for a in actions if not self.images.exists(a.overlay))
                monitor.transaction(actions)
        except BackendError:
            self._undo([], made)
            self._resume(monitor, was_running)
            raise
        self._resume(monitor, was_running)
        for action in actions:
            record.active[action.target] = action.overlay

    @staticmethod
    def _resume(monitor: Monitor, was_running: bool) -> None:
        try:
            status = monitor.status()
            if status != "running" and was_running:
                monitor.cont()
            elif status == "postmigrate" and not was_running:
                monitor.cont()
                monitor.stop()
        except BackendError:
            pass

    def _redefine(
        self, record: _DomainRecord, definition: SnapshotDefinition, flags: CreateFlag
    ) -> Result:
        snapshot = redefined_record(record.snapshots, definition, record.clock, record.active)
        if isinstance(snapshot, Result):
            return snapshot
        record.snapshots[snapshot.name] = snapshot
        if flags & CreateFlag.CURRENT:
            record.current = snapshot.name
        return Result.ok(snapshot.name)

    # --- revert and delete --------------------------------------------------------------------

    def _as_domain(self, record: _DomainRecord) -> Domain:
        return Domain(
            spec=record.spec,
            state=self.state(record),
            active=dict(record.active),
            snapshots=dict(record.snapshots),
            current=record.current,
        )

    def _revert(self, record: _DomainRecord, op: RevertSnapshot) -> Result:
        snapshot = record.snapshots.get(op.name)
        if snapshot is None:
            return Result.refused(
                Outcome.INVALID, _NO_SNAPSHOT, f"no domain snapshot with matching name '{op.name}'"
            )
        # the API looks the snapshot up before it looks at the flags
        refusal = check_revert_flags(op.flags)
        if refusal is not None:
            return _refused(refusal)
        problem = revert_refusal(snapshot, self.profile, self.images.exists)
        if problem is not None:
            return problem
        target = revert_target_state(snapshot, op.flags)
        internal = [d for d in snapshot.disks if d.mode is DiskMode.INTERNAL]
        images = revert_sources(record.active, snapshot)
        # check every image first, so that a missing image or tag changes nothing
        for path in images.values():
            if not self.images.exists(path):
                return Result.refused(
                    Outcome.FAILED, _FAILED,
                    f"the disk image {path} of '{snapshot.name}' is gone",
                )
        for disk in internal:
            path = images[disk.target]
            if snapshot.name not in self.images.snapshot_list(path):
                return Result.refused(
                    Outcome.FAILED, _FAILED, f"snapshot '{snapshot.name}' not found in {path}"
                )
        try:
            if snapshot.memory is MemoryMode.INTERNAL:
                if record.monitor is not None and images != record.active:
                    self._stop_process(record)  # other disks: a new QEMU, as libvirt does
                record.active = images
                if record.monitor is None:
                    self._launch(record, paused=True)
                assert record.monitor is not None
                record.monitor.loadvm(snapshot.name)
            else:
                self._stop_process(record)
                record.active = images
                for disk in internal:
                    self.images.snapshot_apply(images[disk.target], snapshot.name)
                for disk in snapshot.disks:
                    if disk.mode is DiskMode.EXTERNAL and disk.frozen is not None:
                        overlay = revert_overlay(disk.frozen, self.images.exists)
                        self.images.create(
                            overlay, "qcow2", backing=disk.frozen,
                            backing_fmt=self._format_of(disk.frozen),
                        )
                        record.active[disk.target] = overlay
                if snapshot.memory is MemoryMode.EXTERNAL:
                    self._launch(record, paused=True, incoming=snapshot.memory_file)
                elif target.active:
                    self._launch(record, paused=True)
        except BackendError as err:
            return _failed("snapshot revert", err)
        if record.monitor is not None:
            status = record.monitor.status()
            if target is DomainState.RUNNING and status != "running":
                record.monitor.cont()
            elif target is DomainState.PAUSED and status == "running":
                record.monitor.stop()
            elif target is DomainState.SHUTOFF:
                self._stop_process(record)
        record.current = snapshot.name
        return Result.ok()

    def _delete(self, record: _DomainRecord, op: DeleteSnapshot) -> Result:
        if op.name not in record.snapshots:
            return Result.refused(
                Outcome.INVALID, _NO_SNAPSHOT, f"no domain snapshot with matching name '{op.name}'"
            )
        # the API looks the snapshot up before it looks at the flags
        refusal = check_delete_flags(op.flags)
        if refusal is not None:
            return _refused(refusal)
        domain = self._as_domain(record)
        victims = delete_victims(domain, op.name, op.flags)
        if not op.flags & DeleteFlag.METADATA_ONLY:
            problem = delete_refusal(domain, victims, op.flags, self.profile)
            if problem is not None:
                return problem
            try:
                for name in victims:
                    self._discard(record, record.snapshots[name])
            except BackendError as err:
                return _failed("snapshot delete", err)
        self._forget(record, victims)
        return Result.ok()

    def _forget(self, record: _DomainRecord, victims: list[str]) -> None:
        """Drop the records of deleted snapshots (re-parenting, moving current up)."""
        remaining = forget(self._as_domain(record), victims)
        record.snapshots = dict(remaining.snapshots)
        record.current = remaining.current

    def _discard(self, record: _DomainRecord, snapshot: Snapshot) -> None:
        images = discard_images(self._as_domain(record), snapshot)
        tagged = [
            images[disk.target]
            for disk in snapshot.disks
            if disk.mode is DiskMode.INTERNAL
            and self.images.exists(images[disk.target])
            and snapshot.name in self.images.snapshot_list(images[disk.target])
        ]
        if tagged and record.monitor is not None:
            record.monitor.delvm(snapshot.name)  # once: delvm acts on every disk
        elif tagged:
            for path in tagged:
                self.images.snapshot_delete(path, snapshot.name)
        for disk in snapshot.disks:
            path = record.active[disk.target]
            if disk.mode is DiskMode.EXTERNAL and disk.frozen is not None:
                if record.monitor is not None:
                    record.monitor.commit(disk.target)
                else:
                    self.images.commit(path)
                self.images.remove(path)
                record.active[disk.target] = disk.frozen
        if snapshot.memory is MemoryMode.EXTERNAL and snapshot.memory_file is not None:
            if self.images.exists(snapshot.memory_file):
                self.images.remove(snapshot.memory_file)
            self.memory_files.discard(snapshot.memory_file)

    # --- the API ------------------------------------------------------------------------------

    def apply(self, op: Op) -> Result:
        """Carry out one operation; ``last_calls`` then holds the backend calls it made."""
        if isinstance(op, DefineDomain):
            return self._define(op)
        record = self.domains.get(op.domain)
        if record is None:
            return Result.refused(
                Outcome.INVALID, "VIR_ERR_NO_DOMAIN", f"no domain with name '{op.domain}'"
            )
        monitor = record.monitor
        marks = (len(self.images.calls), len(monitor.calls) if monitor else 0)
        try:
            result = self._dispatch(record, op)
        except BackendError as err:
            result = _failed(op.kind, err)
        self.last_calls = self.images.calls[marks[0]:] + (
            monitor.calls[marks[1]:] if monitor else []
        )
        if result.outcome is Outcome.FAILED and self.leftovers:
            result = attrs.evolve(
                result, message=f"{result.message}; leftover files: {', '.join(self.leftovers)}"
            )
            self.leftovers = []
        return result

    def _dispatch(self, record: _DomainRecord, op: Op) -> Result:
        if isinstance(op, (StartDomain, PauseDomain, ResumeDomain, DestroyDomain)):
            return self._lifecycle(record, op)
        if isinstance(op, WriteData):
            return self._write(record, op)
        if isinstance(op, WriteMemory):
            return self._write_memory(record, op)
        if isinstance(op, CreateSnapshot):
            return self._create(record, op)
        if isinstance(op, RevertSnapshot):
            return self._revert(record, op)
        if isinstance(op, DeleteSnapshot):
            return self._delete(record, op)
        if isinstance(op, ListSnapshots):
            return Result.ok(tuple(sorted(record.snapshots)))
        if isinstance(op, CurrentSnapshot):
            if record.current is None:
                return Result.refused(
                    Outcome.INVALID,
                    _NO_SNAPSHOT,
                    f"the domain '{op.domain}' does not have a current snapshot",
                )
            return Result.ok(record.current)
        if isinstance(op, DumpSnapshotXML):
            snapshot = record.snapshots.get(op.name)
            if snapshot is None:
                return Result.refused(
                    Outcome.INVALID, _NO_SNAPSHOT,
                    f"no domain snapshot with matching name '{op.name}'",
                )
            definition = snapshot_definition(self._as_domain(record), snapshot)
            return Result.ok(format_snapshot(definition))
        raise TypeError(f"not an operation: {op!r}")

    # --- observation --------------------------------------------------------------------------

    def observe(self) -> Observation:
        """What a user sees: states, trees, chains, tags, guest data and memory files."""
        root = self.images.root

        def rel(path: str) -> str:
            return relative(root, path)

        domains = []
        for name in sorted(self.domains):
            record = self.domains[name]
            disks = []
            for disk in record.spec.disks:
                active = record.active[disk.target]
                chain = tuple(
                    ImageObservation(rel(info.path), info.format, tuple(sorted(info.tags)))
                    for info in self.images.info_chain(active)
                )
                if record.monitor is not None:
                    data = record.monitor.read(disk.target)
                else:
                    data = self.images.read(active, self._format_of(active))
                disks.append(DiskObservation(disk.target, chain, data))
            snapshots = tuple(
                snapshot_observation(snap, root)
                for snap in sorted(record.snapshots.values(), key=lambda s: s.name)
            )
            domains.append(
                DomainObservation(
                    name=name,
                    state=self.state(record).value,
                    current=record.current,
                    snapshots=snapshots,
                    disks=tuple(disks),
                    memory=self._read_memory(record),
                )
            )
        memory = tuple(sorted(rel(p) for p in self.memory_files if self.images.exists(p)))
        return Observation(domains=tuple(domains), memory_files=memory)

    def close(self) -> None:
        """Stop every running domain."""
        for record in self.domains.values():
            try:
                self._stop_process(record)
            except BackendError:
                pass
