"""libvirt 11.3's revert overlays in the model: a create releases them from the current snapshot,
a revert that would remove an image another snapshot is taken on is refused, and the lockstep
checks that the model itself keeps every snapshot's data."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from snaporacle.adapters.fake import FakeAdapter
from snaporacle.corpus_replay import replay_file
from snaporacle.lockstep import Divergence, Lockstep
from snaporacle.model import transition
from snaporacle.model.modes import CreateFlag, DeleteFlag, Outcome, RevertFlag
from snaporacle.model.ops import CreateSnapshot, DefineDomain, DeleteSnapshot, RevertSnapshot, WriteData
from snaporacle.model.world import observe
from snaporacle.profiles import load_profile
from snaporacle.requests import domain_spec

PROFILE = load_profile("libvirt-11.3-qemu-embed")
FINDING = (Path(__file__).resolve().parents[1] / "corpus" / "traces"
           / "libvirt-11.3-revert-removes-image-a-child-is-taken-on.json")


def _external(name: str, source: str | None = None) -> CreateSnapshot:
    """An external DISK_ONLY snapshot of vda (its overlay named by the driver, or ``source``)."""
    disk = (f"<disk name='vda' snapshot='external'><source file='{source}'/></disk>" if source
            else "<disk name='vda' snapshot='external'/>")
    xml = (f"<domainsnapshot><name>{name}</name><memory snapshot='no'/><disks>{disk}</disks>"
           "</domainsnapshot>")
    return CreateSnapshot("d0", xml, CreateFlag.DISK_ONLY)


def _lockstep() -> Lockstep:
    lockstep = Lockstep(FakeAdapter(profile=PROFILE.name), PROFILE)
    lockstep.reset()
    lockstep.step(DefineDomain(domain_spec(lockstep.adapter.root, 0)))
    return lockstep


def test_a_create_releases_the_current_snapshots_revert_overlays() -> None:
    lockstep = _lockstep()
    for op in (_external("s7"), _external("s2"), RevertSnapshot("d0", "s7")):
        lockstep.step(op)
    assert lockstep.world.domains["d0"].snapshots["s7"].revert_overlays is not None
    lockstep.step(_external("s4"))  # taken on the revert overlay
    snapshots = lockstep.world.domains["d0"].snapshots
    assert snapshots["s7"].revert_overlays is None
    # a child deleted later leaves s7's own disks as they were (libvirt 11.3, measured)
    lockstep.step(DeleteSnapshot("d0", "s2", DeleteFlag.METADATA_ONLY))
    assert lockstep.world.domains["d0"].snapshots["s7"].disks == snapshots["s7"].disks


def test_a_revert_that_would_remove_a_childs_image_is_refused() -> None:
    lockstep = _lockstep()
    root = lockstep.adapter.root
    ovl = f"{root}/d0-s2-vda.ovl"
    for op in (_external("s2", ovl), WriteData("d0", "vda", 0, 7), _external("s5"),
               RevertSnapshot("d0", "s2"), _external("s3"),
               DeleteSnapshot("d0", "s3", DeleteFlag.METADATA_ONLY)):
        assert lockstep.step(op)[0].outcome is Outcome.ACCEPTED
    result, _ = lockstep.step(RevertSnapshot("d0", "s5", RevertFlag(0)))
    assert result.outcome is Outcome.UNSUPPORTED
    assert result.message == (
        f"reverting to 's5' would remove image {ovl} (the overlays of the current snapshot "
        "'s2'), but snapshot 's5' is taken on it"
    )
    assert ovl in lockstep.world.files  # refused: nothing removed


def test_the_finding_trace_replays_on_the_reference_driver() -> None:
    assert replay_file(FakeAdapter(profile=PROFILE.name), FINDING, PROFILE).ok


def test_the_lockstep_checks_that_the_model_keeps_every_snapshots_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lockstep = _lockstep()
    root = lockstep.adapter.root
    lockstep.step(_external("s1"))
    real_step = transition.step

    def losing_step(world, op, profile):  # type: ignore[no-untyped-def]
        moved = real_step(world, op, profile)
        frozen = moved.world.domains["d0"].snapshots["s1"].disks[0].frozen
        return attrs.evolve(moved, world=moved.world.with_file(frozen, None))

    monkeypatch.setattr("snaporacle.lockstep.model_step", losing_step)
    # a driver that loses the same image: what it shows agrees with the model, step by step
    monkeypatch.setattr(lockstep.adapter, "observe", lambda: observe(lockstep.world))
    with pytest.raises(Divergence) as caught:
        lockstep.step(WriteData("d0", "vda", 1, 3))
    assert caught.value.differences == [
        f"invariant: d0: image {root}/d0-vda.qcow2 of snapshot s1 is gone"
    ]
