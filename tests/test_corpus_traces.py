"""Every trace in corpus/traces replays cleanly on the reference driver (fake adapter)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from snaporacle.adapters.fake import FakeAdapter
from snaporacle.corpus_replay import replay_file
from snaporacle.profiles import load_profile

TRACES = sorted((Path(__file__).resolve().parents[1] / "corpus" / "traces").glob("*.json"))


def test_the_corpus_has_traces() -> None:
    assert len(TRACES) >= 5


@pytest.mark.parametrize("path", TRACES, ids=[p.stem for p in TRACES])
def test_trace_replays_on_the_reference_driver(path: Path) -> None:
    profile = json.loads(path.read_text())["profile"]
    outcome = replay_file(FakeAdapter(profile=profile), path, load_profile(profile))
    assert outcome.ok, outcome.divergence and outcome.divergence.differences
