"""Broken drivers that lose guest memory, each with one bug the explorer must catch.

Each is a :class:`~snaporacle.reference.driver.ReferenceDriver` subclass plus a
:class:`~snaporacle.adapters.fake.FakeAdapter` over it (usable as ``--adapter
tests.mutants_memory:ColdBootRevertAdapter``). Their disks, tree and states stay right: only the
guest RAM comparison can catch them.
"""

from __future__ import annotations

from typing import Any

from snaporacle.adapters.fake import FakeAdapter
from snaporacle.fakes.images import MemoryState, Snapshot
from snaporacle.fakes.monitor import FakeMonitor
from snaporacle.model.modes import MemoryMode, Outcome, SnapshotState
from snaporacle.model.ops import Result
from snaporacle.model.plan import RevertPlan, TakePlan
from snaporacle.reference.driver import ReferenceDriver


class ColdBootRevert(ReferenceDriver):
    """Reverts a full system checkpoint, then boots the domain afresh: disks right, RAM zeroed."""

    def _revert(self, plan: RevertPlan) -> Result:
        result = super()._revert(plan)
        record = self.domains[plan.domain]
        if result.outcome is Outcome.ACCEPTED and plan.snapshot.memory is not MemoryMode.NO:
            if record.monitor is not None:
                paused = self.state(record).value == "paused"
                self._stop_process(record)
                self._launch(record, paused=paused)
        return result


class StaleMemoryFile(ReferenceDriver):
    """Writes an external memory file from the RAM as it was when the domain started (a stale
    copy) instead of the RAM at the snapshot."""

    def _launch(self, record: Any, paused: bool, incoming: str | None = None) -> None:
        super()._launch(record, paused, incoming)
        assert isinstance(record.monitor, FakeMonitor)
        self.__dict__.setdefault("stale_ram", {})[record.spec.name] = dict(record.monitor.ram)

    def _take_online(self, record: Any, plan: TakePlan, undo: Any) -> None:
        super()._take_online(record, plan, undo)
        if plan.memory_file is not None:
            state = self.images.table[plan.memory_file]  # type: ignore[attr-defined]
            assert isinstance(state, MemoryState)
            state.ram = dict(self.__dict__.get("stale_ram", {}).get(record.spec.name, {}))


class PausedFromWrongSnapshot(ReferenceDriver):
    """Reverting to a paused checkpoint restores its disks but the RAM of the memory snapshot
    taken before it (an off-by-one in its list of saved states); with none before it, the RAM
    stays as it was before the revert."""

    def _revert(self, plan: RevertPlan) -> Result:
        record = self.domains[plan.domain]
        before = dict(record.monitor.ram) if isinstance(record.monitor, FakeMonitor) else {}
        result = super()._revert(plan)
        snapshot = plan.snapshot
        if (
            result.outcome is Outcome.ACCEPTED
            and snapshot.state is SnapshotState.PAUSED
            and isinstance(record.monitor, FakeMonitor)
        ):
            older = [
                s for s in record.snapshots.values()
                if s.memory is not MemoryMode.NO and s.creation_time < snapshot.creation_time
            ]
            wrong = max(older, key=lambda s: s.creation_time, default=None)
            record.monitor.ram = before if wrong is None else self._saved_ram(record, wrong)
        return result

    def _saved_ram(self, record: Any, snapshot: Any) -> dict[int, int]:
        table = self.images.table  # type: ignore[attr-defined]
        if snapshot.memory is MemoryMode.EXTERNAL:
            state = table.get(snapshot.memory_file)
            return dict(state.ram) if isinstance(state, MemoryState) else {}
        for path in record.active.values():
            image = table.get(path)
            found = image.find(snapshot.name, by_id=False) if image is not None else None
            if isinstance(found, Snapshot) and found.vmstate:
                return dict(found.ram)
        return {}


class ColdBootRevertAdapter(FakeAdapter):
    """The fake adapter over :class:`ColdBootRevert`."""

    def __init__(self, **options: Any) -> None:
        super().__init__(driver_class=ColdBootRevert, **options)


class StaleMemoryFileAdapter(FakeAdapter):
    """The fake adapter over :class:`StaleMemoryFile`."""

    def __init__(self, **options: Any) -> None:
        super().__init__(driver_class=StaleMemoryFile, **options)


class PausedFromWrongSnapshotAdapter(FakeAdapter):
    """The fake adapter over :class:`PausedFromWrongSnapshot`."""

    def __init__(self, **options: Any) -> None:
        super().__init__(driver_class=PausedFromWrongSnapshot, **options)


MUTANTS = {
    "cold-boot-revert": ColdBootRevertAdapter,
    "stale-memory-file": StaleMemoryFileAdapter,
    "paused-from-wrong-snapshot": PausedFromWrongSnapshotAdapter,
}
