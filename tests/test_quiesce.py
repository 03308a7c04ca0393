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


def reuse_missing_steps(root: str) -> list[Op]:
    """A paused domain's QUIESCE|REUSE_EXT snapshot whose overlay file does not exist: the
    missing file is reported first (``VIR_ERR_SYSTEM_ERROR``, measured on 9.0 and 11.3)."""
    xml = (f"<domainsnapshot><name>q1</name><memory snapshot='no'/><disks><disk name='vda' "
           f"snapshot='external'><source file='{root}/missing.qcow2'/></disk></disks>"
           "</domainsnapshot>")
    flags = CreateFlag.DISK_ONLY | CreateFlag.REUSE_EXT | CreateFlag.QUIESCE
    return [define(root), StartDomain(DOMAIN, paused=True), CreateSnapshot(DOMAIN, xml, flags)]


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


def test_a_missing_reused_overlay_is_reported_before_the_freeze() -> None:
    adapter = FakeAdapter()
    try:
        lockstep = Lockstep(adapter, load_profile("libvirt-current"))
        lockstep.reset()
        for op in reuse_missing_steps(adapter.root):
            result, _ = lockstep.step(op)
        assert (result.outcome, result.error) == (Outcome.FAILED, "VIR_ERR_SYSTEM_ERROR")
    finally:
        adapter.close()
