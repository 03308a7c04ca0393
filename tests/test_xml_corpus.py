"""snaporacle's own XML corpus (corpus/xml/manifest.toml), and the manifest loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from snaporacle.corpus_xml import MANIFEST_PATH, CaseMode, XmlCase, load_manifest
from snaporacle.errors import CorpusError, SnapshotXMLError
from snaporacle.model.modes import DiskMode, DomainState, MemoryMode
from snaporacle.model.snapshot_xml import (
    parse_snapshot,
    reformat_snapshot,
    validate_snapshot_xml,
)

CASES = load_manifest()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_corpus_case(case: XmlCase) -> None:
    data = case.input.read_bytes()
    if case.mode is CaseMode.OUTPUT:
        assert case.expect is not None
        output = reformat_snapshot(data, case.options, source=case.input.name)
        assert output == case.expect.read_text(encoding="utf-8")
        validate_snapshot_xml(output, source=f"output of {case.name}")
        return
    with pytest.raises(SnapshotXMLError) as caught:
        reformat_snapshot(data, case.options, source=case.input.name)
    assert caught.value.error == case.error
    assert case.message is not None and case.message in str(caught.value)
    assert case.input.name in str(caught.value)
    assert "\n" not in str(caught.value)


def test_corpus_is_large_and_covers_every_mode_and_state() -> None:
    outputs = [case for case in CASES if case.mode is CaseMode.OUTPUT]
    errors = [case for case in CASES if case.mode is CaseMode.ERROR]
    assert len(outputs) >= 30 and len(errors) >= 25
    memory_modes: set[MemoryMode | None] = set()
    disk_modes: set[DiskMode | None] = set()
    for case in outputs:
        assert case.expect is not None
        definition = parse_snapshot(case.expect.read_bytes())
        memory_modes.add(definition.memory_mode)
        disk_modes |= {disk.snapshot for disk in definition.disks or ()}
    assert set(MemoryMode) <= memory_modes
    assert set(DiskMode) <= disk_modes
    states = {(case.options.domain_state, case.options.disk_only) for case in outputs}
    assert {(state, False) for state in DomainState} <= states
    assert {(DomainState.RUNNING, True), (DomainState.SHUTOFF, True)} <= states


def test_every_corpus_file_is_used() -> None:
    folder = MANIFEST_PATH.parent
    used = {case.input for case in CASES} | {case.expect for case in CASES if case.expect}
    assert set(folder.glob("*/*.xml")) == used


def _write_manifest(tmp_path: Path, body: str) -> Path:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.xml").write_text("<domainsnapshot/>\n")
    path = tmp_path / "manifest.toml"
    path.write_text(body)
    return path


GOOD = '[[cases]]\nname = "a"\nabout = "x"\ninput = "in/a.xml"\nexpect = "in/a.xml"\n'


def test_loader_reads_a_minimal_manifest(tmp_path: Path) -> None:
    (case,) = load_manifest(_write_manifest(tmp_path, GOOD))
    assert (case.name, case.line, case.mode) == ("a", 1, CaseMode.OUTPUT)
    assert case.expect == tmp_path / "in" / "a.xml"


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        (GOOD + "\n" + GOOD, 7, "already used at line 1"),
        (GOOD + "\n[[cases]]\nname = \"b\"\nabout = \"x\"\ninput = \"in/zz.xml\"\n"
         "expect = \"in/a.xml\"\n", 7, "does not exist"),
        (GOOD.replace('expect = "in/a.xml"', 'error = "VIR_ERR_XML_ERROR"'), 1,
         "message is required"),
        (GOOD + 'error = "VIR_ERR_XML_ERROR"\nmessage = "m"\n', 1, "not both"),
        (GOOD + "state = \"sleeping\"\n", 1, "state must be one of"),
        (GOOD + "creation_time = \"soon\"\n", 1, "creation_time must be a int"),
        (GOOD + "redefine = 1\n", 1, "redefine must be a bool"),
        (GOOD + "flavour = 1\n", 1, "unknown key(s) flavour"),
        (GOOD.replace('input = "in/a.xml"', 'input = "../a.xml"'), 1, "relative path"),
        (GOOD.replace('name = "a"', 'name = "a b"'), 1, "letters, digits"),
        ('\n\n[[cases]]\nname = "a"\ninput = "in/a.xml"\nexpect = "in/a.xml"\n', 3,
         "about is required"),
    ],
)
def test_loader_names_file_and_line(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    path = _write_manifest(tmp_path, body)
    with pytest.raises(CorpusError) as caught:
        load_manifest(path)
    assert f"{path}:{line}:" in str(caught.value)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [("cases = [", "not valid TOML"), ("title = 'x'\n", "unknown top-level"), ("", "no [[cases]]")],
)
def test_loader_rejects_a_broken_manifest(tmp_path: Path, body: str, fragment: str) -> None:
    path = _write_manifest(tmp_path, body)
    with pytest.raises(CorpusError, match=None) as caught:
        load_manifest(path)
    assert str(path) in str(caught.value) and fragment in str(caught.value)
