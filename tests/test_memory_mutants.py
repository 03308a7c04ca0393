"""Guest memory: drivers that lose RAM on a memory snapshot are caught with a short trace, and
the reference driver is not."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from snaporacle.adapters.fake import FakeAdapter
from snaporacle.corpus_replay import replay_file
from snaporacle.explorer import explore
from snaporacle.lockstep import Lockstep
from snaporacle.model.memory import blocks_to_read, memory_view
from snaporacle.model.modes import Column, DomainColumn
from snaporacle.model.ops import (
    CreateSnapshot,
    DefineDomain,
    PauseDomain,
    RevertSnapshot,
    StartDomain,
    WriteMemory,
    op_from_json,
    op_to_json,
)
from snaporacle.model.profile import ALL_CELLS
from snaporacle.profiles import load_profile
from snaporacle.requests import domain_spec
from snaporacle.traces import save_divergence

from .mutants_memory import MUTANTS

PROFILE = load_profile("libvirt-current")


#: The operations a memory bug needs: no deletes, queries or disk writes to dilute the draws.
MEMORY_OPS = frozenset(
    {"define", "start", "pause", "resume", "destroy", "write_memory", "create", "revert"}
)
#: The cells that save no memory (offline, disk-only, memory 'no') are not drawn either.
NO_MEMORY_CELLS = frozenset(
    cell for cell in ALL_CELLS
    if cell.domain is DomainColumn.OFFLINE or cell.disk_only or cell.memory is Column.NO
)


@pytest.mark.parametrize("name", sorted(MUTANTS))
@pytest.mark.parametrize("seed", [1, 2])
def test_memory_mutant_is_caught_with_a_short_trace(name: str, seed: int, tmp_path: Path) -> None:
    adapter_class = MUTANTS[name]
    adapter = adapter_class()
    adapter.capabilities = attrs.evolve(adapter.capabilities, ops=MEMORY_OPS)
    result = explore(adapter, PROFILE, examples=300, steps=25, seed=seed,
                     shrink_seconds=5, sweep=False, exclude=NO_MEMORY_CELLS)
    assert len(result.divergences) == 1, name
    divergence = result.divergences[0]
    ops = [step.op for step in divergence.trace]
    assert len(ops) <= 8, ops  # 5-8 steps, depending on the draws
    assert any(isinstance(op, WriteMemory) for op in ops), ops
    assert any(d.startswith("domains[0].memory") for d in divergence.differences), (
        divergence.differences
    )
    path = save_divergence(divergence, tmp_path, "fake", PROFILE.name, "/snaporacle-fake")
    assert not replay_file(adapter_class(), path, None).ok
    assert replay_file(FakeAdapter(), path, None).ok


def test_reference_driver_keeps_ram_across_memory_snapshots() -> None:
    result = explore(FakeAdapter(), PROFILE, examples=40, steps=30, seed=3, sweep=False)
    assert result.divergences == ()
    assert result.coverage.ops["write_memory"] > 0


def test_revert_brings_back_the_ram_running_and_paused() -> None:
    adapter = FakeAdapter()
    lockstep = Lockstep(adapter, PROFILE)
    domain = domain_spec(adapter.root)
    name = domain.name
    memory_file = f"{adapter.root}/s2.mem"
    steps = [
        DefineDomain(domain), StartDomain(name), WriteMemory(name, 1, 5),
        CreateSnapshot(name, "<domainsnapshot><name>s1</name></domainsnapshot>"),
        WriteMemory(name, 1, 6), PauseDomain(name),
        CreateSnapshot(name, "<domainsnapshot><name>s2</name><memory snapshot='external' "
                             f"file='{memory_file}'/></domainsnapshot>"),
        WriteMemory(name, 1, 7), RevertSnapshot(name, "s1"),
    ]
    for op in steps:
        lockstep.step(op)
    seen = adapter.observe().domains[0]
    assert (seen.state, seen.memory) == ("running", memory_view({1: 5}))
    lockstep.step(RevertSnapshot(name, "s2"))
    seen = adapter.observe().domains[0]
    assert (seen.state, seen.memory) == ("paused", memory_view({1: 6}))


def test_write_memory_round_trips_and_refuses_bad_input() -> None:
    op = WriteMemory("vm", 3, 200)
    assert op_to_json(op) == {"op": "write_memory", "domain": "vm", "block": 3, "pattern": 200}
    assert op_from_json(op_to_json(op)) == op
    with pytest.raises(ValueError, match="needs the field 'pattern'"):
        op_from_json({"op": "write_memory", "domain": "vm", "block": 3})
    adapter = FakeAdapter()
    lockstep = Lockstep(adapter, PROFILE)
    domain = domain_spec(adapter.root)
    lockstep.step(DefineDomain(domain))
    refused, _ = lockstep.step(WriteMemory(domain.name, 0, 1))  # shut off: no RAM
    assert refused.message == "domain is not running"
    lockstep.step(StartDomain(domain.name))
    refused, _ = lockstep.step(WriteMemory(domain.name, 16, 1))
    assert "out of range" in refused.message
    assert adapter.observe().domains[0].memory == memory_view({})


def test_only_written_blocks_and_one_canary_are_read() -> None:
    assert blocks_to_read([]) == (0,)
    assert blocks_to_read([3, 0, 1]) == (0, 1, 2, 3)
    assert blocks_to_read(range(16)) == tuple(range(16))
