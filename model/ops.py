"""Operations the explorer draws and every adapter carries out, and their results.

An operation is a frozen value; a trace is a list of them. Each has a stable ``kind`` name and a
JSON form (:func:`op_to_json`, :func:`op_from_json`) so that traces can be saved and replayed.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from .definition import DomainDisk, DomainSpec
from .modes import CreateFlag, DeleteFlag, DiskMode, Outcome, RevertFlag, flag_names, parse_flags


@attrs.frozen
class DefineDomain:
    """Define a persistent domain (shut off) with fresh, empty disk images."""

    domain: DomainSpec
    kind = "define"


@attrs.frozen
class StartDomain:
    """Start a shut-off domain, running or paused."""

    domain: str
    paused: bool = False
    kind = "start"


@attrs.frozen
class PauseDomain:
    """Pause a running domain."""

    domain: str
    kind = "pause"


@attrs.frozen
class ResumeDomain:
    """Resume a paused domain."""

    domain: str
    kind = "resume"


@attrs.frozen
class DestroyDomain:
    """Stop a running or paused domain at once (power off)."""

    domain: str
    kind = "destroy"


@attrs.frozen
class WriteData:
    """Write one block of a disk, guest-visible, filled with ``pattern`` (1..255)."""

    domain: str
    disk: str
    block: int
    pattern: int
    kind = "write"


@attrs.frozen
class WriteMemory:
    """Write one block of a running or paused domain's RAM, filled with ``pattern`` (1..255)."""

    domain: str
    block: int
    pattern: int
    kind = "write_memory"


@attrs.frozen
class CreateSnapshot:
    """``virDomainSnapshotCreateXML(xml, flags)``."""

    domain: str
    xml: str
    flags: CreateFlag = CreateFlag(0)
    kind = "create"


@attrs.frozen
class RevertSnapshot:
    """``virDomainRevertToSnapshot(name, flags)``."""

    domain: str
    name: str
    flags: RevertFlag = RevertFlag(0)
    kind = "revert"


@attrs.frozen
class DeleteSnapshot:
    """``virDomainSnapshotDelete(name, flags)``."""

    domain: str
    name: str
    flags: DeleteFlag = DeleteFlag(0)
    kind = "delete"


@attrs.frozen
class ListSnapshots:
    """``virDomainListAllSnapshots``: the names, sorted."""

    domain: str
    kind = "list"


@attrs.frozen
class CurrentSnapshot:
    """``virDomainSnapshotCurrent``: the current snapshot's name, or none."""

    domain: str
    kind = "current"


@attrs.frozen
class DumpSnapshotXML:
    """``virDomainSnapshotGetXMLDesc``: the snapshot's XML."""

    domain: str
    name: str
    kind = "dumpxml"


Op = (
    DefineDomain
    | StartDomain
    | PauseDomain
    | ResumeDomain
    | DestroyDomain
    | WriteData
    | WriteMemory
    | CreateSnapshot
    | RevertSnapshot
    | DeleteSnapshot
    | ListSnapshots
    | CurrentSnapshot
    | DumpSnapshotXML
)

OP_TYPES: dict[str, type[Any]] = {
    cls.kind: cls
    for cls in (
        DefineDomain,
        StartDomain,
        PauseDomain,
        ResumeDomain,
        DestroyDomain,
        WriteData,
        WriteMemory,
        CreateSnapshot,
        RevertSnapshot,
        DeleteSnapshot,
        ListSnapshots,
        CurrentSnapshot,
        DumpSnapshotXML,
    )
}


@attrs.frozen
class Result:
    """What an operation gave back: its outcome class, libvirt's error code, and a value.

    ``value`` is the created snapshot's name (create), the sorted names (list), the current name
    or ``None`` (current), the XML (dumpxml), else ``None``. ``message`` is the error text.
    """

    outcome: Outcome
    error: str | None = None
    value: str | tuple[str, ...] | None = None
    message: str = ""

    @classmethod
    def ok(cls, value: str | tuple[str, ...] | None = None) -> Result:
        """An accepted result."""
        return cls(Outcome.ACCEPTED, None, value)

    @classmethod
    def refused(cls, outcome: Outcome, error: str | None, message: str) -> Result:
        """A refusal (``invalid`` or ``unsupported``): libvirt's error code name and message."""
        if outcome not in (Outcome.INVALID, Outcome.UNSUPPORTED):
            raise ValueError(f"a refusal is invalid or unsupported, not {outcome.value}")
        return cls(outcome, error, None, message)

    @classmethod
    def failed(cls, error: str | None, message: str) -> Result:
        """A failure: the request was valid but could not be carried out."""
        return cls(Outcome.FAILED, error, None, message)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {
            "outcome": self.outcome.value,
            "error": self.error,
            "value": value,
            "message": self.message,
        }


_FLAG_FIELDS: dict[str, type[enum.IntFlag]] = {
    "create": CreateFlag,
    "revert": RevertFlag,
    "delete": DeleteFlag,
}


def op_to_json(op: Op) -> dict[str, Any]:
    """The JSON form of an operation: ``{"op": kind, ...fields}``, flags as a list of names."""
    data: dict[str, Any] = {"op": op.kind}
    for field in attrs.fields(type(op)):
        value = getattr(op, field.name)
        if isinstance(value, enum.IntFlag):
            value = flag_names(value)
        elif isinstance(value, DomainSpec):
            value = {
                "name": value.name,
                "uuid": value.uuid,
                "disks": [
                    {
                        "target": d.target,
                        "source": d.source,
                        "format": d.format,
                        "snapshot": d.snapshot.value if d.snapshot else None,
                    }
                    for d in value.disks
                ],
            }
        data[field.name] = value
    return data


def op_from_json(data: Mapping[str, Any]) -> Op:
    """Parse the JSON form of an operation; raises ``ValueError`` saying what is wrong."""
    kind = data.get("op")
    cls = OP_TYPES.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown op {kind!r}; valid: {', '.join(sorted(OP_TYPES))}")
    fields = {field.name: field for field in attrs.fields(cls)}
    unknown = set(data) - set(fields) - {"op"}
    if unknown:
        raise ValueError(f"op {kind!r} has no field(s) {', '.join(sorted(unknown))}")
    args: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in data:
            if field.default is attrs.NOTHING:
                raise ValueError(f"op {kind!r} needs the field {name!r}")
            continue
        value = data[name]
        if name == "flags":
            if not isinstance(value, list):
                raise ValueError(f"op {kind!r}: flags must be a list of names")
            value = parse_flags(_FLAG_FIELDS[str(kind)], value)
        elif name == "domain" and cls is DefineDomain:
            value = DomainSpec(
                name=value["name"],
                uuid=value["uuid"],
                disks=tuple(
                    DomainDisk(
                        target=d["target"],
                        source=d["source"],
                        format=d.get("format", "qcow2"),
                        snapshot=DiskMode(d["snapshot"]) if d.get("snapshot") else None,
                    )
                    for d in value["disks"]
                ),
            )
        args[name] = value
    try:
        op: Op = cls(**args)
    except (TypeError, KeyError) as err:
        raise ValueError(f"op {kind!r}: {err}") from err
    return op
