"""The explorer on the fake adapter: clean runs cover the table, seeded bugs are found and shrunk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.mutants import SwitchesBeforeTransaction
from snaporacle.adapters.fake import FakeAdapter
from snaporacle.cli import main
from snaporacle.corpus_replay import replay_file
from snaporacle.explorer import explore
from snaporacle.fakes.faults import FaultPlan
from snaporacle.model.modes import DiskMode
from snaporacle.model.profile import ALL_CELLS
from snaporacle.profiles import load_profile
from snaporacle.reference.driver import ReferenceDriver
from snaporacle.traces import save_divergence

PROFILE = load_profile("libvirt-current")


class NoReparent(ReferenceDriver):
    """Deletes a snapshot without re-parenting its children."""

    def _forget(self, record, victims):  # type: ignore[no-untyped-def]
        for name in victims:
            record.snapshots.pop(name)
            if record.current == name:
                record.current = None


class RecordsInternal(ReferenceDriver):
    """Does external disk snapshots but records them as internal."""

    def _take(self, plan):  # type: ignore[no-untyped-def]
        result = super()._take(plan)
        record = self.domains[plan.domain]
        name = result.value
        if isinstance(name, str) and name in record.snapshots:
            snap = record.snapshots[name]
            disks = tuple(
                type(d)(d.target, DiskMode.INTERNAL, d.frozen, d.overlay) for d in snap.disks
            )
            record.snapshots[name] = type(snap)(
                snap.name, snap.parent, snap.state, snap.memory, snap.memory_file, disks,
                snap.creation_time, snap.description,
            )
        return result


def test_reference_driver_agrees_with_the_model_and_covers_every_cell() -> None:
    ops: set[str] = set()
    for seed in (7, 8):
        result = explore(FakeAdapter(), PROFILE, examples=60, steps=30, seed=seed)
        assert result.divergences == ()
        assert result.coverage.cells == set(ALL_CELLS)
        assert result.coverage.steps > 60 * 10
        ops |= set(result.coverage.ops)
    # over two runs: Hypothesis' swarm (its feature flags) can leave a rule out of a whole run
    assert {"create", "revert", "delete", "write", "start"} <= ops


def test_reference_driver_keeps_its_failure_promise_under_faults() -> None:
    faults = FaultPlan(rate=0.3, seed=3, rate_verbs={"transaction", "savevm", "migrate_to_file",
                                                     "snapshot_create", "loadvm"})
    result = explore(FakeAdapter(faults=faults), PROFILE, examples=60, steps=25, seed=5,
                     allow_failures=True)
    assert result.divergences == ()


@pytest.mark.parametrize(
    ("driver", "faults"),
    [
        (NoReparent, None),
        (RecordsInternal, None),
        (SwitchesBeforeTransaction, FaultPlan(rate=0.5, seed=1, rate_verbs={"transaction"})),
    ],
    ids=["no-reparent", "records-internal", "loses-disk-on-failed-transaction"],
)
def test_seeded_bug_is_found_and_shrunk(driver: type[ReferenceDriver], faults: FaultPlan | None,
                                        tmp_path: Path) -> None:
    adapter = FakeAdapter(driver_class=driver, faults=faults)
    result = explore(adapter, PROFILE, examples=400, steps=25, seed=1,
                     allow_failures=faults is not None, shrink_seconds=10, sweep=False)
    assert len(result.divergences) == 1
    divergence = result.divergences[0]
    assert len(divergence.trace) <= 12, [step.op for step in divergence.trace]
    path = save_divergence(divergence, tmp_path, "fake", PROFILE.name, adapter.root)
    # the saved trace replays and diverges again on the broken driver
    assert not replay_file(FakeAdapter(driver_class=driver, faults=faults), path, None).ok


def test_explore_command_writes_the_report(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    status = main(["explore", "--examples", "10", "--steps", "10", "--seed", "1",
                   "--report-json", str(report), "--save-traces", str(tmp_path / "traces")])
    assert status == 0
    data = json.loads(report.read_text())
    assert {"examples", "steps", "seconds", "cells_covered", "divergences"} <= set(data)
    assert len(data["cells_covered"]) == 64
    assert data["divergences"] == []


def test_explore_command_exits_1_and_saves_a_trace_on_divergence(tmp_path: Path) -> None:
    traces = tmp_path / "traces"
    status = main(["explore", "--adapter", "tests.test_explorer:BrokenAdapter",
                   "--examples", "400", "--steps", "25", "--seed", "1", "--no-sweep",
                   "--save-traces", str(traces)])
    assert status == 1
    saved = list(traces.glob("*.json"))
    assert len(saved) == 1
    assert main(["replay", str(saved[0]), "--adapter", "fake"]) == 0
    assert main(["replay", str(saved[0]), "--adapter", "tests.test_explorer:BrokenAdapter"]) == 1


class BrokenAdapter(FakeAdapter):
    """The fake adapter over the driver that forgets to re-parent."""

    def __init__(self, **options: object) -> None:
        super().__init__(driver_class=NoReparent, **options)  # type: ignore[arg-type]


def test_replay_profiles_and_xml_manifest() -> None:
    root = Path(__file__).resolve().parents[1] / "corpus"
    assert replay_file(FakeAdapter(), root / "profiles" / "libvirt-current.toml", None).ok
    plan = replay_file(FakeAdapter(), root / "profiles" / "plan-1.0.1.toml", None)
    assert not plan.ok  # the fake follows libvirt-current, which differs from the 2012 plan
    assert replay_file(FakeAdapter(profile="plan-1.0.1"),
                       root / "profiles" / "plan-1.0.1.toml", None).ok
    assert replay_file(FakeAdapter(), root / "xml" / "manifest.toml", None).ok
