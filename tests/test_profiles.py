"""Profiles: the shipped files load and round-trip, broken files are refused with a precise
message, and the shipped profiles agree cell by cell with SPEC.md, encoded here independently.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from snaporacle.errors import ProfileError
from snaporacle.model.modes import Column, DomainColumn
from snaporacle.model.profile import (
    ALL_CELLS,
    Accepted,
    Cell,
    Rejected,
    format_profile,
    parse_profile,
)
from snaporacle.profiles import load_profile, profile_names, profile_path

SHIPPED = ("plan-1.0.1", "libvirt-current")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_loads_with_every_cell_once(name: str) -> None:
    profile = load_profile(name)
    assert name in profile_names()
    assert profile.name == name
    assert [entry.cell for entry in profile] == list(ALL_CELLS)
    assert len(set(ALL_CELLS)) == 64


@pytest.mark.parametrize("name", SHIPPED)
def test_format_then_parse_gives_the_same_profile(name: str) -> None:
    profile = load_profile(name)
    assert parse_profile(format_profile(profile), "round-trip") == profile


@pytest.mark.parametrize("text", ["carriage\rreturn", "tab\tand \"quotes\"", "nul-free \x7f \u2028 é"])
def test_any_description_survives_the_round_trip(text: str) -> None:
    profile = attrs.evolve(load_profile("libvirt-current"), description=text,
                           provenance=(("note", text),))
    assert parse_profile(format_profile(profile), "round-trip") == profile


@pytest.mark.parametrize("name", SHIPPED)
def test_profile_by_path_equals_profile_by_name(name: str, tmp_path: Path) -> None:
    copy = tmp_path / "copy.toml"
    copy.write_text(profile_path(name).read_text())
    assert load_profile(str(copy)) == load_profile(name)


# --- broken profile files ------------------------------------------------------------------------

_KEY_LINE = re.compile(r'^(domain|memory|disk|disk_only) = "?([\w-]+)"?$')


def _blocks(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Cell key -> (index of its [[cells]] header, index past its last line)."""
    headers = [i for i, line in enumerate(lines) if line == "[[cells]]"] + [len(lines)]
    blocks: dict[str, tuple[int, int]] = {}
    for start, end in itertools.pairwise(headers):
        found = (_KEY_LINE.match(line) for line in lines[start:end])
        given = {m.group(1): m.group(2) for m in found if m}
        flag = "disk-only" if given["disk_only"] == "true" else "no-flag"
        key = f"{given['domain']}/memory={given['memory']}/disk={given['disk']}/{flag}"
        blocks[key] = (start, end)
    return blocks


ACCEPTED_KEY = "online/memory=external/disk=external/no-flag"
REJECTED_KEY = "offline/memory=internal/disk=no/disk-only"


#: An edit of the profile's lines: the new lines, the line the error names, the cell it names.
Edit = Callable[[list[str]], tuple[list[str], int, str]]


def _insert(key: str, line: str) -> Edit:
    """Add a line to a cell's table; the error is reported at the table's header."""

    def edit(lines: list[str]) -> tuple[list[str], int, str]:
        start, _ = _blocks(lines)[key]
        return [*lines[: start + 1], line, *lines[start + 1 :]], start + 1, key

    return edit


def _replace(key: str, old: str, new: str, label: str = "", at_header: bool = True) -> Edit:
    """Replace one line of a cell's table; the error names ``label`` (default: the cell)."""

    def edit(lines: list[str]) -> tuple[list[str], int, str]:
        start, end = _blocks(lines)[key]
        index = lines.index(old, start, end)
        lines = [*lines[:index], new, *lines[index + 1 :]]
        return lines, (start if at_header else index) + 1, label or key

    return edit


def _drop(lines: list[str]) -> tuple[list[str], int, str]:
    key = "online/memory=no/disk=internal/disk-only"
    start, end = _blocks(lines)[key]
    rest = lines[:start] + lines[end:]
    return rest, len(rest), key


