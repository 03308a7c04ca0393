"""A running domain's internal checkpoint of a name whose tag is still in the image (its record
deleted METADATA_ONLY): QMP ``snapshot-save`` (libvirt 11.3, ``libvirt-current``) fails, HMP
``savevm`` (9.0) replaces the tag. The model, and the reference driver on the fakes and on real
QEMU, agree step by step."""

from __future__ import annotations

import pytest

from snaporacle.lockstep import Lockstep
from snaporacle.model.modes import DeleteFlag, Outcome
from snaporacle.model.ops import CreateSnapshot, DeleteSnapshot, Op, RevertSnapshot, StartDomain
from snaporacle.profiles import load_profile
from tests.delete_scenarios import DOMAIN, define, write
from tests.reference_adapters import reference_adapter

CHECKPOINT = ("<domainsnapshot><name>i1</name><memory snapshot='internal'/>"
              "</domainsnapshot>")


def reuse_steps(root: str) -> list[Op]:
    """Checkpoint ``i1``, forget it, write, checkpoint ``i1`` again."""
    return [define(root), StartDomain(DOMAIN), write(0, 1), CreateSnapshot(DOMAIN, CHECKPOINT),
            DeleteSnapshot(DOMAIN, "i1", DeleteFlag.METADATA_ONLY), write(0, 2),
            CreateSnapshot(DOMAIN, CHECKPOINT)]


#: profile -> (outcome, error) of the second checkpoint
EXPECTED = {
    "libvirt-current": (Outcome.FAILED, "VIR_ERR_OPERATION_FAILED"),
    "libvirt-11.3-qemu-embed": (Outcome.FAILED, "VIR_ERR_OPERATION_FAILED"),
    "libvirt-9.0-qemu-embed": (Outcome.ACCEPTED, None),
}


@pytest.mark.parametrize("kind", ["fake", "qemu"])
@pytest.mark.parametrize("profile", sorted(EXPECTED))
def test_a_reused_tag_by_mechanism(kind: str, profile: str) -> None:
    adapter = reference_adapter(kind, profile)
    try:
        lockstep = Lockstep(adapter, load_profile(profile))
        lockstep.reset()
        for op in reuse_steps(adapter.root):
            result, _ = lockstep.step(op)
        assert (result.outcome, result.error) == EXPECTED[profile], result.message
        if result.outcome is Outcome.ACCEPTED:  # savevm replaced the tag: the new data
            lockstep.step(write(0, 3))
            lockstep.step(RevertSnapshot(DOMAIN, "i1"))
        else:
            assert "already exists" in result.message
    finally:
        adapter.close()
