"""The findings kept in corpus/traces, on whichever libvirt runs (9.0 on Debian 12, 11.3 on Debian 13
through scripts/with-debian.sh): each diverges from the model exactly on the libvirt versions
:data:`DIVERGES_ON` names (replayed with the profile measured on the running libvirt), replays
cleanly elsewhere (fixed there, or never there), and replays cleanly on the reference driver (so
the trace, not the model, carries the finding)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from snaporacle.adapters.fake import FakeAdapter
from snaporacle.adapters.libvirt import LibvirtAdapter
from snaporacle.corpus_replay import replay_file
from snaporacle.model.ops import op_from_json
from snaporacle.profiles import load_profile, profile_names
from snaporacle.traces import ROOT_PLACEHOLDER

TRACES = Path(__file__).resolve().parents[2] / "corpus" / "traces"
FINDINGS = sorted(
    path for path in TRACES.glob("*.json") if "finding" in json.loads(path.read_text())
)
#: Findings that crash libvirt (``finding.crash`` names the signal): replayed in a child process.
CRASHES = [path for path in FINDINGS if "crash" in json.loads(path.read_text())["finding"]]

#: The libvirt versions (major.minor) on which each finding's trace diverges from the model with
#: that version's measured profile (docs/FINDINGS.md has the table).
DIVERGES_ON: dict[str, frozenset[str]] = {
    "libvirt-9.0-offline-disk-only-internal-not-taken": frozenset({"9.0", "11.3"}),
    "libvirt-9.0-external-delete-keeps-memory-file": frozenset({"9.0"}),
    "libvirt-9.0-paused-external-checkpoint-delete-fails": frozenset({"9.0", "11.3"}),
    "libvirt-9.0-paused-second-external-memory-snapshot-fails": frozenset({"9.0", "11.3"}),
    "libvirt-9.0-external-delete-destroys-child-internal-snapshot": frozenset({"9.0", "11.3"}),
    "libvirt-9.0-memory-only-external-delete-fails-running": frozenset({"9.0"}),
    "libvirt-9.0-test-driver-revert-running-stays-off": frozenset({"9.0", "11.3"}),
    "libvirt-11.3-offline-external-xml-has-no-memory": frozenset({"11.3"}),
    "libvirt-11.3-revert-overlay-same-second-collision": frozenset({"11.3"}),
    # the not-taken internal snapshot diverges first, on both; the message is checked below
    "libvirt-11.3-revert-error-names-no-cause": frozenset({"9.0", "11.3"}),
    "libvirt-11.3-revert-external-without-current-crashes": frozenset({"11.3"}),
    "libvirt-11.3-revert-removes-image-a-child-is-taken-on": frozenset({"11.3"}),
}


def _version(adapter: LibvirtAdapter) -> str:
    return ".".join(adapter.describe()["libvirt"].split(".")[:2])


def _own_profile(adapter: LibvirtAdapter) -> str:
    """The profile measured on the running libvirt: findings are judged against it."""
    name = adapter.measured_name()
    assert name in profile_names(), f"no profile measured on this libvirt: record {name}"
    return name


def test_there_are_findings() -> None:
    assert len(FINDINGS) >= 2


def test_every_finding_says_where_it_diverges() -> None:
    assert sorted(DIVERGES_ON) == sorted(path.stem for path in FINDINGS)


@pytest.mark.parametrize("path", FINDINGS, ids=[p.stem for p in FINDINGS])
def test_finding_replays_cleanly_on_the_reference_driver(path: Path) -> None:
    profile = json.loads(path.read_text())["profile"]
    outcome = replay_file(FakeAdapter(profile=profile), path, load_profile(profile))
    assert outcome.ok, outcome.divergence and outcome.divergence.differences


#: The fixture of each driver a finding names.
DRIVERS = {"qemu:///embed": "embed", "test:///default": "test_driver"}


IN_PROCESS = [path for path in FINDINGS if path not in CRASHES]


@pytest.mark.parametrize("path", IN_PROCESS, ids=[p.stem for p in IN_PROCESS])
def test_finding_diverges_on_the_versions_it_names(
    request: pytest.FixtureRequest, path: Path
) -> None:
    document = json.loads(path.read_text())
    adapter: LibvirtAdapter = request.getfixturevalue(DRIVERS[document["finding"]["uri"]])
    for setting, value in document["finding"].get("adapter_settings", {}).items():
        setattr(adapter, setting, value)
    version = _version(adapter)
    outcome = replay_file(adapter, path, load_profile(_own_profile(adapter)))
    if version in DIVERGES_ON[path.stem]:
        assert outcome.divergence is not None, f"the finding no longer reproduces on {version}"
    else:
        assert outcome.ok, (
            f"the finding is expected fixed on libvirt {version}, yet: "
            f"{outcome.divergence and outcome.divergence.differences}"
        )


AGREED = sorted(
    path for path in TRACES.glob("*.json") if "finding" not in json.loads(path.read_text())
) + [
    path
    for path in FINDINGS
    if json.loads(path.read_text())["finding"]["uri"] != "qemu:///embed"
]


@pytest.mark.parametrize("path", AGREED, ids=[p.stem for p in AGREED])
def test_other_traces_agree_with_embedded_libvirt(embed: LibvirtAdapter, path: Path) -> None:
    """Traces that are not findings of the QEMU driver are behaviour the model shares with it."""
    outcome = replay_file(embed, path, load_profile(_own_profile(embed)))
    assert outcome.ok, outcome.divergence and outcome.divergence.differences


#: What the failed revert of ``libvirt-11.3-revert-error-names-no-cause`` says, by version.
REVERT_ERROR = {
    "9.0": "Failed to load snapshot",
    "11.3": "An error occurred, but the cause is unknown",
}


def test_failed_revert_error_by_version(embed: LibvirtAdapter) -> None:
    document = json.loads((TRACES / "libvirt-11.3-revert-error-names-no-cause.json").read_text())
    results = []
    for step in document["steps"]:
        op = op_from_json(json.loads(json.dumps(step["op"]).replace(ROOT_PLACEHOLDER, embed.root)))
        results.append(embed.apply(op))
    *setup, revert = results
    assert all(result.error is None for result in setup)
    assert revert.error == "VIR_ERR_INTERNAL_ERROR"
    version = _version(embed)
    assert version in REVERT_ERROR, f"what does libvirt {version} say? {revert.message!r}"
    assert REVERT_ERROR[version] in revert.message


@pytest.mark.parametrize("path", CRASHES, ids=[p.stem for p in CRASHES])
def test_crash_happens_on_the_versions_it_names(embed: LibvirtAdapter, path: Path) -> None:
    """``snaporacle replay`` in a child process: killed by the named signal where the finding
    is expected, a clean replay elsewhere."""
    version = _version(embed)
    profile = _own_profile(embed)
    signal_name = json.loads(path.read_text())["finding"]["crash"]
    child = subprocess.run(
        [sys.executable, "-m", "snaporacle", "replay", str(path), "--adapter", "libvirt",
         "--uri", "qemu:///embed", "--profile", profile],
        capture_output=True, text=True, timeout=300, check=False,
    )
    if version in DIVERGES_ON[path.stem]:
        assert child.returncode == -signal.Signals[signal_name], (child.returncode, child.stdout)
    else:
        assert child.returncode == 0, child.stdout + child.stderr
