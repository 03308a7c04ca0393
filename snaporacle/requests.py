"""Building snapshot requests: the XML and flags for a table cell, and the domains to run them on.

The explorer, the cell sweep and replay all ask for requests here, so one cell always means the
same request everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import quoteattr

from .model.definition import DomainDisk, DomainSpec
from .model.modes import Column, CreateFlag, DiskMode
from .model.profile import Cell

DOMAIN_UUIDS = (
    "5a0d7b4e-1c3f-4e2a-9b6d-000000000001",
    "5a0d7b4e-1c3f-4e2a-9b6d-000000000002",
    "5a0d7b4e-1c3f-4e2a-9b6d-000000000003",
)


def domain_spec(
    root: str,
    index: int = 0,
    disks: int | Sequence[tuple[str, DiskMode | None]] = 1,
) -> DomainSpec:
    """A domain ``d<index>`` under ``root`` with disks vda, vdb...

    ``disks`` is a count of plain qcow2 disks, or one ``(format, snapshot default)`` per disk
    (format ``qcow2`` or ``raw``, default ``None`` or a :class:`DiskMode`).
    """
    shapes = [("qcow2", None)] * disks if isinstance(disks, int) else list(disks)
    name = f"d{index}"
    return DomainSpec(
        name=name,
        uuid=DOMAIN_UUIDS[index % len(DOMAIN_UUIDS)],
        disks=tuple(
            DomainDisk(
                target=f"vd{chr(ord('a') + n)}",
                source=f"{root}/{name}-vd{chr(ord('a') + n)}.{'img' if fmt == 'raw' else 'qcow2'}",
                format=fmt,
                snapshot=default,
            )
            for n, (fmt, default) in enumerate(shapes)
        ),
    )


def snapshot_xml(
    root: str,
    name: str | None,
    memory: Column,
    disk_modes: dict[str, Column],
    explicit_sources: bool = False,
    description: str | None = None,
    stem: str | None = None,
) -> str:
    """A ``<domainsnapshot>`` request: ``memory`` as given, each disk with its mode as given.

    External memory gets the file ``ROOT/<stem>.mem``; external disks get a ``<source>`` under
    root when ``explicit_sources`` (else the driver names the overlay). ``stem`` (default: the
    name) names those files, so that two domains' snapshots of one name need not share them.
    """
    stem = stem or name or "unnamed"
    lines = ["<domainsnapshot>"]
    if name is not None:
        lines.append(f"  <name>{name}</name>")
    if description is not None:
        lines.append(f"  <description>{description}</description>")
    if memory is Column.EXTERNAL:
        path = quoteattr(f"{root}/{stem}.mem")
        lines.append(f"  <memory snapshot='external' file={path}/>")
    elif memory is not Column.OMIT:
        lines.append(f"  <memory snapshot='{memory.value}'/>")
    listed = {disk: mode for disk, mode in disk_modes.items() if mode is not Column.OMIT}
    if listed:
        lines.append("  <disks>")
        for disk, mode in listed.items():
            if mode is Column.EXTERNAL and explicit_sources:
                source = quoteattr(f"{root}/{stem}-{disk}.ovl")
                lines.append(f"    <disk name='{disk}' snapshot='external'>")
                lines.append(f"      <source file={source}/>")
                lines.append("    </disk>")
            else:
                lines.append(f"    <disk name='{disk}' snapshot='{mode.value}'/>")
        lines.append("  </disks>")
    lines.append("</domainsnapshot>")
    return "\n".join(lines) + "\n"


def cell_request(
    cell: Cell, root: str, name: str, disks: tuple[str, ...] = ("vda",)
) -> tuple[str, CreateFlag]:
    """The XML and flags that put a request for ``disks`` in ``cell``."""
    xml = snapshot_xml(root, name, cell.memory, {disk: cell.disk for disk in disks})
    flags = CreateFlag.DISK_ONLY if cell.disk_only else CreateFlag(0)
    return xml, flags