def _repeat(lines: list[str]) -> tuple[list[str], int, str]:
    key = "offline/memory=omit/disk=no/no-flag"
    start, end = _blocks(lines)[key]
    block = lines[start:end]
    return [*lines, "", *block], len(lines) + 2, key


BROKEN = {
    "missing cell": (_drop, "missing cell"),
    "repeated cell": (_repeat, "given twice"),
    "unknown outcome": (
        _replace(ACCEPTED_KEY, 'outcome = "accepted"', 'outcome = "maybe"'),
        "unknown outcome 'maybe'",
    ),
    "unknown memory value": (
        _replace(
            REJECTED_KEY,
            'memory = "internal"',
            'memory = "bogus"',
            label="offline/memory=bogus/disk=no/disk-only",
        ),
        "unknown memory 'bogus'",
    ),
    "unknown mechanism": (
        _replace(ACCEPTED_KEY, 'mechanism = ["migrate", "transaction"]', 'mechanism = ["dd"]'),
        "unknown mechanism 'dd'",
    ),
    "unknown key": (_insert(ACCEPTED_KEY, 'colour = "red"'), "unknown key(s) colour"),
    "TOML syntax error": (
        _replace(ACCEPTED_KEY, 'outcome = "accepted"', "outcome = accepted", at_header=False),
        "not valid TOML",
    ),
    "accepted cell with an error": (
        _insert(ACCEPTED_KEY, 'error = "VIR_ERR_XML_ERROR"'),
        "an accepted cell has no error",
    ),
    "rejected cell with a mechanism": (
        _insert(REJECTED_KEY, 'mechanism = ["savevm"]'),
        "a rejected cell has no mechanism",
    ),
    "rejected cell without a reason": (
        _replace(REJECTED_KEY, 'reason = "no memory to save: the domain is not running"', ""),
        "non-empty 'reason'",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_profile_is_refused_naming_file_line_and_cell(case: str, tmp_path: Path) -> None:
    edit, message = BROKEN[case]
    lines = profile_path("plan-1.0.1").read_text().splitlines()
    broken, line, cell = edit(lines)
    path = tmp_path / "broken.toml"
    path.write_text("\n".join(broken) + "\n")
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    text = str(caught.value)
    assert message in text
    assert f"{path}:{line}" in text
    assert cell in text
    assert "\n" not in text


def test_a_file_that_is_not_a_profile_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text('name = "x"\n')
    with pytest.raises(ProfileError, match=r"empty\.toml: no \[\[cells\]\]"):
        load_profile(str(path))


def test_an_unknown_profile_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile("no-such-profile")
    assert all(name in str(caught.value) for name in SHIPPED)


# --- SPEC.md section 3, as written there ---------------------------------------------------------

# (row, domain, memory, disk, disk-only, result), copied from the table of SPEC.md section 3.
PLAN_ROWS = (
    (1, "offline", "omit", "omit", "any", "memory=no disk=int, via qemu-img"),
    (2, "offline", "no", "omit", "any", "memory=no disk=int, via qemu-img"),
    (3, "offline", "omit/no", "no", "any", "invalid: nothing to snapshot"),
    (4, "offline", "omit/no", "int", "any", "memory=no disk=int, via qemu-img"),
    (5, "offline", "omit/no", "ext", "any", "memory=no disk=ext, via qemu-img"),
    (6, "offline", "int/ext", "any", "any", "invalid: no memory to save"),
    (7, "online", "omit", "omit", "off", "memory=int disk=int, via savevm"),
    (8, "online", "omit", "omit", "on", "memory=no disk=default, via transaction"),
    (9, "online", "omit", "no/ext", "off", "unsupported"),
    (10, "online", "omit", "no", "on", "invalid: nothing to snapshot"),
    (11, "online", "omit", "ext", "on", "memory=no disk=ext, via transaction"),
    (12, "online", "omit", "int", "off", "memory=int disk=int, via savevm"),
    (13, "online", "omit", "int", "on", "unsupported"),
    (14, "online", "no", "omit", "any", "memory=no disk=default, via transaction"),
    (15, "online", "no", "no", "any", "invalid: nothing to snapshot"),
    (16, "online", "no", "int", "any", "unsupported"),
    (17, "online", "no", "ext", "any", "memory=no disk=ext, via transaction"),
    (18, "online", "int/ext", "any", "on", "invalid: disk-only contradicts a memory snapshot"),
    (19, "online", "int", "omit", "off", "memory=int disk=int, via savevm"),
    (20, "online", "int", "no/ext", "off", "unsupported"),
    (21, "online", "int", "int", "off", "memory=int disk=int, via savevm"),
    (22, "online", "ext", "omit", "off", "memory=ext disk=default, via migrate + transaction"),
    (23, "online", "ext", "no", "off", "memory=ext disk=no, via migrate"),
    (24, "online", "ext", "int", "off", "unsupported"),
    (25, "online", "ext", "ext", "off", "memory=ext disk=ext, via migrate + transaction"),
)

_WORDS = {"omit": "omit", "no": "no", "int": "internal", "ext": "external", "default": "default"}


def _values(spec: str) -> set[str]:
    """A column of the table as a set of values: 'any', 'omit/no', 'int' and so on."""
    if spec == "any":
        return {"omit", "no", "internal", "external"}
    return {_WORDS[word] for word in spec.split("/")}


def _matches(row: tuple[object, ...], cell: Cell) -> bool:
    _, domain, memory, disk, flag, _ = row
    flags = {"any": {False, True}, "on": {True}, "off": {False}}[str(flag)]
    return (
        cell.domain.value == domain
        and cell.memory.value in _values(str(memory))
        and cell.disk.value in _values(str(disk))
        and cell.disk_only in flags
    )


def _plan_rows(cell: Cell) -> list[tuple[object, ...]]:
    return [row for row in PLAN_ROWS if _matches(row, cell)]


def test_every_cell_falls_in_exactly_one_row_of_the_plan() -> None:
    for cell in ALL_CELLS:
        assert len(_plan_rows(cell)) == 1, cell.key()
    assert {row[0] for cell in ALL_CELLS for row in _plan_rows(cell)} == set(range(1, 26))


def _plan_state(cell: Cell, memory: str) -> str:
    """SPEC.md sections 1 and 6: shut off offline; running with a memory state; else disk-only."""
    if cell.domain is DomainColumn.OFFLINE:
        return "shutoff"
    return "disk-snapshot" if memory == "no" else "running"


@pytest.mark.parametrize("cell", ALL_CELLS, ids=Cell.key)
def test_plan_profile_agrees_with_spec_section_3(cell: Cell) -> None:
    number, *_, result = _plan_rows(cell)[0]
    entry = load_profile("plan-1.0.1").entry(cell)
    assert entry.row == number
    accepted = re.fullmatch(r"memory=(\w+) disk=(\w+), via (.+)", str(result))
    if accepted is None:
        assert isinstance(entry.verdict, Rejected)
        assert entry.verdict.outcome.value == str(result).split(":")[0]
        return
    memory, disk, via = accepted.groups()
    assert isinstance(entry.verdict, Accepted)
    assert entry.verdict.memory.value == _WORDS[memory]
    assert entry.verdict.disk.value == _WORDS[disk]
    assert [m.value for m in entry.verdict.mechanisms] == via.split(" + ")
    assert entry.verdict.state.value == _plan_state(cell, _WORDS[memory])


# --- SPEC.md section 4, checked against libvirt's source ------------------------------------------
# Where SPEC.md's prose and libvirt-current.toml disagreed, libvirt's qemu_snapshot.c
# (qemuSnapshotCreateXMLParse, qemuSnapshotCreateAlignDisks, qemuSnapshotPrepare) and
# snapshot_conf.c (virDomainSnapshotAlignDisks: require_match only when the default location is
# internal) decided; this encoding follows the source, step by step, for one disk.

XML = "VIR_ERR_XML_ERROR"
CONFIG = "VIR_ERR_CONFIG_UNSUPPORTED"
OPERATION = "VIR_ERR_OPERATION_UNSUPPORTED"


def _libvirt(cell: Cell) -> tuple[object, ...]:
    """("accepted", memory, disk, mechanisms, state) or (outcome, error, words of the reason)."""
    online = cell.domain is DomainColumn.ONLINE
    memory, disk = cell.memory.value, cell.disk.value
    if (not online or cell.disk_only) and memory in ("internal", "external"):
        return ("invalid", XML, "memory state cannot be saved with offline or disk-only")
    if cell.disk_only:
        default, memory, state = "external", "no", "disk-snapshot" if online else "shutoff"
    elif memory == "external":
        default, state = "external", "running"
    elif online and memory == "no":
        return ("unsupported", OPERATION, "internal snapshot of a running VM must include")
    elif not online and disk == "external":  # no DISK_ONLY: accepted since 9.9 (measured, 11.3)
        default, memory, state = "external", "no", "shutoff"
    else:
        default = "internal"
        memory, state = ("internal", "running") if online else ("no", "shutoff")
    if default == "internal" and disk not in ("omit", "internal"):
        return ("unsupported", CONFIG, "must use snapshot mode 'internal'")
    resolved = default if disk == "omit" else disk
    if resolved == "internal" and state == "disk-snapshot":
        return ("unsupported", CONFIG, "active qemu domains require external disk snapshots")
    if resolved == "no" and memory == "no":
        return ("unsupported", CONFIG, "nothing selected for snapshot")
    if {memory, resolved} == {"internal", "external"}:
        return ("unsupported", CONFIG, "mixing internal and external targets")
    if not online:
        mechanisms = ["qemu-img"]
    elif memory == "internal":
        mechanisms = ["snapshot-save"]  # QMP since 11.x (measured on 11.3: HMP savevm in 9.0)
    else:
        mechanisms = ["migrate"] * (memory == "external") + ["transaction"] * (resolved != "no")
    shown = "default" if disk == "omit" and default == "external" else resolved
    return ("accepted", memory, shown, mechanisms, state)


@pytest.mark.parametrize("cell", ALL_CELLS, ids=Cell.key)
def test_libvirt_current_profile_agrees_with_libvirt_source(cell: Cell) -> None:
    entry = load_profile("libvirt-current").entry(cell)
    expected = _libvirt(cell)
    assert entry.row == _plan_rows(cell)[0][0]
    verdict = entry.verdict
    if expected[0] == "accepted":
        assert isinstance(verdict, Accepted)
        mechanisms = [m.value for m in verdict.mechanisms]
        actual = (verdict.memory.value, verdict.disk.value, mechanisms, verdict.state.value)
        assert actual == expected[1:]
    else:
        assert isinstance(verdict, Rejected)
        assert (verdict.outcome.value, verdict.error) == expected[:2]
        assert str(expected[2]) in verdict.reason


def test_libvirt_current_changes_the_rows_spec_section_4_marks_changed() -> None:
    plan, current = load_profile("plan-1.0.1"), load_profile("libvirt-current")
    for memory, disk in ((Column.NO, Column.OMIT), (Column.NO, Column.EXTERNAL)):
        cell = Cell(DomainColumn.ONLINE, memory, disk, False)
        assert isinstance(plan.verdict(cell), Accepted)
        assert isinstance(current.verdict(cell), Rejected)
    offline_disk_only = Cell(DomainColumn.OFFLINE, Column.OMIT, Column.OMIT, True)
    assert plan.verdict(offline_disk_only) != current.verdict(offline_disk_only)
