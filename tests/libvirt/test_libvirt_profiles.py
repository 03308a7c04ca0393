"""``snaporacle profile record`` reproduces the committed measured profiles; ``diff`` compares."""

from __future__ import annotations

from pathlib import Path

import pytest

from snaporacle.cli import main
from snaporacle.commands.profile import differences
from snaporacle.profiles import load_profile, profile_names

from .conftest import _adapter

pytestmark = pytest.mark.libvirt


def _record(uri: str, out: Path, tmp_path: Path) -> None:
    _adapter(uri, tmp_path / "probe").close()  # skips, naming the package, when one is missing
    status = main(["profile", "record", "--adapter", "libvirt", "--uri", uri,
                   "--date", "2000-01-01", "--out", str(out)])
    assert status == 0


@pytest.mark.parametrize("uri", ["test:///default", "qemu:///embed"])
def test_record_reproduces_the_committed_profile(uri: str, tmp_path: Path) -> None:
    """The recording is named after the driver and libvirt version it measured, and the profile
    committed under that name (libvirt-9.0-..., libvirt-11.3-...) is what this libvirt does."""
    out = tmp_path / "recorded.toml"
    _record(uri, out, tmp_path)
    recorded = load_profile(str(out))  # what --profile PATH does
    measured = dict(recorded.provenance)
    assert recorded.name in profile_names(), (
        f"no committed profile {recorded.name} for libvirt {measured['libvirt']}: record one "
        "into corpus/profiles"
    )
    committed = load_profile(recorded.name)
    versions = dict(committed.provenance)
    assert differences(committed, recorded, reasons=True) == []
    assert recorded.entries == committed.entries
    assert {k: v for k, v in measured.items() if k != "date"} == {
        k: v for k, v in versions.items() if k != "date"
    }


def test_diff_lists_the_differences_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "diff", "libvirt-9.0-test", "libvirt-9.0-test"]) == 0
    assert "agree" in capsys.readouterr().out
    a, b = load_profile("libvirt-current"), load_profile("libvirt-9.0-qemu-embed")
    rows = differences(a, b)
    assert rows, "the committed profiles differ"
    assert main(["profile", "diff", "libvirt-current", "libvirt-9.0-qemu-embed"]) == 1
    out = capsys.readouterr().out
    for what, left, right in rows:
        assert f"{what}\n  libvirt-current: {left}\n  libvirt-9.0-qemu-embed: {right}" in out
    assert out.rstrip().endswith(f"{len(rows)} difference(s) between libvirt-current and "
                                 "libvirt-9.0-qemu-embed")
