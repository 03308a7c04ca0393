"""--junit-xml and --summary-markdown of explore and replay, read back by a real JUnit consumer."""

from __future__ import annotations

from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml, Skipped
from lxml import etree

from snaporacle.adapters.fake import FakeAdapter
from snaporacle.cli import main
from snaporacle.model.modes import CreateFlag, Outcome
from snaporacle.model.ops import CreateSnapshot, DefineDomain, Op, Result
from snaporacle.model.profile import ALL_CELLS

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CELL_KEYS = [cell.key() for cell in ALL_CELLS]


class RefusesDiskOnly(FakeAdapter):
    """The fake adapter, except that it refuses every DISK_ONLY snapshot of a defined domain."""

    defined: set[str]

    def reset(self) -> None:
        super().reset()
        self.defined = set()

    def apply(self, op: Op) -> Result:
        if isinstance(op, DefineDomain):
            self.defined.add(op.domain.name)
        if (isinstance(op, CreateSnapshot) and op.flags & CreateFlag.DISK_ONLY
                and op.domain in self.defined):
            return Result.refused(Outcome.UNSUPPORTED, "VIR_ERR_OPERATION_UNSUPPORTED",
                                  "no DISK_ONLY here")
        return super().apply(op)


def _cases(path: Path) -> list:  # type: ignore[type-arg]
    suites = list(JUnitXml.fromfile(str(path)))
    assert len(suites) == 1
    return list(suites[0])


def _status(case) -> str:  # type: ignore[no-untyped-def]
    if any(isinstance(r, Failure) for r in case.result):
        return "failed"
    if any(isinstance(r, Skipped) for r in case.result):
        return "skipped"
    return "passed"


def test_explore_junit_has_one_passing_case_per_cell(tmp_path: Path) -> None:
    junit, summary, svg = tmp_path / "explore.xml", tmp_path / "summary.md", tmp_path / "s.svg"
    status = main(["explore", "--examples", "5", "--steps", "10", "--seed", "2",
                   "--save-traces", str(tmp_path / "traces"), "--summary-svg", str(svg),
                   "--junit-xml", str(junit), "--summary-markdown", str(summary)])
    assert status == 0
    picture = etree.fromstring(svg.read_bytes())
    assert picture.tag == "{http://www.w3.org/2000/svg}svg"
    drawn = "".join(picture.itertext()).replace("\xa0", " ")
    assert "table cells covered: 64/64" in drawn and "0 divergence(s)" in drawn
    cases = _cases(junit)
    assert [case.name for case in cases] == CELL_KEYS
    assert {_status(case) for case in cases} == {"passed"}
    suite = next(iter(JUnitXml.fromfile(str(junit))))
    assert (suite.tests, suite.failures, suite.skipped) == (64, 0, 0)
    text = summary.read_text()
    assert "## snaporacle explore: `fake` against `libvirt-current`" in text
    assert "64/64 cells" in text and "no divergence" in text
    assert text.count("\n| ") >= 16 + 2  # the 16 rows of the cell matrix and the operations


def test_explore_divergence_is_a_failure_with_the_minimal_trace(tmp_path: Path) -> None:
    junit, summary = tmp_path / "explore.xml", tmp_path / "summary.md"
    status = main(["explore", "--adapter", "tests.test_report_ci:RefusesDiskOnly",
                   "--examples", "50", "--steps", "10", "--seed", "1",
                   "--save-traces", str(tmp_path / "traces"),
                   "--junit-xml", str(junit), "--summary-markdown", str(summary)])
    assert status == 1
    cases = _cases(junit)
    failed = [case for case in cases if _status(case) == "failed"]
    cells = [case for case in failed if case.name in CELL_KEYS]
    traces = [case for case in failed if case.name not in CELL_KEYS]
    assert len(cells) == 1 and cells[0].name.endswith("/disk-only")
    assert len(traces) == 1 and traces[0].name.endswith(".json")
    assert Path(traces[0].name).is_file()
    failure = next(r for r in traces[0].result if isinstance(r, Failure))
    assert failure.message.startswith("divergence at step ")
    text = failure.text
    assert "step 1: define d0" in text
    assert "expected: accepted" in text
    assert "actual:   unsupported VIR_ERR_OPERATION_UNSUPPORTED (no DISK_ONLY here)" in text
    assert "differences:" in text
    # the cells the run never reached (it stops at the divergence) are skipped, not passed
    assert len(cases) == 64 + 1
    markdown = summary.read_text()
    assert "**1 divergence(s)**" in markdown and "| # | operation | expected | actual |" in markdown


def test_replay_junit_has_a_case_per_file_and_per_profile_cell(tmp_path: Path) -> None:
    junit, summary = tmp_path / "replay.xml", tmp_path / "summary.md"
    traces = sorted((CORPUS / "traces").glob("*.json"))
    status = main(["replay", str(CORPUS / "traces"), str(CORPUS / "profiles" / "plan-1.0.1.toml"),
                   str(CORPUS / "xml" / "manifest.toml"),
                   "--junit-xml", str(junit), "--summary-markdown", str(summary)])
    assert status == 1  # the fake follows libvirt-current, not the 2012 plan
    cases = _cases(junit)
    by_class: dict[str, list] = {}  # type: ignore[type-arg]
    for case in cases:
        by_class.setdefault(case.classname, []).append(case)
    assert [case.name for case in by_class["replay.trace"]] == [str(p) for p in traces]
    assert {_status(case) for case in by_class["replay.trace"]} == {"passed"}
    assert [_status(case) for case in by_class["replay.xml"]] == ["passed"]
    profile_cases = by_class[f"replay.profile.{CORPUS / 'profiles' / 'plan-1.0.1.toml'}"]
    assert [case.name for case in profile_cases] == CELL_KEYS
    statuses = [_status(case) for case in profile_cases]
    first = statuses.index("failed")
    assert statuses[:first] == ["passed"] * first
    assert set(statuses[first + 1:]) == {"skipped"}
    failure = next(r for r in profile_cases[first].result if isinstance(r, Failure))
    assert "expected:" in failure.text and "actual:" in failure.text
    markdown = summary.read_text()
    assert "**1 diverged**" in markdown and "| DIVERGED | profile | 64 |" in markdown


def test_a_missing_output_folder_is_refused_before_the_run(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["replay", str(CORPUS / "xml" / "manifest.toml"),
                   "--junit-xml", str(tmp_path / "no" / "such.xml")])
    assert status == 1
    err = capsys.readouterr()
    assert err.out == ""
    assert "--junit-xml" in err.err and "create it first" in err.err
    assert not (tmp_path / "no").exists()
