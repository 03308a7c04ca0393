"""QUIESCE needs a guest agent: refused as not configured on a running domain, as "domain is not
running" on a paused one (libvirt's qemuDomainAgentAvailable, measured on 9.0 and 11.3), and
nothing to freeze on a shut-off one. The model and the reference driver agree."""

from __future__ import annotations

import pytest

from snaporacle.adapters.fake import FakeAdapter
from snaporacle.lockstep import Lockstep
from snaporacle.model.modes import CreateFlag, Outcome
from snaporacle.model.ops import CreateSnapshot, Op, StartDomain
from snaporacle.profiles import load_profile
from tests.delete_scenarios import DOMAIN, define

QUIESCED = CreateSnapshot(DOMAIN, "<domainsnapshot><name>q1</name></domainsnapshot>",
                          CreateFlag.HALT | CreateFlag.DISK_ONLY | CreateFlag.QUIESCE)

#: domain state -> (steps before the create, the create's outcome and error)
CASES: dict[str, tuple[list[Op], tuple[Outcome, str | None]]] = {
    "running": ([StartDomain(DOMAIN)], (Outcome.UNSUPPORTED, "VIR_ERR_ARGUMENT_UNSUPPORTED")),
    "paused": ([StartDomain(DOMAIN, paused=True)],
               (Outcome.INVALID, "VIR_ERR_OPERATION_INVALID")),
    "shut off": ([], (Outcome.ACCEPTED, None)),
}


def quiesce_steps(root: str, state: str) -> list[Op]:
    return [define(root), *CASES[state][0], QUIESCED]


@pytest.mark.parametrize("state", sorted(CASES))
@pytest.mark.parametrize("profile", ["libvirt-current", "libvirt-9.0-qemu-embed"])
def test_quiesce_by_domain_state(state: str, profile: str) -> None:
    adapter = FakeAdapter(profile=profile)
    try:
        lockstep = Lockstep(adapter, load_profile(profile))
        lockstep.reset()
        for op in quiesce_steps(adapter.root, state):
            result, _ = lockstep.step(op)
        assert (result.outcome, result.error) == CASES[state][1], result.message
    finally:
        adapter.close()
