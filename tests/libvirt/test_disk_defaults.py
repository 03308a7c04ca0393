"""A disk's own ``snapshot=`` default is taken before the snapshot's (virDomainSnapshotAlignDisks):
on libvirt 9.0 and 11.3 an offline snapshot of a disk whose default is external makes an overlay,
with or without ``<memory snapshot='no'/>``, though 9.0 refuses the same disk asked for as
external. In lockstep with the model under the profile measured on the running libvirt."""

from __future__ import annotations

import pytest

from snaporacle.adapters.libvirt import LibvirtAdapter
from snaporacle.lockstep import Lockstep
from snaporacle.model.definition import DomainDisk, DomainSpec
from snaporacle.model.modes import CreateFlag, DiskMode, Outcome
from snaporacle.model.ops import CreateSnapshot, DefineDomain, StartDomain
from snaporacle.profiles import load_profile


@pytest.mark.parametrize("memory", ["<memory snapshot='no'/>", ""])
def test_an_offline_snapshot_takes_a_disks_external_default(embed: LibvirtAdapter,
                                                            memory: str) -> None:
    lockstep = Lockstep(embed, load_profile(embed.measured_name()))
    lockstep.reset()
    disk = DomainDisk("vda", f"{embed.root}/d0-vda.qcow2", snapshot=DiskMode.EXTERNAL)
    lockstep.step(DefineDomain(DomainSpec("d0", "5a0d7b4e-1c3f-4e2a-9b6d-000000000001", (disk,))))
    result, _ = lockstep.step(
        CreateSnapshot("d0", f"<domainsnapshot><name>s3</name>{memory}</domainsnapshot>")
    )
    assert result.outcome is Outcome.ACCEPTED, result.message
    assert [d.mode for d in lockstep.world.domains["d0"].snapshots["s3"].disks] == [
        DiskMode.EXTERNAL
    ]


@pytest.mark.parametrize(("defaults", "xml", "flags"), [
    ((DiskMode.EXTERNAL,), "<memory snapshot='internal'/>", CreateFlag(0)),
    ((DiskMode.EXTERNAL,), "", CreateFlag(0)),
    ((DiskMode.NO, DiskMode.INTERNAL), "<memory snapshot='no'/>", CreateFlag.DISK_ONLY),
    ((DiskMode.INTERNAL,), "<memory snapshot='no'/>", CreateFlag.DISK_ONLY),
], ids=["external-default-internal-memory", "external-default-memory-omitted",
        "no-and-internal-defaults-disk-only", "internal-default-disk-only"])
def test_an_internal_target_beside_a_disk_not_internal_is_refused(
    embed: LibvirtAdapter, defaults: tuple[DiskMode, ...], xml: str, flags: CreateFlag
) -> None:
    """On a running domain libvirt refuses with VIR_ERR_CONFIG_UNSUPPORTED: "internal and full
    system snapshots require all disks to be selected for snapshot" (the profile's partial_no
    rule), or, for a disk-only snapshot of a disk whose default is internal, "active qemu domains
    require external disk snapshots" (that cell's own verdict)."""
    lockstep = Lockstep(embed, load_profile(embed.measured_name()))
    lockstep.reset()
    disks = tuple(DomainDisk(t, f"{embed.root}/d0-{t}.qcow2", snapshot=mode)
                  for t, mode in zip(("vda", "vdb")[:len(defaults)], defaults, strict=True))
    lockstep.step(DefineDomain(DomainSpec("d0", "5a0d7b4e-1c3f-4e2a-9b6d-000000000001", disks)))
    lockstep.step(StartDomain("d0"))
    result, _ = lockstep.step(
        CreateSnapshot("d0", f"<domainsnapshot><name>s1</name>{xml}</domainsnapshot>", flags)
    )
    assert (result.outcome, result.error) == (Outcome.UNSUPPORTED, "VIR_ERR_CONFIG_UNSUPPORTED")
