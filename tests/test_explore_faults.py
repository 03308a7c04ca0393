"""``snaporacle explore --faults``: the driver's promise on failure, checked from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from snaporacle.adapters.fake import FakeAdapter
from snaporacle.cli import main
from snaporacle.explorer import explore
from snaporacle.fakes.faults import MUTATING_VERBS, FaultPlan, When, parse_fault_plan
from snaporacle.profiles import load_profile
from snaporacle.reference.driver import ReferenceDriver

PROFILE = load_profile("libvirt-current")


def test_the_reference_driver_keeps_its_promise_under_random_faults(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    status = main(["explore", "--faults", "random:0.05", "--examples", "60", "--steps", "25",
                   "--seed", "2", "--report-json", str(report),
                   "--save-traces", str(tmp_path / "traces")])
    assert status == 0
    assert json.loads(report.read_text())["divergences"] == []


class ForgetsToRollBack(ReferenceDriver):
    """Leaves whatever a failed step did: tags, overlays, half-reverted disks."""

    def _rollback(self, undo):  # type: ignore[no-untyped-def]
        undo.steps.clear()


def test_a_driver_that_does_not_roll_back_breaks_the_promise() -> None:
    adapter = FakeAdapter(driver_class=ForgetsToRollBack,
                          faults=FaultPlan(rate=0.3, seed=1, rate_when=When.AFTER,
                                           rate_verbs={"snapshot_create", "savevm",
                                                       "transaction", "snapshot_apply"}))
    result = explore(adapter, PROFILE, examples=200, steps=25, seed=1, allow_failures=True,
                     sweep=False, shrink_seconds=10)
    assert len(result.divergences) == 1
    assert any("promise on failure" in d or "tag" in d
               for d in result.divergences[0].differences)


@pytest.mark.parametrize(
    ("spec", "rate", "when", "verbs"),
    [
        ("random:0.05", 0.05, None, MUTATING_VERBS),
        ("random:0.2,after,transaction,savevm", 0.2, When.AFTER, {"transaction", "savevm"}),
        ("random:1,before", 1.0, When.BEFORE, MUTATING_VERBS),
    ],
)
def test_fault_plans_parse(spec: str, rate: float, when: When | None, verbs: set[str]) -> None:
    plan = parse_fault_plan(spec, seed=7)
    assert (plan.rate, plan.rate_when, plan.rate_verbs, plan.seed) == (rate, when, verbs, 7)


@pytest.mark.parametrize("spec", ["0.05", "random:x", "random:0", "random:2", "random:0.1,sometimes"])
def test_a_bad_fault_plan_is_one_line_before_any_work(
    spec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["explore", "--faults", spec])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--faults" in err and "Traceback" not in err


def test_faults_need_the_fake_backends(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--faults", "random:0.1", "--adapter", "qemu", "--examples", "1"]) == 1
    assert "use --adapter fake" in capsys.readouterr().err
