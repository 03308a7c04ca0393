"""The libvirt adapter on libvirt's in-process test driver."""

from __future__ import annotations

import os

import pytest

from snaporacle.adapters.libvirt import LibvirtAdapter
from snaporacle.model.modes import CreateFlag, DeleteFlag, Outcome
from snaporacle.model.observation import Aspect
from snaporacle.model.ops import (
    CreateSnapshot,
    CurrentSnapshot,
    DefineDomain,
    DeleteSnapshot,
    DumpSnapshotXML,
    ListSnapshots,
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


def snap(name: str, body: str = "") -> str:
    return f"<domainsnapshot><name>{name}</name>{body}</domainsnapshot>"


def test_create_list_current_dumpxml_revert_delete(test_driver: LibvirtAdapter) -> None:
    a = test_driver
    _ok(a, DefineDomain(domain()))
    assert _ok(a, CreateSnapshot("dom", snap("off"))) == "off"
    _ok(a, StartDomain("dom"))
    assert _ok(a, CreateSnapshot("dom", snap("on"))) == "on"
    assert _ok(a, ListSnapshots("dom")) == ("off", "on")
    assert _ok(a, CurrentSnapshot("dom")) == "on"
    xml = str(_ok(a, DumpSnapshotXML("dom", "on")))
    assert "<parent>" in xml and "<name>off</name>" in xml and "<state>running</state>" in xml

    _ok(a, RevertSnapshot("dom", "off"))
    seen = a.observe().domains[0]
    assert (seen.state, seen.current) == ("shutoff", "off")
    assert [(s.name, s.parent, s.state) for s in seen.snapshots] == [
        ("off", None, "shutoff"),
        ("on", "off", "running"),
    ]
    _ok(a, DeleteSnapshot("dom", "off"))
    seen = a.observe().domains[0]
    assert [(s.name, s.parent) for s in seen.snapshots] == [("on", None)]


def test_refusals_keep_libvirt_code_and_class(test_driver: LibvirtAdapter) -> None:
    a = test_driver
    _ok(a, DefineDomain(domain()))
    cases: list[tuple[Op, str]] = [
        (CreateSnapshot("dom", snap("x"), CreateFlag.DISK_ONLY), "VIR_ERR_INVALID_ARG"),
        (DumpSnapshotXML("dom", "missing"), "VIR_ERR_NO_DOMAIN_SNAPSHOT"),
        (ListSnapshots("nobody"), "VIR_ERR_NO_DOMAIN"),
        (CreateSnapshot("dom", "<domainsnapshot>"), "VIR_ERR_XML_DETAIL"),
    ]
    for op, code in cases:
        result = a.apply(op)
        assert (result.outcome, result.error) == (Outcome.INVALID, code), op
        assert result.message
    refused = a.apply(CreateSnapshot("dom", snap("x", "<disks><disk name='vda' snapshot='no'/>"
                                                      "</disks>")))
    assert (refused.outcome, refused.error) == (Outcome.UNSUPPORTED, "VIR_ERR_CONFIG_UNSUPPORTED")
    # The test driver rejects flags it does not know with INVALID_ARG: invalid, not unsupported.
    _ok(a, CreateSnapshot("dom", snap("x")))
    flagged = a.apply(DeleteSnapshot("dom", "x", DeleteFlag.METADATA_ONLY))
    assert (flagged.outcome, flagged.error) == (Outcome.INVALID, "VIR_ERR_INVALID_ARG")


def test_declares_what_it_cannot_see(test_driver: LibvirtAdapter) -> None:
    caps = test_driver.capabilities
    assert Aspect.TREE in caps.aspects and Aspect.SNAPSHOT_XML in caps.aspects
    assert not caps.aspects & {Aspect.CHAINS, Aspect.GUEST_DATA, Aspect.MEMORY_FILES}
    assert "write" not in caps.ops
    _ok(test_driver, DefineDomain(domain()))
    assert test_driver.apply(WriteData("dom", "vda", 0, 1)).outcome is Outcome.UNSUPPORTED
    disk = test_driver.observe().domains[0].disks[0]
    assert (disk.target, disk.chain, disk.data) == ("vda", (), ())


def test_reset_starts_from_an_empty_node(test_driver: LibvirtAdapter) -> None:
    _ok(test_driver, DefineDomain(domain()))
    _ok(test_driver, CreateSnapshot("dom", snap("s")))
    test_driver.reset()
    assert test_driver.observe().domains == ()
    assert test_driver.apply(ListSnapshots("dom")).error == "VIR_ERR_NO_DOMAIN"
    _ok(test_driver, DefineDomain(domain()))
    assert _ok(test_driver, ListSnapshots("dom")) == ()


def test_close_removes_its_own_work_directory() -> None:
    adapter = LibvirtAdapter("test:///default")
    root = adapter.root
    _ok(adapter, DefineDomain(domain()))
    adapter.close()
    adapter.close()
    assert not os.path.exists(root)
