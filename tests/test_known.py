"""Known findings (``explore --known-finding``): an example that diverges as a kept trace does is
dropped and counted, the run goes on, and another bug is still found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.mutants import ListsOnlyRoots
from snaporacle.adapters.fake import FakeAdapter
from snaporacle.cli import main
from snaporacle.explorer import explore
from snaporacle.known import divergence_signature, load_known, trace_paths
from snaporacle.lockstep import Divergence, Step
from snaporacle.model.ops import CurrentSnapshot, DefineDomain, DeleteSnapshot, Op, Result
from snaporacle.profiles import load_profile
from snaporacle.traces import save_divergence

PROFILE = load_profile("libvirt-current")


class CurrentFails(FakeAdapter):
    """A driver whose "current snapshot" query fails whenever there is one: one bug, one
    symptom."""

    def apply(self, op: Op) -> Result:
        record = self.driver.domains.get(op.domain) if isinstance(op, CurrentSnapshot) else None
        if record is not None and record.current is not None:
            return Result.failed("VIR_ERR_INTERNAL_ERROR", "internal error: no current snapshot")
        return super().apply(op)


def _found(adapter: FakeAdapter, seed: int) -> Divergence:
    result = explore(adapter, PROFILE, examples=200, steps=12, seed=seed, sweep=False)
    assert result.divergences, "the broken adapter's bug was not found"
    return result.divergences[0]


@pytest.fixture
def known_trace(tmp_path: Path) -> Path:
    adapter = CurrentFails()
    try:
        divergence = _found(adapter, 1)
        return save_divergence(divergence, tmp_path, adapter.name, PROFILE.name, adapter.root)
    finally:
        adapter.close()


def test_a_known_finding_is_dropped_and_counted(known_trace: Path) -> None:
    adapter = CurrentFails()
    try:
        known = load_known(adapter, PROFILE, [known_trace])
        assert known[0].signature is not None
        result = explore(adapter, PROFILE, examples=200, steps=12, seed=2, sweep=False,
                         known=known)
    finally:
        adapter.close()
    assert result.divergences == ()
    assert result.coverage.known[known_trace.stem] >= 1
    report = result.as_json(200, 12)
    assert report["known_findings"] == {known_trace.stem: result.coverage.known[known_trace.stem]}


def test_another_bug_is_still_found(known_trace: Path) -> None:
    adapter = ListsOnlyRoots()
    try:
        known = load_known(adapter, PROFILE, [known_trace])
        result = explore(adapter, PROFILE, examples=200, steps=30, seed=2, sweep=False,
                         known=known)
    finally:
        adapter.close()
    assert result.divergences
    assert divergence_signature(result.divergences[0]) != known[0].signature


def test_a_trace_that_replays_cleanly_matches_nothing(known_trace: Path) -> None:
    adapter = FakeAdapter()
    try:
        known = load_known(adapter, PROFILE, [known_trace])
    finally:
        adapter.close()
    assert known[0].signature is None


def test_the_signature_ignores_names_numbers_and_the_work_directory() -> None:
    adapter = CurrentFails()
    try:
        first, second = _found(adapter, 1), _found(adapter, 3)
    finally:
        adapter.close()
    assert divergence_signature(first) == divergence_signature(second)
    assert adapter.root not in divergence_signature(first)[1]


def test_the_cli_reports_known_findings(known_trace: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.json"
    status = main(["explore", "--adapter", "tests.test_known:CurrentFails", "--examples",
                   "200", "--steps", "12", "--seed", "2", "--database", "none", "--no-sweep",
                   "--known-finding", str(known_trace.parent), "--report-json", str(report),
                   "--save-traces", str(tmp_path / "found")])
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"known finding {known_trace.stem}: diverges here" in out
    assert "examples dropped at known findings" in out
    assert json.loads(report.read_text())["known_findings"]


def test_a_missing_known_finding_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["explore", "--adapter", "fake", "--known-finding", "/nonexistent/trace.json"])
    err = capsys.readouterr().err
    assert status != 0
    assert "no such trace file or folder" in err
    assert "Traceback" not in err


def test_trace_paths_takes_files_and_folders(known_trace: Path) -> None:
    assert trace_paths([known_trace.parent]) == [known_trace]
    assert trace_paths([known_trace]) == [known_trace]


class DefineFails(FakeAdapter):
    """Every example meets this bug at its first step."""

    def apply(self, op: Op) -> Result:
        if isinstance(op, DefineDomain):
            return Result.failed("VIR_ERR_INTERNAL_ERROR", "internal error: broken define")
        return super().apply(op)


def test_a_run_where_every_example_meets_a_known_finding_ends_cleanly(tmp_path: Path) -> None:
    adapter = DefineFails()
    try:
        found = explore(adapter, PROFILE, examples=10, steps=5, seed=1, sweep=False)
        path = save_divergence(found.divergences[0], tmp_path, adapter.name, PROFILE.name,
                               adapter.root)
        known = load_known(adapter, PROFILE, [path])
        result = explore(adapter, PROFILE, examples=10, steps=5, seed=2, known=known)
    finally:
        adapter.close()
    assert result.divergences == ()
    assert result.coverage.known[path.stem] >= 1


def test_the_signature_knows_a_file_by_its_kind_not_its_name() -> None:
    def divergence(difference: str) -> Divergence:
        op = DeleteSnapshot("d0", "s3")
        return Divergence([Step(op, Result.ok(), Result.ok())], [difference], None, "/r")

    left = divergence("memory_files: expected [], actual ['d0-s3.mem']")
    assert divergence_signature(left) == divergence_signature(
        divergence("memory_files: expected [], actual ['s1.mem']"))
    assert divergence_signature(left) != divergence_signature(
        divergence("memory_files: expected [], actual ['d0-vda.s3']"))
    # what other domains hold beside it does not count
    assert divergence_signature(left) == divergence_signature(
        divergence("memory_files: expected ['d2-s1.mem'], actual ['d0-s3.mem', 'd2-s1.mem']"))
