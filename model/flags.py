"""The flag rules of SPEC.md sections 4 and 5: which flag combinations an API call refuses.

Each check returns ``None`` when the flags are acceptable, else the :class:`Rejected` verdict with
libvirt's error code. They look only at the flags and the domain state, before any XML is read.
"""

from __future__ import annotations

from .modes import CreateFlag, DeleteFlag, DomainState, Outcome, RevertFlag
from .profile import Rejected

_INVALID_ARG = "VIR_ERR_INVALID_ARG"


def _invalid(reason: str) -> Rejected:
    return Rejected(Outcome.INVALID, _INVALID_ARG, reason)


def check_create_flags(flags: CreateFlag) -> Rejected | None:
    """The create-flag rules: CURRENT needs REDEFINE; REDEFINE excludes NO_METADATA, HALT and
    LIVE; QUIESCE needs DISK_ONLY (LIVE itself is :func:`check_live`'s, after the XML is read)."""
    if flags & CreateFlag.CURRENT and not flags & CreateFlag.REDEFINE:
        return _invalid("CURRENT is only valid with REDEFINE")
    if flags & CreateFlag.REDEFINE:
        for other in (CreateFlag.NO_METADATA, CreateFlag.HALT, CreateFlag.LIVE):
            if flags & other:
                return _invalid(f"REDEFINE and {other.name} are mutually exclusive")
    if flags & CreateFlag.QUIESCE and not flags & CreateFlag.DISK_ONLY:
        return _invalid("QUIESCE requires DISK_ONLY")
    return None


def check_live(flags: CreateFlag, state: DomainState, external_memory: bool) -> Rejected | None:
    """LIVE is only for full system snapshots (an active domain, external memory); libvirt
    checks it once the XML is read, before it looks at the disks."""
    if flags & CreateFlag.LIVE and not (state.active and external_memory):
        return Rejected(
            Outcome.UNSUPPORTED,
            "VIR_ERR_OPERATION_UNSUPPORTED",
            "live snapshot creation is supported only during full system snapshots",
        )
    return None


def check_revert_flags(flags: RevertFlag) -> Rejected | None:
    """RUNNING and PAUSED are mutually exclusive."""
    if flags & RevertFlag.RUNNING and flags & RevertFlag.PAUSED:
        return _invalid("RUNNING and PAUSED are mutually exclusive")
    return None


def check_delete_flags(flags: DeleteFlag) -> Rejected | None:
    """CHILDREN and CHILDREN_ONLY are mutually exclusive."""
    if flags & DeleteFlag.CHILDREN and flags & DeleteFlag.CHILDREN_ONLY:
        return _invalid("CHILDREN and CHILDREN_ONLY are mutually exclusive")
    return None
