"""The XML the libvirt adapter writes (domain definitions) and reads (domain and snapshot XML).

A domain is the smallest QEMU guest that snapshots can exercise: ``type='qemu'`` (TCG, no KVM
needed), 64 MiB, one vCPU, no OS (it sits in the firmware), the serial port to null, no USB
controller, no balloon and no graphics (libvirt always runs QEMU with ``-nodefaults``). Disks sit
on the IDE bus, whatever their target name: an IDE disk's device id (``ide0-0-0``) is what HMP
``qemu-io -d`` needs to write through the guest's own device; a virtio disk hides its block
backend in a child device that has no id.
"""

from __future__ import annotations

import attrs
from lxml import etree

from ...model.definition import DomainSpec
from ...model.observation import SnapshotObservation
from ...model.world import relative

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


@attrs.frozen
class LiveDisk:
    """A disk of a domain as libvirt reports it: target, active image, format, device alias."""

    target: str
    source: str
    format: str
    alias: str | None


def _xml_attr(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;").replace(">", "&gt;")
    )


def domain_xml(spec: DomainSpec, sources: dict[str, str]) -> str:
    """The ``<domain>`` for ``spec``; ``sources`` maps each target to its image's absolute path."""
    disks = []
    for disk in spec.disks:
        snapshot = f" snapshot='{disk.snapshot.value}'" if disk.snapshot else ""
        disks.append(
            f"    <disk type='file' device='disk'{snapshot}>\n"
            f"      <driver name='qemu' type='{disk.format}'/>\n"
            f"      <source file='{_xml_attr(sources[disk.target])}'/>\n"
            f"      <target dev='{_xml_attr(disk.target)}' bus='ide'/>\n"
            "    </disk>\n"
        )
    return (
        "<domain type='qemu'>\n"
        f"  <name>{_xml_attr(spec.name)}</name>\n"
        f"  <uuid>{_xml_attr(spec.uuid)}</uuid>\n"
        "  <memory unit='MiB'>64</memory>\n"
        "  <vcpu>1</vcpu>\n"
        "  <os><type arch='x86_64' machine='pc'>hvm</type></os>\n"
        "  <devices>\n"
        f"{''.join(disks)}"
        "    <controller type='usb' model='none'/>\n"
        "    <serial type='null'/>\n"
        "    <memballoon model='none'/>\n"
        "  </devices>\n"
        "</domain>\n"
    )


def live_disks(xml: str) -> tuple[LiveDisk, ...]:
    """The file-backed disks of a domain XML, in document order."""
    root = etree.fromstring(xml.encode(), _PARSER)
    disks = []
    for disk in root.iterfind("devices/disk[@device='disk']"):
        source = disk.find("source")
        target = disk.find("target")
        if source is None or target is None or source.get("file") is None:
            continue
        driver = disk.find("driver")
        alias = disk.find("alias")
        disks.append(
            LiveDisk(
                target=target.get("dev", ""),
                source=source.get("file", ""),
                format=driver.get("type", "raw") if driver is not None else "raw",
                alias=alias.get("name") if alias is not None else None,
            )
        )
    return tuple(disks)


def snapshot_observation(name: str, xml: str, root: str) -> SnapshotObservation:
    """A snapshot as the user sees it in its XML, paths relative to ``root``."""
    doc = etree.fromstring(xml.encode(), _PARSER)
    memory = doc.find("memory")
    memory_file = memory.get("file") if memory is not None else None
    return SnapshotObservation(
        name=name,
        parent=doc.findtext("parent/name"),
        state=doc.findtext("state") or "",
        memory=memory.get("snapshot", "") if memory is not None else "",
        memory_file=relative(root, memory_file) if memory_file else None,
        disks=tuple(
            (disk.get("name", ""), disk.get("snapshot", "")) for disk in doc.iterfind("disks/disk")
        ),
    )


def is_external(xml: str) -> bool:
    """Whether a snapshot's XML saves memory or a disk externally."""
    doc = etree.fromstring(xml.encode(), _PARSER)
    memory = doc.find("memory")
    if memory is not None and memory.get("snapshot") == "external":
        return True
    return any(disk.get("snapshot") == "external" for disk in doc.iterfind("disks/disk"))
