"""Fault plans on the fake backends: which call fails, and what a before/after fault leaves."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest

from snaporacle.errors import BackendError, InjectedFault
from snaporacle.fakes import FakeImageTool, FakeLauncher, FakeMonitor, Fault, FaultPlan, When
from snaporacle.reference.backend import DISK_BLOCKS, DiskAttachment, SnapshotAction

ROOT = "/work"
A, B, OVER = f"{ROOT}/a.qcow2", f"{ROOT}/b.qcow2", f"{ROOT}/o.qcow2"


def world(*faults: Fault, **plan: object) -> tuple[FakeImageTool, FakeLauncher, FaultPlan]:
    """A fake image tool and launcher sharing one plan, with a.qcow2 (block 0 = 1) and b.qcow2."""
    faultplan = FaultPlan(faults, **plan)  # type: ignore[arg-type]
    images = FakeImageTool(ROOT, faultplan)
    images.create(A, "qcow2")
    images.write(A, "qcow2", 0, 1)
    images.create(B, "qcow2", backing=A, backing_fmt="qcow2")
    return images, FakeLauncher(images, faultplan), faultplan


def snapshot(images: FakeImageTool) -> object:
    """Everything observable about the files, to compare before and after a call."""
    return [
        (p, images.info_chain(p), images.read(p, "qcow2") if p.endswith("qcow2") else None)
        for p in images.files()
    ]


IMAGE_CALLS: dict[str, Callable[[FakeImageTool], object]] = {
    "create": lambda t: t.create(OVER, "qcow2", backing=B, backing_fmt="qcow2"),
    "snapshot_create": lambda t: t.snapshot_create(A, "s"),
    "snapshot_delete": lambda t: t.snapshot_delete(A, "old"),
    "snapshot_apply": lambda t: t.snapshot_apply(A, "old"),
    "commit": lambda t: t.commit(B),
    "write": lambda t: t.write(B, "qcow2", 3, 9),
    "remove": lambda t: t.remove(B),
    "makedirs": lambda t: t.makedirs(f"{ROOT}/d"),
}


# Which call of each verb is the one under test, after world() and the tests' own setup calls.
OCCURRENCE = {"create": 3, "write": 3, "snapshot_create": 2}


@pytest.mark.parametrize("verb", sorted(IMAGE_CALLS))
def test_a_before_fault_changes_nothing(verb: str) -> None:
    images, _, plan = world(Fault(verb, occurrence=OCCURRENCE.get(verb, 1)))
    images.snapshot_create(A, "old")
    images.write(B, "qcow2", 2, 5)
    before = snapshot(images)
    with pytest.raises(InjectedFault, match=verb):
        IMAGE_CALLS[verb](images)
    assert snapshot(images) == before
    assert images.exists(f"{ROOT}/d") is False
    assert [f[1] for f in plan.fired] == [verb]


@pytest.mark.parametrize("verb", sorted(IMAGE_CALLS))
def test_an_after_fault_leaves_the_effect(verb: str) -> None:
    faulty, _, _ = world(Fault(verb, occurrence=OCCURRENCE.get(verb, 1), when=When.AFTER))
    clean, _, _ = world()
    for images in (faulty, clean):
        images.snapshot_create(A, "old")
        images.write(B, "qcow2", 2, 5)
    with pytest.raises(InjectedFault):
        IMAGE_CALLS[verb](faulty)
    IMAGE_CALLS[verb](clean)
    if verb == "commit":
        assert faulty.read(A, "qcow2") == clean.read(A, "qcow2")
        assert faulty.table[B].blocks == {2: 5}  # type: ignore[union-attr]
        assert clean.table[B].blocks == {}  # type: ignore[union-attr]
    else:
        assert snapshot(faulty) == snapshot(clean)
        assert faulty.exists(f"{ROOT}/d") == clean.exists(f"{ROOT}/d")


def test_occurrence_and_source_select_the_call() -> None:
    images, launcher, plan = world(Fault("write", occurrence=3, source="monitor"),
                                   Fault("write", occurrence=3, source="image"))
    monitor = launcher.launch("dom", [DiskAttachment("vda", B, "qcow2")])
    monitor.write("vda", 1, 1)
    monitor.write("vda", 1, 2)
    with pytest.raises(InjectedFault):
        monitor.write("vda", 1, 3)
    assert monitor.read("vda")[1] == 2
    monitor.quit()
    images.write(B, "qcow2", 1, 4)
    with pytest.raises(InjectedFault):
        images.write(B, "qcow2", 1, 5)
    assert [(s, v, n) for s, v, n, _ in plan.fired] == [("monitor", "write", 3),
                                                        ("image", "write", 3)]


def running(*faults: Fault) -> tuple[FakeImageTool, FakeLauncher, FakeMonitor]:
    """A fake domain running on b.qcow2 (over a.qcow2) and c.qcow2."""
    images, launcher, _ = world(*faults)
    images.create(f"{ROOT}/c.qcow2", "qcow2")
    disks = [DiskAttachment("vda", B, "qcow2"), DiskAttachment("vdb", f"{ROOT}/c.qcow2", "qcow2")]
    return images, launcher, launcher.launch("dom", disks)


def test_migrate_after_fault_leaves_a_partial_file_and_a_running_vm() -> None:
    images, launcher, monitor = running(Fault("migrate_to_file", when=When.AFTER))
    with pytest.raises(InjectedFault):
        monitor.migrate_to_file(f"{ROOT}/mem")
    assert images.exists(f"{ROOT}/mem")
    assert monitor.status() == "running"
    monitor.quit()
    with pytest.raises(BackendError, match="not a complete memory state"):
        launcher.launch("dom", [DiskAttachment("vda", B, "qcow2"),
                                DiskAttachment("vdb", f"{ROOT}/c.qcow2", "qcow2")],
                        incoming=f"{ROOT}/mem")


def test_transaction_faults_are_all_or_nothing() -> None:
    actions = [SnapshotAction("vda", OVER), SnapshotAction("vdb", f"{ROOT}/c.o")]
    images, _, monitor = running(Fault("transaction"))
    with pytest.raises(InjectedFault):
        monitor.transaction(actions)
    assert (monitor.chain("vda"), images.exists(OVER)) == ((B, A), False)
    images, _, monitor = running(Fault("transaction", when=When.AFTER))
    with pytest.raises(InjectedFault):
        monitor.transaction(actions)
    assert (monitor.chain("vda"), monitor.chain("vdb")) == ((OVER, B, A), (f"{ROOT}/c.o",
                                                                        f"{ROOT}/c.qcow2"))


@pytest.mark.parametrize("when", list(When))
def test_savevm_loadvm_delvm_faults(when: When) -> None:
    images, _, monitor = running(Fault("savevm", when=when), Fault("loadvm", when=when),
                                 Fault("delvm", occurrence=1, when=when))
    with pytest.raises(InjectedFault):
        monitor.savevm("s")
    assert images.snapshot_list(B) == (("s",) if when is When.AFTER else ())
    monitor.savevm("s")
    monitor.write("vda", 0, 7)
    with pytest.raises(InjectedFault):
        monitor.loadvm("s")
    assert monitor.read("vda")[0] == (1 if when is When.AFTER else 7)
    with pytest.raises(InjectedFault):
        monitor.delvm("s")
    assert images.snapshot_list(B) == (() if when is When.AFTER else ("s",))


@pytest.mark.parametrize("when", list(When))
def test_a_failed_launch_holds_nothing(when: When) -> None:
    images, launcher, _ = world(Fault("launch", when=when))
    with pytest.raises(InjectedFault):
        launcher.launch("dom", [DiskAttachment("vda", B, "qcow2")])
    images.write(B, "qcow2", 0, 2)
    launcher.launch("dom", [DiskAttachment("vda", B, "qcow2")]).quit()


@pytest.mark.parametrize("verb", ["stop", "cont", "quit"])
def test_run_state_faults(verb: str) -> None:
    images, launcher, _ = world(Fault(verb), Fault(verb, occurrence=2, when=When.AFTER))
    monitor = launcher.launch("dom", [DiskAttachment("vda", B, "qcow2")], paused=verb == "cont")
    before = monitor.status()
    with pytest.raises(InjectedFault):
        getattr(monitor, verb)()
    assert monitor.status() == before
    with pytest.raises(InjectedFault):
        getattr(monitor, verb)()
    if verb == "quit":
        images.write(B, "qcow2", 0, 3)
    else:
        assert monitor.status() == {"stop": "paused", "cont": "running"}[verb]


def run_with_rate(seed: int, rate: float) -> list[tuple[str, str, int, When]]:
    """The faults fired over 40 writes with a seeded rate on writes."""
    plan = FaultPlan(rate=rate, seed=seed, rate_verbs=frozenset({"write"}))
    images = FakeImageTool(ROOT, plan)
    images.create(A, "qcow2")
    for block in range(40):
        with contextlib.suppress(InjectedFault):
            images.write(A, "qcow2", block % DISK_BLOCKS, 1 + block)
    return plan.fired


def test_a_seeded_rate_is_reproducible() -> None:
    assert run_with_rate(7, 0.3) == run_with_rate(7, 0.3)
    assert run_with_rate(7, 0.3) != run_with_rate(8, 0.3)
    assert run_with_rate(7, 0.0) == []
    assert [n for _, _, n, _ in run_with_rate(7, 1.0)] == list(range(1, 41))


def test_fault_rules_are_validated() -> None:
    with pytest.raises(ValueError, match="source"):
        Fault("write", source="disk")
    with pytest.raises(ValueError):
        Fault("write", occurrence=0)
    with pytest.raises(ValueError):
        FaultPlan(rate=1.5)
