"""``snaporacle xml format``: output on stdout, or one line on stderr and status 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from snaporacle.cli import main
from snaporacle.model.snapshot_xml import MAX_DOCUMENT_BYTES

SNAP = """<domainsnapshot>
  <name>cli</name>
  <memory file="/srv/mem/cli.img"/>
</domainsnapshot>
"""


def _write(tmp_path: Path, text: str | bytes, name: str = "snap.xml") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def test_format_prints_libvirt_form(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["xml", "format", _write(tmp_path, SNAP), "--creation-time", "7"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out == (
        "<domainsnapshot>\n  <name>cli</name>\n  <creationTime>7</creationTime>\n"
        "  <memory snapshot='external' file='/srv/mem/cli.img'/>\n</domainsnapshot>\n"
    )


@pytest.mark.parametrize(
    ("flags", "memory", "state"),
    [
        (["--state", "running"], "internal", "running"),
        (["--state", "paused"], "internal", "paused"),
        (["--state", "shutoff"], "no", "shutoff"),
        (["--disk-only"], "no", "disk-snapshot"),
        (["--state", "shutoff", "--disk-only"], "no", "shutoff"),
    ],
)
def test_state_applies_the_memory_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], memory: str, state: str
) -> None:
    path = _write(tmp_path, "<domainsnapshot><name>d</name></domainsnapshot>")
    assert main(["xml", "format", path, *flags]) == 0
    out = capsys.readouterr().out
    assert f"<memory snapshot='{memory}'/>" in out
    assert f"<state>{state}</state>" in out


def test_redefine_internal_and_uuid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = ("<domainsnapshot><name>r</name><state>shutoff</state>"
            "<creationTime>9</creationTime><active>1</active></domainsnapshot>")
    args = ["xml", "format", _write(tmp_path, text), "--redefine", "--internal", "--uuid", "U-1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "<memory snapshot='no'/>" in out and "<active>1</active>" in out
    assert "<domain>\n    <uuid>U-1</uuid>\n  </domain>" in out


@pytest.mark.parametrize(
    ("text", "flags", "fragment"),
    [
        ("<domainsnapshot>\n<memory snapshot='external'/>\n</domainsnapshot>", [],
         "snap.xml:2: external memory snapshots require a filename"),
        ("<domainsnapshot><name>n</name></domainsnapshot>", ["--redefine"],
         "missing creationTime"),
        (SNAP, ["--state", "shutoff"], "memory state cannot be saved"),
        ("<domainsnapshot>\n<name>x</name>\n<bogus/>\n</domainsnapshot>", ["--validate"],
         "snap.xml:3: not a valid <domainsnapshot>"),
        ("<domainsnapshot><name>", [], "not well-formed XML"),
        (b"<domainsnapshot>" + b" " * MAX_DOCUMENT_BYTES + b"</domainsnapshot>", [],
         "more than the limit"),
    ],
)
def test_invalid_input_is_one_line_on_stderr(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str | bytes,
    flags: list[str],
    fragment: str,
) -> None:
    assert main(["xml", "format", _write(tmp_path, text), *flags]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("snaporacle xml: ")
    assert fragment in err


def test_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["xml", "format", str(tmp_path / "absent.xml")]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "cannot read the file" in err


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["xml", "format", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "snaporacle xml format corpus/xml/in/memory-external.xml --state running" in out


def test_bad_state_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["xml", "format", _write(tmp_path, SNAP), "--state", "asleep"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
