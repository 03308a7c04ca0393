"""REUSE_EXT on a running domain with an overlay file QEMU already holds in a disk's chain: the
model says what libvirt 9.0 and 11.3 say (measured: blockdev-add cannot take the write lock)."""

from __future__ import annotations

from pathlib import Path

from snaporacle.adapters.fake import FakeAdapter
from snaporacle.lockstep import Lockstep
from snaporacle.model.modes import Outcome
from snaporacle.profiles import load_profile
from snaporacle.traces import load_trace

TRACE = (Path(__file__).resolve().parents[1] / "corpus" / "traces"
         / "reuse-ext-overlay-held-in-the-chain-fails.json")


def test_a_reused_overlay_held_in_the_chain_fails_and_changes_nothing() -> None:
    adapter = FakeAdapter(profile="libvirt-9.0-qemu-embed")
    lockstep = Lockstep(adapter, load_profile("libvirt-9.0-qemu-embed"))
    lockstep.reset()
    *setup, reuse = load_trace(TRACE, adapter.root).steps
    for op in setup:
        lockstep.step(op)
    before = lockstep.world
    result, _ = lockstep.step(reuse)
    assert (result.outcome, result.error) == (Outcome.FAILED, "VIR_ERR_INTERNAL_ERROR")
    assert result.message == (
        "internal error: unable to execute QEMU command 'blockdev-add': "
        'Failed to get "write" lock'
    )
    assert lockstep.world is before
