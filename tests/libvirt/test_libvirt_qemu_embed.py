"""The libvirt adapter on the real QEMU driver, embedded in the process (qemu:///embed)."""

from __future__ import annotations

import os

import pytest

from snaporacle.adapters.libvirt import LibvirtAdapter
from snaporacle.errors import AdapterError
from snaporacle.model.definition import DomainDisk, DomainSpec
from snaporacle.model.modes import CreateFlag, Outcome
from snaporacle.model.observation import ALL_ASPECTS, DiskObservation
from snaporacle.model.ops import (
    CreateSnapshot,
    DefineDomain,
    DeleteSnapshot,
    Op,
    RevertSnapshot,
    StartDomain,
    WriteData,
)

from .conftest import domain

pytestmark = pytest.mark.libvirt


def _ok(adapter: LibvirtAdapter, op: Op) -> object:
    result = adapter.apply(op)
    assert result.outcome is Outcome.ACCEPTED, result
    return result.value


def _disk(adapter: LibvirtAdapter) -> DiskObservation:
    return adapter.observe().domains[0].disks[0]


def snap(name: str, body: str = "") -> str:
    return f"<domainsnapshot><name>{name}</name>{body}</domainsnapshot>"


def test_offline_internal_snapshot_keeps_and_restores_data(embed: LibvirtAdapter) -> None:
    assert embed.capabilities.aspects == ALL_ASPECTS
    _ok(embed, DefineDomain(domain()))
    _ok(embed, WriteData("dom", "vda", 1, 7))
    _ok(embed, CreateSnapshot("dom", snap("s1")))
    _ok(embed, WriteData("dom", "vda", 1, 9))
    disk = _disk(embed)
    assert [(i.path, i.format, i.internal_tags) for i in disk.chain] == [
        ("dom-vda.qcow2", "qcow2", ("s1",))
    ]
    assert disk.data[:3] == (0, 9, 0) and len(disk.data) == 16
    _ok(embed, RevertSnapshot("dom", "s1"))
    assert _disk(embed).data[1] == 7
    _ok(embed, DeleteSnapshot("dom", "s1"))
    assert _disk(embed).chain[0].internal_tags == ()
    assert embed.observe().domains[0].snapshots == ()


def test_running_domain_savevm_overlay_and_memory_file(embed: LibvirtAdapter) -> None:
    _ok(embed, DefineDomain(domain()))
    _ok(embed, StartDomain("dom"))
    _ok(embed, WriteData("dom", "vda", 2, 5))
    assert _disk(embed).data[2] == 5
    _ok(embed, CreateSnapshot("dom", snap("live")))
    assert _disk(embed).chain[0].internal_tags == ("live",)

    overlay = os.path.join(embed.root, "ext-vda.qcow2")
    disks = f"<disks><disk name='vda' snapshot='external'><source file='{overlay}'/></disk></disks>"
    _ok(embed, CreateSnapshot("dom", snap("ext", disks), CreateFlag.DISK_ONLY))
    _ok(embed, WriteData("dom", "vda", 3, 6))
    disk = _disk(embed)
    assert [i.path for i in disk.chain] == ["ext-vda.qcow2", "dom-vda.qcow2"]
    assert disk.data[2:4] == (5, 6)

    memory = f"<memory snapshot='external' file='{embed.root}/mem.state'/>"
    _ok(embed, CreateSnapshot("dom", snap("mem", memory)))
    seen = embed.observe()
    assert seen.memory_files == ("mem.state",)
    assert seen.domains[0].state == "running"
    by_name = {s.name: s for s in seen.domains[0].snapshots}
    assert (by_name["mem"].memory, by_name["mem"].memory_file) == ("external", "mem.state")
    assert (by_name["ext"].state, by_name["ext"].disks) == ("disk-snapshot", (("vda", "external"),))
    assert (by_name["live"].memory, by_name["live"].parent) == ("internal", None)


def test_refusals_map_through_the_error_code(embed: LibvirtAdapter) -> None:
    _ok(embed, DefineDomain(domain()))
    offline = embed.apply(CreateSnapshot("dom", snap("m", "<memory snapshot='internal'/>")))
    assert (offline.outcome, offline.error) == (Outcome.INVALID, "VIR_ERR_XML_ERROR")
    _ok(embed, StartDomain("dom"))
    running = embed.apply(CreateSnapshot("dom", snap("n", "<memory snapshot='no'/>")))
    expected = (Outcome.UNSUPPORTED, "VIR_ERR_OPERATION_UNSUPPORTED")
    assert (running.outcome, running.error) == expected
    assert "memory" in running.message
    assert embed.observe().domains[0].snapshots == ()


def test_one_adapter_per_embed_root_and_paths_stay_inside(embed: LibvirtAdapter) -> None:
    with pytest.raises(AdapterError, match="one qemu:///embed root per process"):
        LibvirtAdapter("qemu:///embed")
    outside = DomainSpec("out", "0dd5eed0-0000-4000-8000-0000000000ff",
                         (DomainDisk("vda", "/etc/out.qcow2"),))  # type: ignore[arg-type]
    refused = embed.apply(DefineDomain(outside))
    assert refused.outcome is Outcome.INVALID and "outside" in refused.message
    assert embed.observe().domains == ()
