"""The vocabulary of snapshots: modes, states, mechanisms, outcomes and libvirt's flag bits.

Every value that crosses a module boundary is one of these enums, so that a typo is an error at
the place it is made rather than a silent mismatch in a comparison much later. The flag enums use
libvirt's own bit values (``virDomainSnapshotCreateFlags`` and friends) so an adapter can pass them
to libvirt-python unchanged.
"""

from __future__ import annotations

import enum
from typing import TypeVar

_F = TypeVar("_F", bound=enum.IntFlag)


class DomainState(enum.Enum):
    """What a domain is doing. Paused counts as online for the table."""

    SHUTOFF = "shutoff"
    RUNNING = "running"
    PAUSED = "paused"

    @property
    def column(self) -> DomainColumn:
        """The table column this state falls in."""
        return DomainColumn.OFFLINE if self is DomainState.SHUTOFF else DomainColumn.ONLINE

    @property
    def active(self) -> bool:
        """True when a QEMU process runs for the domain (running or paused)."""
        return self is not DomainState.SHUTOFF


class DomainColumn(enum.Enum):
    """The domain column of the table."""

    OFFLINE = "offline"
    ONLINE = "online"


class MemoryMode(enum.Enum):
    """``<memory snapshot='...'>``: how the VM state is saved."""

    NO = "no"
    INTERNAL = "internal"
    EXTERNAL = "external"


class DiskMode(enum.Enum):
    """``<disk snapshot='...'>``: how one disk is snapshotted."""

    NO = "no"
    INTERNAL = "internal"
    EXTERNAL = "external"


class Column(enum.Enum):
    """The memory or disk column of the table: a mode as given, or ``omit`` when absent."""

    OMIT = "omit"
    NO = "no"
    INTERNAL = "internal"
    EXTERNAL = "external"

    @classmethod
    def of(cls, mode: MemoryMode | DiskMode | None) -> Column:
        """The column for a mode as given in a request (``None`` = not given)."""
        return cls.OMIT if mode is None else cls(mode.value)


class DiskResult(enum.Enum):
    """The disk mode a table cell promises; ``default`` = each disk's own default."""

    NO = "no"
    INTERNAL = "internal"
    EXTERNAL = "external"
    DEFAULT = "default"


class Mechanism(enum.Enum):
    """The QEMU mechanism that carries out a snapshot."""

    QEMU_IMG = "qemu-img"
    SAVEVM = "savevm"
    #: QMP ``snapshot-save`` (libvirt 11.3, measured): savevm's effect, but a job that fails
    #: when a disk already holds a snapshot of that name, where HMP ``savevm`` replaces it
    SNAPSHOT_SAVE = "snapshot-save"
    MIGRATE = "migrate"
    TRANSACTION = "transaction"


class Outcome(enum.Enum):
    """The class of an operation's result (a table cell is never ``failed``)."""

    ACCEPTED = "accepted"
    INVALID = "invalid"
    UNSUPPORTED = "unsupported"
    FAILED = "failed"


class SnapshotState(enum.Enum):
    """A snapshot's ``<state>``: the domain state it captured."""

    NOSTATE = "nostate"
    RUNNING = "running"
    BLOCKED = "blocked"
    PAUSED = "paused"
    SHUTDOWN = "shutdown"
    SHUTOFF = "shutoff"
    CRASHED = "crashed"
    PMSUSPENDED = "pmsuspended"
    DISK_SNAPSHOT = "disk-snapshot"


class CreateFlag(enum.IntFlag):
    """``virDomainSnapshotCreateFlags``, with libvirt's bit values."""

    REDEFINE = 1
    CURRENT = 2
    NO_METADATA = 4
    HALT = 8
    DISK_ONLY = 16
    REUSE_EXT = 32
    QUIESCE = 64
    ATOMIC = 128
    LIVE = 256
    VALIDATE = 512


class RevertFlag(enum.IntFlag):
    """``virDomainSnapshotRevertFlags``, with libvirt's bit values."""

    RUNNING = 1
    PAUSED = 2
    FORCE = 4
    RESET_NVRAM = 8


class DeleteFlag(enum.IntFlag):
    """``virDomainSnapshotDeleteFlags``, with libvirt's bit values."""

    CHILDREN = 1
    METADATA_ONLY = 2
    CHILDREN_ONLY = 4


def flag_names(flags: enum.IntFlag) -> list[str]:
    """The names of the set bits, in bit order (``[]`` for none)."""
    return [member.name or "" for member in type(flags) if member in flags]


def parse_flags(kind: type[_F], names: list[str] | tuple[str, ...]) -> _F:
    """Flags from their names (case-insensitive); unknown names raise ``ValueError``."""
    value = kind(0)
    for name in names:
        try:
            value |= kind[name.upper().replace("-", "_")]
        except KeyError:
            valid = ", ".join(m.name or "" for m in kind)
            raise ValueError(f"unknown {kind.__name__} {name!r}; valid: {valid}") from None
    return value
