"""The findings kept in corpus/traces: each still diverges on the libvirt it was found on, and
replays cleanly on the reference driver (so the trace, not the model, carries the finding)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from snaporacle.adapters.fake import FakeAdapter
from snaporacle.adapters.libvirt import LibvirtAdapter
from snaporacle.corpus_replay import replay_file
from snaporacle.profiles import load_profile

TRACES = Path(__file__).resolve().parents[2] / "corpus" / "traces"
FINDINGS = sorted(
    path for path in TRACES.glob("*.json") if "finding" in json.loads(path.read_text())
)


def test_there_are_findings() -> None:
    assert len(FINDINGS) >= 2


@pytest.mark.parametrize("path", FINDINGS, ids=[p.stem for p in FINDINGS])
def test_finding_replays_cleanly_on_the_reference_driver(path: Path) -> None:
    profile = json.loads(path.read_text())["profile"]
    outcome = replay_file(FakeAdapter(profile=profile), path, load_profile(profile))
    assert outcome.ok, outcome.divergence and outcome.divergence.differences


#: The fixture of each driver a finding names.
DRIVERS = {"qemu:///embed": "embed", "test:///default": "test_driver"}


@pytest.mark.parametrize("path", FINDINGS, ids=[p.stem for p in FINDINGS])
def test_finding_still_diverges_on_the_libvirt_it_was_found_on(
    request: pytest.FixtureRequest, path: Path
) -> None:
    document = json.loads(path.read_text())
    adapter: LibvirtAdapter = request.getfixturevalue(DRIVERS[document["finding"]["uri"]])
    outcome = replay_file(adapter, path, load_profile(document["profile"]))
    assert outcome.divergence is not None, "the finding no longer reproduces on this libvirt"


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
    outcome = replay_file(embed, path, load_profile("libvirt-9.0-qemu-embed"))
    assert outcome.ok, outcome.divergence and outcome.divergence.differences
