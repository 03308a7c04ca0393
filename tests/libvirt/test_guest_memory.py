"""Guest RAM through libvirt: the embedded QEMU driver observes it, the test driver does not, and
an external memory snapshot's file holds the RAM of the moment it was taken (libvirt 9.0 cannot
revert to it, so the file is restored with virDomainRestore)."""

from __future__ import annotations

from snaporacle.adapters.libvirt import LibvirtAdapter
from snaporacle.adapters.libvirt.guest_memory import read_blocks
from snaporacle.model.memory import memory_view
from snaporacle.model.modes import Outcome
from snaporacle.model.observation import Aspect
from snaporacle.model.ops import (
    CreateSnapshot,
    DefineDomain,
    DestroyDomain,
    StartDomain,
    WriteMemory,
)

from .conftest import domain


def test_only_the_qemu_driver_declares_guest_memory(
    embed: LibvirtAdapter, test_driver: LibvirtAdapter
) -> None:
    assert Aspect.GUEST_MEMORY in embed.capabilities.aspects
    assert "write_memory" in embed.capabilities.ops
    assert Aspect.GUEST_MEMORY not in test_driver.capabilities.aspects
    assert "write_memory" not in test_driver.capabilities.ops


def test_ram_written_through_the_file_is_read_back_and_lost_on_destroy(
    embed: LibvirtAdapter,
) -> None:
    spec = domain()
    assert embed.apply(DefineDomain(spec)).outcome is Outcome.ACCEPTED
    refused = embed.apply(WriteMemory(spec.name, 0, 1))
    assert (refused.outcome, refused.message) == (Outcome.INVALID, "domain is not running")
    embed.apply(StartDomain(spec.name))
    embed.apply(WriteMemory(spec.name, 3, 0x5A))
    assert embed.observe().domains[0].memory == memory_view({3: 0x5A})
    embed.apply(DestroyDomain(spec.name))
    assert embed.observe().domains[0].memory is None
    embed.apply(StartDomain(spec.name))
    assert embed.observe().domains[0].memory == memory_view({})  # a cold start: zeroed


def test_external_memory_file_holds_the_ram_of_its_moment(embed: LibvirtAdapter) -> None:
    spec = domain()
    name = spec.name
    memory_file = f"{embed.root}/s1.mem"
    for op in (DefineDomain(spec), StartDomain(name), WriteMemory(name, 1, 7)):
        assert embed.apply(op).outcome is Outcome.ACCEPTED
    xml = (
        f"<domainsnapshot><name>s1</name><memory snapshot='external' file='{memory_file}'/>"
        "<disks><disk name='vda' snapshot='no'/></disks></domainsnapshot>"
    )
    assert embed.apply(CreateSnapshot(name, xml)).outcome is Outcome.ACCEPTED
    embed.apply(WriteMemory(name, 1, 8))
    embed.apply(DestroyDomain(name))
    conn = embed._connection()
    conn.restore(memory_file)
    dom = conn.lookupByName(name)
    libvirt = embed._libvirt
    assert read_blocks(dom, [0, 1], libvirt.VIR_MEMORY_PHYSICAL) == memory_view({1: 7})
    dom.destroy()
