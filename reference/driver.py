"""The reference driver: libvirt's snapshot API carried out on any backends, by the table.

It decides nothing itself: :func:`~snaporacle.model.prepare.prepare` turns each operation into a
plan (or a refusal) from what the driver's own records and its backends show, and the driver
carries the plan out through an :class:`~snaporacle.reference.backend.ImageTool` and a
:class:`~snaporacle.reference.backend.Launcher`: qemu-img offline; savevm, migrate and
transaction on the monitor of a running domain. Its metadata (snapshot records, tree, current) is
its own.

Promise on failure: when a backend call fails part way, the driver undoes what it did (removes the
tags and overlays it made, resumes the VM), returns a ``failed`` result naming the backend error,
adds no snapshot metadata and leaves guest data unchanged; whatever it could not undo (a file or
a tag) is listed in ``leftovers`` and named at the end of the failed result's message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import assert_never

import attrs

from ..errors import BackendError
from ..model.definition import DomainSpec
from ..model.memory import blocks_to_read, memory_view
from ..model.modes import DiskMode, DomainState, Mechanism, MemoryMode, Outcome
from ..model.observation import DiskObservation, DomainObservation, ImageObservation, Observation
from ..model.ops import DefineDomain, Op, Result
from ..model.plan import (
    AnswerPlan,
    DefinePlan,
    DeletePlan,
    Discard,
    LifecyclePlan,
    Plan,
    RedefinePlan,
    Refusal,
    RevertPlan,
    TakePlan,
    WriteMemoryPlan,
    WritePlan,
)
from ..model.prepare import forget, prepare
from ..model.profile import Profile
from ..model.world import Domain, Snapshot, relative, snapshot_observation
from .backend import Call, DiskAttachment, ImageTool, Launcher, Monitor, SnapshotAction

_FAILED = "VIR_ERR_OPERATION_FAILED"

#: Which backend verbs carry out which mechanism of the table.
MECHANISM_VERBS = {
    "create": Mechanism.QEMU_IMG,
    "snapshot_create": Mechanism.QEMU_IMG,
    "savevm": Mechanism.SAVEVM,
    "snapshot_save": Mechanism.SNAPSHOT_SAVE,
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
    ram_written: set[int] = attrs.field(factory=set)


def _failed(what: str, err: BackendError) -> Result:
    return Result.failed(_FAILED, f"{what}: {err}")


class _Undo:
    """What a step did so far, to be undone in reverse if a later backend call fails."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, Callable[[], None]]] = []

    def add(self, what: str, step: Callable[[], None]) -> None:
        self.steps.append((what, step))


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
        self.clock = 0
        #: the last observation, kept while the steps since only read (see :meth:`observe`)
        self._observed: Observation | None = None

    # --- the view prepare() plans on -----------------------------------------------------------

    def domain(self, name: str) -> Domain | None:
        """The domain's record as the model's value, its state read from the monitor."""
        record = self.domains.get(name)
        if record is None:
            return None
        return Domain(
            spec=record.spec,
            state=self.state(record),
            active=dict(record.active),
            snapshots=dict(record.snapshots),
            current=record.current,
        )

    def exists(self, path: str) -> bool:
        """Whether the file exists (through the image tool)."""
        return self.images.exists(path)

    def format_of(self, path: str) -> str:
        """The format of an image (``qemu-img info``)."""
        return self.images.info_chain(path)[0].format

    def has_tag(self, path: str, name: str) -> bool:
        """Whether an image holds an internal snapshot called ``name``."""
        return name in self.images.snapshot_list(path)

    def chain(self, path: str) -> tuple[str, ...]:
        """The image and its backing images, top first (``qemu-img info --backing-chain``)."""
        return tuple(info.path for info in self.images.info_chain(path))

    # --- helpers ------------------------------------------------------------------------------

    def state(self, record: _DomainRecord) -> DomainState:
        """The domain state as the monitor reports it."""
        if record.monitor is None:
            return DomainState.SHUTOFF
        return DomainState.RUNNING if record.monitor.status() == "running" else DomainState.PAUSED

    def _attachments(self, record: _DomainRecord) -> list[DiskAttachment]:
        return [
            DiskAttachment(disk.target, record.active[disk.target],
                           self.format_of(record.active[disk.target]))
            for disk in record.spec.disks
        ]

    def _launch(self, record: _DomainRecord, paused: bool, incoming: str | None = None) -> None:
        record.monitor = self.launcher.launch(
            record.spec.name, self._attachments(record), paused=paused, incoming=incoming
        )

    def _stop_process(self, record: _DomainRecord) -> None:
        monitor = record.monitor
        if monitor is None:
            return
        try:
            monitor.quit()
        except BackendError:
            try:
                monitor.status()
            except BackendError:  # no answer: quit once more; then it is gone all the same
                try:
                    monitor.quit()
                except BackendError:
                    pass
                record.monitor = None
                return
            raise
        record.monitor = None

    def _remove_file(self, path: str) -> None:
        if self.images.exists(path):
            self.images.remove(path)

    def _rollback(self, undo: _Undo) -> None:
        """Undo the steps in reverse; what cannot be undone is a leftover, named."""
        for what, step in reversed(undo.steps):
            try:
                step()
            except BackendError as err:
                self.leftovers.append(f"{what} ({err})")
        undo.steps.clear()

    # --- the API ------------------------------------------------------------------------------

    def apply(self, op: Op) -> Result:
        """Carry out one operation; ``last_calls`` then holds the backend calls it made."""
        record = None if isinstance(op, DefineDomain) else self.domains.get(op.domain)
        monitor = record.monitor if record else None
        marks = (len(self.images.calls), len(monitor.calls) if monitor else 0)
        try:
            plan = prepare(self, op, self.profile)
            if not isinstance(plan, (Refusal, AnswerPlan)):
                self._observed = None  # the plan changes what a user sees (or may, on a fault)
            result = plan.result if isinstance(plan, Refusal) else self.carry_out(plan)
        except BackendError as err:
            result = _failed(op.kind, err)
        self.last_calls = self.images.calls[marks[0]:] + (
            monitor.calls[marks[1]:] if monitor else []
        )
        if result.outcome is Outcome.FAILED and self.leftovers:
            result = attrs.evolve(
                result, message=f"{result.message}; leftovers: {', '.join(self.leftovers)}"
            )
            self.leftovers = []
        return result

    def carry_out(self, plan: Plan) -> Result:
        """Do what an accepted plan says on the backends."""
        match plan:
            case DefinePlan():
                return self._define(plan)
            case LifecyclePlan():
                return self._lifecycle(plan)
            case WritePlan():
                record = self.domains[plan.domain]
                if record.monitor is not None:
                    record.monitor.write(plan.disk, plan.block, plan.pattern)
                else:
                    self.images.write(plan.path, self.format_of(plan.path), plan.block,
                                      plan.pattern)
                return Result.ok()
            case WriteMemoryPlan():
                record = self.domains[plan.domain]
                assert record.monitor is not None  # prepare checked the domain runs
                record.ram_written.add(plan.block)
                record.monitor.write_memory(plan.block, plan.pattern)
                return Result.ok()
            case AnswerPlan():
                return Result.ok(plan.value)
            case TakePlan():
                return self._take(plan)
            case RedefinePlan():
                record = self.domains[plan.domain]
                if plan.released is not None:
                    record.snapshots[plan.released.name] = plan.released
                record.snapshots[plan.record.name] = plan.record
                if plan.make_current:
                    record.current = plan.record.name
                return Result.ok(plan.record.name)
            case RevertPlan():
                return self._revert(plan)
            case DeletePlan():
                return self._delete(plan)
            case _:
                assert_never(plan)

    # --- domains ------------------------------------------------------------------------------

    def _define(self, plan: DefinePlan) -> Result:
        undo = _Undo()
        try:
            for disk in plan.spec.disks:
                self.images.create(disk.source, disk.format)
                undo.add(f"image {disk.source}", functools.partial(self._remove_file, disk.source))
        except BackendError as err:
            self._rollback(undo)
            return _failed("define", err)
        self.domains[plan.spec.name] = _DomainRecord(
            spec=plan.spec, active={d.target: d.source for d in plan.spec.disks}
        )
        return Result.ok()

    def _lifecycle(self, plan: LifecyclePlan) -> Result:
        record = self.domains[plan.domain]
        if not plan.before.active:
            self._launch(record, paused=plan.after is DomainState.PAUSED)
        elif plan.after is DomainState.SHUTOFF:
            self._stop_process(record)
        elif record.monitor is not None and plan.after is not plan.before:
            if plan.after is DomainState.PAUSED:
                record.monitor.stop()
            else:
                record.monitor.cont()
        return Result.ok()

    # --- create -------------------------------------------------------------------------------

    def _take(self, plan: TakePlan) -> Result:
        record = self.domains[plan.domain]
        undo = _Undo()
        try:
            if plan.online:
                self._take_online(record, plan, undo)
            else:
                self._take_offline(record, plan, undo)
        except BackendError as err:
            self._rollback(undo)
            return _failed("snapshot create", err)
        if plan.memory_file is not None:
            self.memory_files.add(plan.memory_file)
        for disk in plan.disks:
            if disk.mode is DiskMode.EXTERNAL and disk.overlay is not None:
                record.active[disk.target] = disk.overlay
        if plan.halt:
            self._stop_process(record)
        if plan.record is not None:
            if plan.released is not None:
                record.snapshots[plan.released.name] = plan.released
            record.snapshots[plan.name] = plan.record
            record.current = plan.name
        self.clock += 1
        return Result.ok(plan.name)

    def _take_offline(self, record: _DomainRecord, plan: TakePlan, undo: _Undo) -> None:
        for disk in plan.disks:
            path = record.active[disk.target]
            if disk.mode is DiskMode.INTERNAL:
                undo.add(
                    f"tag {plan.name} in {path}",
                    functools.partial(self._drop_tag, path, plan.name),
                )
                self.images.snapshot_create(path, plan.name)
            elif disk.mode is DiskMode.EXTERNAL and disk.overlay is not None:
                if not self.images.exists(disk.overlay):
                    undo.add(
                        f"overlay {disk.overlay}",
                        functools.partial(self._remove_file, disk.overlay),
                    )
                    self.images.create(
                        disk.overlay, "qcow2", backing=path, backing_fmt=self.format_of(path)
                    )

    def _drop_tag(self, path: str, name: str) -> None:
        """Remove a tag made by this step (the newest of that name), if it was made."""
        if name in self.images.snapshot_list(path):
            self.images.snapshot_delete(path, name)

    def _take_online(self, record: _DomainRecord, plan: TakePlan, undo: _Undo) -> None:
        monitor = record.monitor
        assert monitor is not None
        was_running = monitor.status() == "running"
        undo.add("the domain's run state", functools.partial(self._resume, monitor, was_running))
        if plan.verdict.memory is MemoryMode.INTERNAL:
            undo.add(self._vm_state_label(record, plan.name),
                     functools.partial(self._delvm_if_made, record,
                                                                  plan.name))
            if Mechanism.SNAPSHOT_SAVE in plan.verdict.mechanisms:
                monitor.snapshot_save(plan.name)
            else:
                monitor.savevm(plan.name)
            self._resume(monitor, was_running)
            return
        actions = [
            SnapshotAction(disk.target, disk.overlay)
            for disk in plan.disks
            if disk.mode is DiskMode.EXTERNAL and disk.overlay is not None
        ]
        if plan.memory_file is not None:
            if was_running and not plan.live:
                monitor.stop()
            undo.add(f"memory file {plan.memory_file}",
                     functools.partial(self._remove_file, plan.memory_file))
            monitor.migrate_to_file(plan.memory_file)
            monitor.cont()
            if not was_running or not plan.live:
                monitor.stop()
        if actions:
            for action in actions:
                if not self.images.exists(action.overlay):
                    undo.add(f"overlay {action.overlay}",
                             functools.partial(self._unlink_overlay, record, action))
            monitor.transaction(actions)
        self._resume(monitor, was_running)

    @staticmethod
    def _vm_state_label(record: _DomainRecord, name: str) -> str:
        return f"VM state {name} (tag {name} in {', '.join(sorted(record.active.values()))})"

    def _delvm_if_made(self, record: _DomainRecord, name: str) -> None:
        """Remove the VM state a failed savevm left behind, if it left any."""
        if record.monitor is not None and any(
            self.has_tag(path, name) for path in record.active.values()
        ):
            record.monitor.delvm(name)

    def _unlink_overlay(self, record: _DomainRecord, action: SnapshotAction) -> None:
        """Remove an overlay a failed transaction made; if QEMU already switched the disk to it,
        commit it back first (nothing was written to it since, so the data is unchanged)."""
        monitor = record.monitor
        if monitor is not None and monitor.chain(action.target)[:1] == (action.overlay,):
            monitor.commit(action.target)
        self._remove_file(action.overlay)

    @staticmethod
    def _resume(monitor: Monitor, was_running: bool) -> None:
        status = monitor.status()
        if status != "running" and was_running:
            monitor.cont()
        elif status == "postmigrate" and not was_running:
            monitor.cont()
            monitor.stop()

    # --- revert -------------------------------------------------------------------------------

    def _revert(self, plan: RevertPlan) -> Result:
        record = self.domains[plan.domain]
        snapshot = plan.snapshot
        undo = _Undo()
        old_active = dict(record.active)
        undo.add("the disks' images", functools.partial(self._set_active, record, old_active))
        try:
            if snapshot.memory is MemoryMode.INTERNAL:
                self._load_state(record, plan, undo)
            else:
                self._stop_process(record)
                record.active = dict(plan.images)
                self._apply_tags(plan, undo)
                for overlay in plan.overlays:
                    undo.add(f"overlay {overlay.path}",
                             functools.partial(self._remove_file, overlay.path))
                    self.images.create(
                        overlay.path, "qcow2", backing=overlay.frozen,
                        backing_fmt=self.format_of(overlay.frozen),
                    )
                    record.active[overlay.target] = overlay.path
                if snapshot.memory is MemoryMode.EXTERNAL or plan.target.active:
                    undo.add(
                        f"the QEMU process of {plan.domain} started for the revert (the disks "
                        f"were on {', '.join(sorted(old_active.values()))})",
                        functools.partial(self._stop_process, record),
                    )
                if snapshot.memory is MemoryMode.EXTERNAL:
                    self._launch(record, paused=True, incoming=snapshot.memory_file)
                elif plan.target.active:
                    self._launch(record, paused=True)
            if record.monitor is not None:
                status = record.monitor.status()
                if plan.target is DomainState.RUNNING and status != "running":
                    record.monitor.cont()
                elif plan.target is DomainState.PAUSED and status == "running":
                    record.monitor.stop()
                elif plan.target is DomainState.SHUTOFF:
                    self._stop_process(record)
        except BackendError as err:
            self._rollback(undo)
            return _failed("snapshot revert", err)
        record.current = snapshot.name
        if plan.records is not None:
            record.snapshots = dict(plan.records)
        if plan.ticks:
            self.clock += 1
        leftovers = []
        try:
            self._drop_keep_tags(plan)
        except BackendError as err:  # the revert is done: the temporary tags are named
            keep = self._keep_tag(plan)
            leftovers.append(
                f"tag {keep} in {', '.join(sorted(set(record.active.values())))} ({err})"
            )
        for path in plan.removed:  # the overlays the domain left (by-second reverts)
            try:
                self._remove_file(path)
            except BackendError as err:
                leftovers.append(f"overlay {path} ({err})")
        if leftovers:
            return attrs.evolve(Result.ok(), message=f"reverted; leftovers: {', '.join(leftovers)}")
        return Result.ok()

    def _load_state(self, record: _DomainRecord, plan: RevertPlan, undo: _Undo) -> None:
        """``loadvm`` the snapshot, keeping the current disks (and RAM, when the domain runs on)
        in a temporary internal snapshot until the revert has succeeded."""
        keep = self._keep_tag(plan)
        if record.monitor is not None and dict(plan.images) != record.active:
            self._stop_process(record)  # other disks: a new QEMU, as libvirt does
        record.active = dict(plan.images)
        if record.monitor is None:
            for path in sorted(set(plan.images.values())):
                undo.add(f"tag {keep} in {path}", functools.partial(self._drop_tag, path, keep))
                self.images.snapshot_create(path, keep)
                undo.add(f"data of {path} (kept in tag {keep})",
                         functools.partial(self.images.snapshot_apply, path, keep))
            undo.add(
                f"the QEMU process of {plan.domain} started for the revert (on "
                f"{', '.join(sorted(set(plan.images.values())))})",
                functools.partial(self._stop_process, record),
            )
            self._launch(record, paused=True)
        else:
            monitor = record.monitor
            undo.add(self._vm_state_label(record, keep),
                     functools.partial(self._delvm_if_made, record, keep))
            monitor.savevm(keep)
            disks = ", ".join(sorted(record.active.values()))
            undo.add(f"data and RAM of {plan.domain} (disks {disks}; kept in VM state {keep})",
                     functools.partial(monitor.loadvm, keep))
        assert record.monitor is not None
        record.monitor.loadvm(plan.snapshot.name)

    def _keep_tag(self, plan: RevertPlan) -> str:
        """The temporary tag that keeps a disk's data until a revert has succeeded."""
        return f"snaporacle-before-revert-to-{plan.snapshot.name}"

    def _apply_tags(self, plan: RevertPlan, undo: _Undo) -> None:
        """Apply the snapshot's tags offline, keeping each disk's data in a temporary tag first,
        so that a failure part way puts every disk back."""
        keep = self._keep_tag(plan)
        for _, path in plan.internal:
            undo.add(f"tag {keep} in {path}", functools.partial(self._drop_tag, path, keep))
            self.images.snapshot_create(path, keep)
            undo.add(f"data of {path} (kept in tag {keep})",
                     functools.partial(self.images.snapshot_apply, path, keep))
            self.images.snapshot_apply(path, plan.snapshot.name)

    def _drop_keep_tags(self, plan: RevertPlan) -> None:
        """Remove the temporary tags once the revert is done."""
        keep = self._keep_tag(plan)
        record = self.domains[plan.domain]
        images = sorted(set(record.active.values()) | {path for _, path in plan.internal})
        if record.monitor is not None:
            if any(self.has_tag(path, keep) for path in images):
                record.monitor.delvm(keep)
            return
        for path in images:
            if self.exists(path):
                self._drop_tag(path, keep)

    def _set_active(self, record: _DomainRecord, images: dict[str, str]) -> None:
        record.active = dict(images)

    # --- delete -------------------------------------------------------------------------------

    def _delete(self, plan: DeletePlan) -> Result:
        record = self.domains[plan.domain]
        touched: list[str] = []
        try:
            for discard in plan.discards:
                self._discard(record, discard, touched)
        except BackendError as err:
            done = f" (touched before the failure: {', '.join(touched)})" if touched else ""
            return _failed(f"snapshot delete{done}", err)
        record.snapshots = dict(plan.records)
        self._forget(record, plan.victims)
        return Result.ok()

    def _forget(self, record: _DomainRecord, victims: Sequence[str]) -> None:
        """Drop the records of deleted snapshots (re-parenting, moving current up)."""
        domain = Domain(record.spec, DomainState.SHUTOFF, dict(record.active),
                        dict(record.snapshots), record.current)
        remaining = forget(domain, victims)
        record.snapshots = dict(remaining.snapshots)
        record.current = remaining.current

    def _discard(self, record: _DomainRecord, discard: Discard, touched: list[str]) -> None:
        """Remove one snapshot's data; ``touched`` names each part as it is being removed."""
        if discard.tagged and record.monitor is not None:
            touched.extend(f"tag {discard.name} in {path}" for path in discard.tagged)
            record.monitor.delvm(discard.name)  # once: delvm acts on every disk
        else:
            for path in discard.tagged:
                touched.append(f"tag {discard.name} in {path}")
                self.images.snapshot_delete(path, discard.name)
        for commit in discard.commits:
            touched.append(f"overlay {commit.overlay} (committed into {commit.frozen})")
            if record.monitor is not None:
                record.monitor.commit(commit.target, None if commit.above is None else commit.overlay)
            else:
                self.images.commit(commit.overlay)
                if commit.above is not None:
                    self.images.rebase(commit.above, commit.frozen)
            if commit.above is None:
                record.active[commit.target] = commit.frozen
            self.images.remove(commit.overlay)
        for path in discard.unlinked:
            touched.append(f"image {path}")
            self.images.remove(path)
        if discard.memory_file is not None:
            touched.append(f"memory file {discard.memory_file}")
            self._remove_file(discard.memory_file)
            self.memory_files.discard(discard.memory_file)

    # --- observation --------------------------------------------------------------------------

    def observe(self) -> Observation:
        """What a user sees: states, trees, chains, tags, guest data and memory files.

        Planning only reads (through the view), so a step that was refused or only answered a
        query leaves everything as it was: the observation made before it is given again.
        """
        if self._observed is None:
            self._observed = self._observe()
        return self._observed

    def _observe(self) -> Observation:
        root = self.images.root

        def rel(path: str) -> str:
            return relative(root, path)

        domains = []
        for name in sorted(self.domains):
            record = self.domains[name]
            disks = []
            for disk in record.spec.disks:
                active = record.active[disk.target]
                infos = self.images.info_chain(active)
                chain = tuple(
                    ImageObservation(rel(info.path), info.format, tuple(sorted(info.tags)))
                    for info in infos
                )
                if record.monitor is not None:
                    data = record.monitor.read(disk.target)
                else:
                    data = self.images.read(active, infos[0].format)
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

    def _read_memory(self, record: _DomainRecord) -> tuple[int, ...] | None:
        """The guest RAM of a running domain: the blocks written so far and one canary."""
        if record.monitor is None:
            return None
        return memory_view(record.monitor.read_memory(blocks_to_read(record.ram_written)))

    def close(self) -> None:
        """Stop every running domain."""
        self._observed = None
        for record in self.domains.values():
            try:
                self._stop_process(record)
            except BackendError:
                pass
