"""``snaporacle table`` and ``snaporacle decide`` through :func:`snaporacle.cli.main`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from snaporacle.cli import main
from snaporacle.model.profile import ALL_CELLS, Accepted, Cell, Rejected
from snaporacle.profiles import load_profile, profile_path

SHIPPED = ("plan-1.0.1", "libvirt-current")
KEYS = {
    "domain",
    "memory",
    "disk",
    "disk_only",
    "outcome",
    "memory_result",
    "disk_result",
    "mechanism",
    "row",
    "error",
    "reason",
}
MODES = {"no", "internal", "external", "default"}
MECHANISMS = {"qemu-img", "savevm", "snapshot-save", "migrate", "transaction"}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as caught:
        main(list(argv))
    assert caught.value.code == 2
    return capsys.readouterr().err


# --- table ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_table_json_is_64_objects_with_exactly_the_documented_keys(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = _run(capsys, "table", "--profile", name, "--format", "json")
    assert status == 0
    data = json.loads(out)
    assert len(data) == 64
    assert {(d["domain"], d["memory"], d["disk"], d["disk_only"]) for d in data} == {
        (c.domain.value, c.memory.value, c.disk.value, c.disk_only) for c in ALL_CELLS
    }
    for item in data:
        assert set(item) == KEYS
        assert item["domain"] in ("offline", "online")
        assert item["outcome"] in ("accepted", "invalid", "unsupported")
        assert set(item["mechanism"]) <= MECHANISMS
        assert item["row"] is None or isinstance(item["row"], int)
        if item["outcome"] == "accepted":
            assert item["memory_result"] in MODES - {"default"}
            assert item["disk_result"] in MODES
            assert item["mechanism"] and item["error"] is None and item["reason"] is None
        else:
            assert item["memory_result"] is None and item["disk_result"] is None
            assert item["mechanism"] == [] and isinstance(item["reason"], str)
            assert item["error"] is None or item["error"].startswith("VIR_ERR_")


def test_table_json_tells_the_profile_file(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "table", "--profile", "plan-1.0.1", "--format", "json")
    row22 = [d for d in json.loads(out) if d["row"] == 22]
    assert row22 == [
        {
            "domain": "online",
            "memory": "external",
            "disk": "omit",
            "disk_only": False,
            "outcome": "accepted",
            "memory_result": "external",
            "disk_result": "default",
            "mechanism": ["migrate", "transaction"],
            "row": 22,
            "error": None,
            "reason": None,
        }
    ]


@pytest.mark.parametrize("name", SHIPPED)
def test_table_text_is_a_plain_table_of_64_rows(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = _run(capsys, "table", "--profile", name)
    assert status == 0
    assert "\x1b[" not in out
    assert out.startswith(f"{name}: ")
    rows = [
        [c.strip() for c in line.split("│")[1:-1]]
        for line in out.splitlines()
        if line.startswith("│")
    ]
    assert len(rows) == 64
    for row, entry in zip(rows, load_profile(name), strict=True):
        cell, verdict = entry.cell, entry.verdict
        flag = "on" if cell.disk_only else "off"
        assert row[:6] == [
            str(entry.row),
            cell.domain.value,
            cell.memory.value,
            cell.disk.value,
            flag,
            verdict.outcome.value,
        ]
        if isinstance(verdict, Accepted):
            assert row[7] == " + ".join(m.value for m in verdict.mechanisms)
        else:
            assert row[7] == (verdict.error or "") and row[8] == verdict.reason


@pytest.mark.parametrize("name", SHIPPED)
def test_table_markdown_is_a_github_table(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "table", "--profile", name, "--format", "markdown")
    assert status == 0
    lines = [line for line in out.splitlines() if line.startswith("|")]
    assert lines[0].startswith("| row | domain | memory | disk | disk-only | outcome")
    assert set(lines[1]) == {"|", "-"}
    assert len(lines) == 2 + 64
    cells_per_line = {len(re.split(r"(?<!\\)\|", line)) for line in lines}
    assert len(cells_per_line) == 1


def test_table_by_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    copy = tmp_path / "mine.toml"
    copy.write_text(profile_path("plan-1.0.1").read_text())
    _, by_path, _ = _run(capsys, "table", "--profile", str(copy), "--format", "json")
    _, by_name, _ = _run(capsys, "table", "--profile", "plan-1.0.1", "--format", "json")
    assert json.loads(by_path) == json.loads(by_name)


# --- table --diff --------------------------------------------------------------------------------


def _differs(a: object, b: object) -> bool:
    if isinstance(a, Rejected) and isinstance(b, Rejected):
        return a.outcome != b.outcome or (None not in (a.error, b.error) and a.error != b.error)
    return a != b


def test_diff_of_the_shipped_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    plan, current = load_profile("plan-1.0.1"), load_profile("libvirt-current")
    expected = [c for c in ALL_CELLS if _differs(plan.verdict(c), current.verdict(c))]
    status, out, _ = _run(
        capsys, "table", "--diff", "plan-1.0.1", "libvirt-current", "--format", "json"
    )
    assert status == 0
    data = json.loads(out)
    assert (data["a"], data["b"], data["count"]) == ("plan-1.0.1", "libvirt-current", len(expected))
    assert [(c["domain"], c["memory"], c["disk"], c["disk_only"]) for c in data["cells"]] == [
        (c.domain.value, c.memory.value, c.disk.value, c.disk_only) for c in expected
    ]
    status, text, _ = _run(capsys, "table", "--diff", "plan-1.0.1", "libvirt-current")
    assert status == 0
    assert f"{len(expected)} of 64 cells differ between plan-1.0.1 and libvirt-current" in text
    assert len([line for line in text.splitlines() if line.startswith("│")]) == len(expected)


def test_diff_finds_the_one_changed_cell(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = profile_path("plan-1.0.1").read_text()
    changed = text.replace(
        'mechanism = ["migrate"]\n', 'mechanism = ["migrate", "transaction"]\n', 1
    )
    assert changed != text
    path = tmp_path / "changed.toml"
    path.write_text(changed)
    status, out, _ = _run(capsys, "table", "--diff", "plan-1.0.1", str(path), "--format", "json")
    assert status == 0
    data = json.loads(out)
    assert data["count"] == 1
    (cell,) = data["cells"]
    assert (cell["memory"], cell["disk"], cell["disk_only"]) == ("external", "no", False)
    assert cell["a"]["mechanism"] == ["migrate"]
    assert cell["b"]["mechanism"] == ["migrate", "transaction"]
    status, md, _ = _run(capsys, "table", "--diff", "plan-1.0.1", str(path), "--format", "markdown")
    assert "1 of 64 cells differ" in md
    assert "via migrate + transaction (running)" in md


def test_a_profile_does_not_differ_from_itself(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(
        capsys, "table", "--diff", "libvirt-current", "libvirt-current", "--format", "json"
    )
    assert status == 0
    assert json.loads(out)["count"] == 0


# --- decide --------------------------------------------------------------------------------------


def _decide_argv(name: str, cell: Cell) -> list[str]:
    argv = [
        "decide",
        "--profile",
        name,
        "--domain",
        cell.domain.value,
        "--memory",
        cell.memory.value,
        "--disk",
        cell.disk.value,
    ]
    return argv + ["--disk-only"] * cell.disk_only


@pytest.mark.parametrize("name", SHIPPED)
def test_decide_agrees_with_the_table_for_every_cell(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = _run(capsys, "table", "--profile", name, "--format", "json")
    table = json.loads(out)
    for cell, row in zip(ALL_CELLS, table, strict=True):
        status, out, _ = _run(capsys, *_decide_argv(name, cell))
        assert status == 0
        data = json.loads(out)
        assert {key: data[key] for key in KEYS} == row
        verdict = load_profile(name).verdict(cell)
        if isinstance(verdict, Accepted):
            assert data["state"] == verdict.state.value
            assert list(data["disks"]) == ["vda"]
        else:
            assert (data["state"], data["disks"]) == (None, {})


def test_decide_paused_records_the_paused_state(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "decide", "--profile", "plan-1.0.1", "--domain", "paused")
    data = json.loads(out)
    assert (data["domain"], data["row"], data["state"]) == ("online", 7, "paused")


def test_decide_multi_disk(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["decide", "--domain", "online", "--memory", "internal", "--disks"]
    _, out, _ = _run(capsys, *base, "vda=internal,vdb=omit", "--profile", "libvirt-current")
    data = json.loads(out)
    assert (data["outcome"], data["disks"]) == ("accepted", {"vda": "internal", "vdb": "internal"})
    _, out, _ = _run(capsys, *base, "vda=internal,vdb=no", "--profile", "plan-1.0.1")
    data = json.loads(out)
    assert (data["outcome"], data["disks"]) == ("accepted", {"vda": "internal", "vdb": "no"})
    _, out, _ = _run(capsys, *base, "vda=internal,vdb=no", "--profile", "libvirt-current")
    data = json.loads(out)
    partial_no = load_profile("libvirt-current").partial_no
    assert partial_no is not None and data["reason"] == partial_no.reason
    _, out, _ = _run(capsys, *base, "vda=internal,vdb=external", "--profile", "libvirt-current")
    data = json.loads(out)
    assert (data["disk"], data["error"]) == (None, "VIR_ERR_CONFIG_UNSUPPORTED")
    assert "mixing" in data["reason"]


def test_decide_disk_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "decide",
        "--profile",
        "plan-1.0.1",
        "--domain",
        "online",
        "--memory",
        "external",
        "--disks",
        "vda=omit,vdb=omit,vdc=omit",
    ]
    _, out, _ = _run(capsys, *argv, "--defaults", "vdb=no,vdc=internal")
    data = json.loads(out)
    assert data["outcome"] == "unsupported"
    _, out, _ = _run(capsys, *argv, "--defaults", "vdb=no")
    data = json.loads(out)
    assert data["disks"] == {"vda": "external", "vdb": "no", "vdc": "external"}


def test_decide_text(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(
        capsys,
        "decide",
        "--profile",
        "libvirt-current",
        "--domain",
        "offline",
        "--disk-only",
        "--format",
        "text",
    )
    assert status == 0
    assert "\x1b[" not in out
    (row,) = [line for line in out.splitlines() if line.startswith("│")]
    assert "qemu-img" in row and "vda=external" in row and "shutoff" in row


# --- help and errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["table", "decide"])
def test_help_has_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([command, "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"snaporacle {command} --" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["table", "--profile", "no-such-profile"],
        ["table", "--diff", "plan-1.0.1", "no-such-profile"],
        ["decide", "--profile", "no-such-profile", "--domain", "online"],
    ],
)
def test_an_unknown_profile_is_one_line_listing_the_shipped_ones(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(capsys, *argv)
    assert status == 1 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"snaporacle {argv[0]}: no profile 'no-such-profile'")
    assert all(name in err for name in SHIPPED)


def test_a_broken_profile_file_is_one_line_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(
        profile_path("plan-1.0.1").read_text().replace("row = 25\n", "row = 25\nx = 1\n")
    )
    status, _, err = _run(capsys, "table", "--profile", str(path))
    assert status == 1
    assert err.count("\n") == 1
    assert f"{path}:" in err and "unknown key(s) x" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["table"], "one of the arguments --profile --diff is required"),
        (["table", "--profile", "plan-1.0.1", "--format", "xml"], "'text', 'json', 'markdown'"),
        (["table", "--profile", "a", "--diff", "b", "c"], "not allowed with argument"),
        (["decide", "--profile", "plan-1.0.1", "--domain", "asleep"], "'offline', 'online'"),
        (
            ["decide", "--profile", "plan-1.0.1", "--domain", "online", "--memory", "disk"],
            "'omit', 'no', 'internal', 'external'",
        ),
        (
            ["decide", "--profile", "plan-1.0.1", "--domain", "online", "--disks", "vda=big"],
            "invalid mode 'big' (choose from omit, no, internal, external)",
        ),
        (
            ["decide", "--profile", "plan-1.0.1", "--domain", "online", "--disks", "hda=no"],
            "vda, vdb, ... vdz",
        ),
        (
            ["decide", "--profile", "plan-1.0.1", "--domain", "online", "--disks", "vda=no,vda=no"],
            "disk vda is given twice",
        ),
        (
            [
                "decide",
                "--profile",
                "plan-1.0.1",
                "--domain",
                "online",
                "--disk",
                "no",
                "--disks",
                "vda=no",
            ],
            "not allowed with argument",
        ),
        (
            ["decide", "--profile", "plan-1.0.1", "--domain", "online", "--defaults", "vdb=no"],
            "--defaults names vdb, not a disk of the domain (vda)",
        ),
        (
            ["decide", "--profile", "plan-1.0.1", "--domain", "online", "--defaults", "vda=omit"],
            "invalid mode 'omit' (choose from no, internal, external)",
        ),
    ],
)
def test_a_bad_value_is_a_usage_error_listing_the_valid_ones(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in _usage_error(capsys, *argv)
