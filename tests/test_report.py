"""``snaporacle report``: what the page holds, bad input, determinism, and the committed copy."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path

import pytest

from snaporacle.cli import main
from snaporacle.errors import CorpusError
from snaporacle.profiles import PROFILE_DIR, profile_names
from snaporacle.report import load_findings, parse_findings
from snaporacle.traces import load_trace

ROOT = Path(__file__).resolve().parents[1]
EXPLORE_JSON = ROOT / "docs" / "explore-fake.json"
COMMITTED = ROOT / "docs" / "report.html"
#: The one command that regenerates docs/report.html, run from the repository's root.
REGENERATE = "snaporacle report --explore-json docs/explore-fake.json --out docs/report.html"


def _report(tmp_path: Path, *args: str) -> str:
    out = tmp_path / "report.html"
    assert main(["report", *args, "--out", str(out)]) == 0
    return out.read_text(encoding="utf-8")


def _matrix_cells(page: str, profile: str) -> list[str]:
    return re.findall(rf'<td class="cell outcome-\w+" data-profile="{re.escape(profile)}" '
                      r'data-key="([^"]+)"', page)


def test_committed_report_is_fresh(tmp_path: Path) -> None:
    page = _report(tmp_path, "--explore-json", str(EXPLORE_JSON))
    assert COMMITTED.read_text(encoding="utf-8") == page, (
        f"docs/report.html is stale: regenerate it from the repository's root with\n  {REGENERATE}"
    )


def test_every_committed_profile_has_its_64_cells_by_default(tmp_path: Path) -> None:
    page = _report(tmp_path)
    names = profile_names()
    assert len(names) >= 4
    for name in names:
        cells = _matrix_cells(page, name)
        assert len(cells) == 64 and len(set(cells)) == 64, name
    # a profile file added to corpus/profiles/ shows up with no change to the code
    shown = re.findall(r'<section class="profile" data-profile="([^"]+)">', page)
    assert shown == names


def test_a_profile_given_by_path_and_the_page_is_self_contained(tmp_path: Path) -> None:
    copy = tmp_path / "mine.toml"
    text = (PROFILE_DIR / "libvirt-current.toml").read_text().replace(
        'name = "libvirt-current"', 'name = "mine"')
    copy.write_text(text)
    page = _report(tmp_path, "--profile", "plan-1.0.1", "--profile", str(copy), "--no-findings")
    assert len(_matrix_cells(page, "mine")) == 64
    assert 'id="findings"' not in page and 'id="explore"' not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # no external asset
    assert "<link" not in page and str(ROOT) not in page


def test_the_page_is_deterministic(tmp_path: Path) -> None:
    first = _report(tmp_path, "--explore-json", str(EXPLORE_JSON))
    assert _report(tmp_path, "--explore-json", str(EXPLORE_JSON)) == first


def test_findings_are_drawn_step_by_step_with_their_versions(tmp_path: Path) -> None:
    page = _report(tmp_path, "--no-findings")
    assert 'id="findings"' not in page
    page = _report(tmp_path)
    findings = load_findings(ROOT / "corpus" / "findings.toml")
    assert len(findings) >= 6
    for finding in findings:
        match = re.search(rf'<article class="finding" id="finding-{finding.id}">(.*?)</article>',
                          page, re.DOTALL)
        assert match, finding.id
        article = match.group(1)
        steps = load_trace(ROOT / "corpus" / "traces" / finding.trace, "/r").steps
        assert article.count('<td class="number">') == len(steps)
        for version in finding.versions:
            assert f"<td>{version.libvirt}</td><td><code>{version.driver}</code></td>" in article


def test_the_explore_run_shows_coverage_operations_and_divergences(tmp_path: Path) -> None:
    page = _report(tmp_path, "--explore-json", str(EXPLORE_JSON), "--no-findings")
    section = page[page.index('<section id="explore">'):]
    cells = re.findall(r'<td class="cell status-(\w+)" data-key="([^"]+)"', section)
    assert len(cells) == 64
    assert {status for status, _ in cells} <= {"reached", "swept"}
    assert "<td>create</td>" in section
    assert "No divergence" in section


def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"examples": 1}')
    for args in (["--diff", "plan-1.0.1", "no-such"],
                 ["--profile", "no-such-profile"],
                 ["--profile", "plan-1.0.1", "--profile", "plan-1.0.1"],
                 ["--explore-json", str(tmp_path / "missing.json")],
                 ["--explore-json", str(bad_json)],
                 ["--findings", str(tmp_path / "missing.toml")]):
        assert main(["report", *args, "--out", str(out)]) == 1, args
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1, (args, captured.err)
        assert captured.err.startswith("snaporacle report: ")
        assert not out.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[findings]]\nid = 'a'\n", "'title' must be a non-empty string"),
        ("x = 1\n", "no [[findings]] tables"),
        ("[[findings]]\nid='a'\ntitle='t'\ntrace='t.json'\nimpact='i'\n",
         "needs at least one [[findings.versions]] table"),
        ("[[findings]]\nid='a'\ntitle='t'\ntrace='t.json'\nimpact='i'\nwhen='x'\n",
         "unknown key(s) when"),
        ("[[findings]]\nid='a'\ntitle='t'\ntrace='t.json'\nimpact='i'\n"
         "[[findings.versions]]\nlibvirt='9.0.0'\ndriver='test:///default'\nholds='yes'\n",
         "'holds' must be true or false"),
        ("[[findings]]\nid='a'\ntitle='t'\ntrace='t.json'\nimpact='i'\n"
         "[[findings.versions]]\nlibvirt='9.0.0'\ndriver='d'\nholds=true\n"
         "[[findings]]\nid='a'\ntitle='t'\ntrace='t.json'\nimpact='i'\n"
         "[[findings.versions]]\nlibvirt='9.0.0'\ndriver='d'\nholds=true\n",
         "finding id(s) a given twice"),
    ],
)
def test_a_bad_findings_file_names_the_file_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(CorpusError) as caught:
        parse_findings(text, "f.toml")
    assert str(caught.value).startswith("f.toml") and message in str(caught.value)


def test_findings_take_a_new_version_per_finding() -> None:
    text = (ROOT / "corpus" / "findings.toml").read_text()
    text += ("\n[[findings.versions]]\nlibvirt = \"11.3.0\"\ndriver = \"qemu:///embed\"\n"
             "holds = false\nnote = \"fixed\"\n")
    findings = parse_findings(text)
    assert [v.libvirt for v in findings[-1].versions][-1] == "11.3.0"


def test_the_templates_ship_in_the_wheel() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["*"]
    templates = ROOT / "snaporacle" / "report" / "templates"
    files = [p.name for p in templates.iterdir()]
    assert files
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name


def test_observed_runs_give_the_findings_their_actual_results(tmp_path: Path) -> None:
    findings = load_findings(ROOT / "corpus" / "findings.toml")
    page = _report(tmp_path)
    for finding in findings:
        for version in finding.versions:
            if version.observed:
                recorded = json.loads((ROOT / "corpus" / version.observed).read_text())
                assert recorded["version"] == 1 and all("actual" in s for s in recorded["steps"])
        if any(v.observed for v in finding.versions):
            article = page.split(f'id="finding-{finding.id}"', 1)[1].split("</article>", 1)[0]
            assert "actual results\n      from libvirt" in article, finding.id
            assert article.count('<span class="outcome outcome-') > len(
                load_trace(ROOT / "corpus" / "traces" / finding.trace, "/r").steps)


def test_replay_record_writes_each_run_as_a_trace(tmp_path: Path) -> None:
    trace = ROOT / "corpus" / "traces" / "revert-internal-after-external-offline.json"
    assert main(["replay", str(trace), "--record", str(tmp_path)]) == 0
    recorded = tmp_path / trace.name
    document = json.loads(recorded.read_text())
    assert document["adapter"] == "fake" and document["profile"] == "libvirt-9.0-qemu-embed"
    assert document["differences"] == []
    steps = document["steps"]
    assert len(steps) == len(load_trace(trace, "/r").steps)
    assert all({"op", "expected", "actual"} <= set(step) for step in steps)
    assert "${ROOT}" in json.dumps(steps[0]["op"])
    assert main(["replay", str(recorded)]) == 0  # the record replays as a trace


def test_replay_record_needs_an_existing_folder(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    trace = ROOT / "corpus" / "traces" / "revert-internal-after-external-offline.json"
    assert main(["replay", str(trace), "--record", str(tmp_path / "missing")]) == 1
    assert "--record" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()


def test_every_finding_trace_is_in_the_findings_file() -> None:
    listed = {f.trace for f in load_findings(ROOT / "corpus" / "findings.toml")}
    marked = {path.name for path in (ROOT / "corpus" / "traces").glob("*.json")
              if "finding" in json.loads(path.read_text())}
    assert marked <= listed, f"add these to corpus/findings.toml: {sorted(marked - listed)}"
    assert all((ROOT / "corpus" / "traces" / name).is_file() for name in listed)
