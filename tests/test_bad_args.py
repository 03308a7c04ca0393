"""Bad arguments and corpus files: one line each, before any work starts, nothing changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from snaporacle.cli import main

REPO = Path(__file__).resolve().parents[1]
GOOD_TRACE = REPO / "corpus" / "traces" / "revert-internal-after-external-offline.json"


def one_line(capsys: pytest.CaptureFixture[str], *argv: str, status: int) -> str:
    """Run the command line; it must end with ``status`` and print exactly one line on stderr."""
    with pytest.raises(SystemExit) as end:
        sys.exit(main(list(argv)))
    assert end.value.code == status
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--examples", "-1"], "--examples: must be 1 or more, not -1"),
        (["--examples", "0"], "--examples: must be 1 or more, not 0"),
        (["--steps", "0"], "--steps: must be 1 or more, not 0"),
        (["--examples", "many"], "'many' is not a whole number"),
    ],
)
def test_counts_out_of_range_are_refused_by_the_parser(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str,
) -> None:
    assert says in one_line(capsys, "explore", *argv, status=2)


def test_output_paths_that_cannot_be_written_are_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("keep\n")
    cases = [
        (["--report-json", str(tmp_path / "missing" / "r.json")], "does not exist"),
        (["--report-json", str(tmp_path)], "is a folder"),
        (["--save-traces", str(a_file)], "is a file"),
        (["--save-traces", str(a_file / "sub")], "is a file"),
    ]
    for argv, says in cases:
        assert says in one_line(capsys, "explore", *argv, status=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
    assert a_file.read_text() == "keep\n"


@pytest.mark.parametrize("adapter", ["os:system", ":", "os:", "os:path", "collections:OrderedDict"])
def test_an_import_path_that_is_no_adapter_class_is_refused(
    capsys: pytest.CaptureFixture[str], adapter: str,
) -> None:
    for command in (["explore"], ["replay", str(GOOD_TRACE)]):
        err = one_line(capsys, *command, "--adapter", adapter, status=1)
        assert "an adapter is a class with name, root, capabilities, apply(op)" in err


def _trace(path: Path, mutate: object) -> Path:
    document = json.loads(GOOD_TRACE.read_text())
    assert callable(mutate)
    mutate(document)
    path.write_text(json.dumps(document))
    return path


def _block_as_text(document: dict[str, list[dict[str, dict[str, object]]]]) -> None:
    for step in document["steps"]:
        if step["op"]["op"] == "write":
            step["op"]["block"] = "1"
            return
    raise AssertionError("the trace has no write")


def _nul_in_a_path(document: dict[str, list[dict[str, dict[str, object]]]]) -> None:
    domain = document["steps"][0]["op"]["domain"]
    assert isinstance(domain, dict)
    domain["disks"][0]["source"] += "\x00.qcow2"


def test_replay_names_each_bad_file_and_step_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "traces"
    folder.mkdir()
    block = _trace(folder / "a-block.json", _block_as_text)
    deep = folder / "b-deep.json"
    deep.write_text('{"version": 1, "steps": [{"op": ' + "[" * 200_000 + "]" * 200_000 + "}]}")
    nul = _trace(folder / "c-nul.json", _nul_in_a_path)
    good = folder / "d-good.json"
    good.write_text(GOOD_TRACE.read_text())
    missing = tmp_path / "missing.json"
    assert main(["replay", str(folder), str(missing)]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = out.splitlines()
    assert [line.split()[0] for line in lines if not line.startswith(" ")] == [
        "ERROR", "ERROR", "ERROR", "ok", "ERROR",
    ]
    text = "\n".join(lines)
    step = 1 + [s["op"]["op"] for s in json.loads(GOOD_TRACE.read_text())["steps"]].index("write")
    assert f"{block}: step {step}: write: field 'block' is '1', not int" in text
    assert f"{deep}: JSON nested too deeply to be a trace" in text
    assert f"{nul}: step 1: define:" in text and "NUL byte" in text
    assert f"{missing}: no such file or folder" in text


def test_explore_writes_no_hypothesis_folder_where_it_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    work = tmp_path / "work"
    work.mkdir()
    subprocess.run(
        [sys.executable, "-m", "snaporacle", "explore", "--examples", "30", "--steps", "5"],
        cwd=work, env=env, check=True, capture_output=True,
    )
    assert list(work.iterdir()) == []
