"""QUIESCE by domain state on the running libvirt, in lockstep with the model (see
``tests/test_quiesce.py``)."""

from __future__ import annotations

from snaporacle.adapters.libvirt import LibvirtAdapter
from snaporacle.lockstep import Lockstep
from snaporacle.model.modes import Outcome
from snaporacle.profiles import load_profile
from tests.test_quiesce import CASES, quiesce_steps, reuse_missing_steps


def test_quiesce_by_domain_state(embed: LibvirtAdapter) -> None:
    lockstep = Lockstep(embed, load_profile(embed.measured_name()))
    for state in sorted(CASES):
        lockstep.reset()
        for op in quiesce_steps(embed.root, state):
            result, _ = lockstep.step(op)
        assert (result.outcome, result.error) == CASES[state][1], (state, result.message)


def test_a_missing_reused_overlay_is_reported_before_the_freeze(embed: LibvirtAdapter) -> None:
    lockstep = Lockstep(embed, load_profile(embed.measured_name()))
    lockstep.reset()
    for op in reuse_missing_steps(embed.root):
        result, _ = lockstep.step(op)
    assert (result.outcome, result.error) == (Outcome.FAILED, "VIR_ERR_SYSTEM_ERROR")
