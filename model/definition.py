"""Parsed values: a ``<domainsnapshot>`` definition and the domain definition it applies to.

These are plain frozen values; :mod:`snaporacle.model.snapshot_xml` turns XML into them and back.
Subtrees that snaporacle keeps but does not interpret (a ``<domain>`` definition, a ``<cookie>``,
the children of a disk's ``<source>`` or ``<driver>``) are held as serialised XML text, exactly as
they came, so that formatting gives them back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from .modes import DiskMode, MemoryMode, SnapshotState


def _optional_text(_inst: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{attribute.name} must be a string or None, not {value!r}")


def _disk_tuple(value: Iterable[SnapshotDisk] | None) -> tuple[SnapshotDisk, ...] | None:
    """The ``disks`` converter, typed so that mypy sees what it accepts."""
    return None if value is None else tuple(value)


@attrs.frozen
class MemorySpec:
    """``<memory snapshot='...' file='...'/>``; ``snapshot=None`` when the attribute is absent."""

    snapshot: MemoryMode | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(MemoryMode))
    )
    file: str | None = attrs.field(default=None, validator=_optional_text)


@attrs.frozen
class SnapshotDisk:
    """One ``<disks>/<disk>`` entry of a snapshot definition.

    ``name`` is the target (``vda``) or the disk's absolute source path. ``source_file`` is the
    ``file=`` (or ``dev=``) attribute of ``<source>``; ``source_xml`` and ``driver_xml`` hold the
    whole ``<source>`` and ``<driver>`` elements as they came, for the parts not modelled.
    """

    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    snapshot: DiskMode | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(DiskMode))
    )
    type: str | None = attrs.field(default=None, validator=_optional_text)
    source_file: str | None = attrs.field(default=None, validator=_optional_text)
    driver_type: str | None = attrs.field(default=None, validator=_optional_text)
    source_xml: str | None = attrs.field(default=None, validator=_optional_text)
    driver_xml: str | None = attrs.field(default=None, validator=_optional_text)


@attrs.frozen
class SnapshotDefinition:
    """A ``<domainsnapshot>``: every element of SPEC.md section 6.

    ``disks=None`` means no ``<disks>`` element; ``()`` an empty one. ``active`` is libvirt's
    internal ``<active>`` current-snapshot marker, only present in its on-disk metadata.
    """

    name: str | None = attrs.field(default=None, validator=_optional_text)
    description: str | None = attrs.field(default=None, validator=_optional_text)
    state: SnapshotState | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.instance_of(SnapshotState)),
    )
    parent: str | None = attrs.field(default=None, validator=_optional_text)
    creation_time: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(int))
    )
    memory: MemorySpec | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(MemorySpec))
    )
    disks: tuple[SnapshotDisk, ...] | None = attrs.field(
        default=None,
        converter=_disk_tuple,
    )
    domain_xml: str | None = attrs.field(default=None, validator=_optional_text)
    inactive_domain_xml: str | None = attrs.field(default=None, validator=_optional_text)
    cookie_xml: str | None = attrs.field(default=None, validator=_optional_text)
    active: bool | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(bool))
    )

    @property
    def memory_mode(self) -> MemoryMode | None:
        """The memory mode as given: ``None`` when ``<memory>`` or its mode is absent.

        A ``file`` without a ``snapshot`` attribute means external (SPEC.md section 1).
        """
        if self.memory is None:
            return None
        if self.memory.snapshot is None and self.memory.file is not None:
            return MemoryMode.EXTERNAL
        return self.memory.snapshot


@attrs.frozen
class DomainDisk:
    """A disk of a domain definition: target, image, format and its own snapshot default."""

    target: str = attrs.field(validator=attrs.validators.instance_of(str))
    source: str = attrs.field(validator=attrs.validators.instance_of(str))
    format: str = attrs.field(default="qcow2", validator=attrs.validators.in_(("qcow2", "raw")))
    snapshot: DiskMode | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(DiskMode))
    )


def _domain_disks(disks: Iterable[DomainDisk]) -> tuple[DomainDisk, ...]:
    return tuple(disks)


@attrs.frozen
class DomainSpec:
    """A persistent domain definition as snaporacle models it."""

    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    uuid: str = attrs.field(validator=attrs.validators.instance_of(str))
    disks: tuple[DomainDisk, ...] = attrs.field(converter=_domain_disks)

    def disk(self, name: str) -> DomainDisk | None:
        """The disk named by target or by source path, or ``None``."""
        for disk in self.disks:
            if name in (disk.target, disk.source):
                return disk
        return None
