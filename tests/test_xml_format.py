"""Formatting definitions built in code (not parsed), and the default helpers."""

from __future__ import annotations

import pytest

from snaporacle.errors import SnapshotXMLError
from snaporacle.model.defaults import (
    check_memory_allowed,
    snapshot_state,
    with_creation_time,
    with_defaults,
)
from snaporacle.model.definition import MemorySpec, SnapshotDefinition, SnapshotDisk
from snaporacle.model.modes import DiskMode, DomainState, MemoryMode, SnapshotState
from snaporacle.model.snapshot_xml import format_snapshot, parse_snapshot, validate_snapshot_xml


def test_disk_fields_without_kept_xml_are_written() -> None:
    definition = SnapshotDefinition(
        name="s",
        disks=[
            SnapshotDisk("vda", DiskMode.EXTERNAL, source_file="/i/a.qcow2", driver_type="qcow2"),
            SnapshotDisk("vdb", DiskMode.EXTERNAL, type="block", source_file="/dev/vg/b"),
        ],
    )
    text = format_snapshot(definition)
    assert (
        "    <disk name='vda' snapshot='external' type='file'>\n"
        "      <driver type='qcow2'/>\n      <source file='/i/a.qcow2'/>\n    </disk>\n"
    ) in text
    assert "<disk name='vdb' snapshot='external' type='block'>\n      <source dev='/dev/vg/b'/>" \
        in text
    validate_snapshot_xml(text)
    parsed = parse_snapshot(text)
    assert [d.source_file for d in parsed.disks or ()] == ["/i/a.qcow2", "/dev/vg/b"]


def test_libvirt_leaves_out_what_says_nothing() -> None:
    definition = SnapshotDefinition(
        name="s", state=SnapshotState.NOSTATE, creation_time=0, memory=MemorySpec(), disks=()
    )
    assert format_snapshot(definition) == "<domainsnapshot>\n  <name>s</name>\n</domainsnapshot>\n"


def test_a_memory_file_alone_is_written_as_external() -> None:
    definition = SnapshotDefinition(name="s", memory=MemorySpec(file="/m.img"))
    assert "<memory snapshot='external' file='/m.img'/>" in format_snapshot(definition)


def test_kept_subtree_is_reindented_and_keeps_its_text() -> None:
    domain = (
        "<domain type='kvm'><description>a\n  b</description><os><type>hvm</type></os></domain>"
    )
    text = format_snapshot(SnapshotDefinition(name="s", domain_xml=domain))
    assert text == (
        "<domainsnapshot>\n  <name>s</name>\n  <domain type='kvm'>\n"
        "    <description>a\n  b</description>\n    <os>\n      <type>hvm</type>\n    </os>\n"
        "  </domain>\n</domainsnapshot>\n"
    )


def test_a_broken_kept_subtree_is_an_error() -> None:
    with pytest.raises(SnapshotXMLError, match="definition's <domain> is not well-formed"):
        format_snapshot(SnapshotDefinition(name="s", domain_xml="<domain>"))


def test_mixed_content_is_written_inline() -> None:
    cookie = "<cookie><p>one <b>two</b> three</p></cookie>"
    text = format_snapshot(SnapshotDefinition(name="s", cookie_xml=cookie))
    assert "  <cookie>\n    <p>one <b>two</b> three</p>\n  </cookie>\n" in text


@pytest.mark.parametrize(
    ("state", "disk_only", "expected"),
    [
        (DomainState.RUNNING, False, SnapshotState.RUNNING),
        (DomainState.PAUSED, False, SnapshotState.PAUSED),
        (DomainState.SHUTOFF, False, SnapshotState.SHUTOFF),
        (DomainState.RUNNING, True, SnapshotState.DISK_SNAPSHOT),
        (DomainState.PAUSED, True, SnapshotState.DISK_SNAPSHOT),
        (DomainState.SHUTOFF, True, SnapshotState.SHUTOFF),
    ],
)
def test_snapshot_state(state: DomainState, disk_only: bool, expected: SnapshotState) -> None:
    assert snapshot_state(state, disk_only) is expected


def test_creation_time_names_only_unnamed_snapshots() -> None:
    assert with_creation_time(SnapshotDefinition(), 12).name == "12"
    stamped = with_creation_time(SnapshotDefinition(name="kept"), 12)
    assert (stamped.name, stamped.creation_time) == ("kept", 12)


def test_defaults_keep_a_given_mode_and_refuse_offline_memory() -> None:
    external = SnapshotDefinition(memory=MemorySpec(MemoryMode.EXTERNAL, "/m"))
    assert with_defaults(external, DomainState.PAUSED, False).memory == external.memory
    with pytest.raises(SnapshotXMLError, match=r"^snap\.xml: memory state cannot be saved"):
        check_memory_allowed(external, DomainState.SHUTOFF, False, source="snap.xml")
    check_memory_allowed(SnapshotDefinition(memory=MemorySpec(MemoryMode.NO)),
                         DomainState.SHUTOFF, True)
