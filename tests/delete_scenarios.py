"""Deleting external snapshots in the middle of a tree: small scenarios and what libvirt 9.0
and 11.3 answered to each, measured with the embedded QEMU driver (``qemu:///embed``) on
Debian 12 and in a Debian 13 root. The tests replay each scenario in lockstep (model against an
adapter) and check the final delete's answer against the measured one for the profile in use.

Each scenario's last step is the delete under test; ``MEASURED`` maps (scenario, running,
profile) to the outcome and error code libvirt gave for it.
"""

from __future__ import annotations

from collections.abc import Callable

from snaporacle.model.definition import DomainDisk, DomainSpec
from snaporacle.model.modes import CreateFlag, DeleteFlag, Outcome
from snaporacle.model.ops import (
    CreateSnapshot,
    DefineDomain,
    DeleteSnapshot,
    Op,
    RevertSnapshot,
    StartDomain,
    WriteData,
)

DOMAIN = "d0"


def define(root: str) -> DefineDomain:
    """A domain with one qcow2 disk ``vda`` under ``root``."""
    disk = DomainDisk("vda", f"{root}/d0-vda.qcow2")
    return DefineDomain(DomainSpec(DOMAIN, "5a0d7b4e-1c3f-4e2a-9b6d-000000000001", (disk,)))


def external(name: str) -> CreateSnapshot:
    """A DISK_ONLY external snapshot of ``vda`` (overlay named by libvirt)."""
    xml = (f"<domainsnapshot><name>{name}</name><memory snapshot='no'/><disks>"
           "<disk name='vda' snapshot='external'/></disks></domainsnapshot>")
    return CreateSnapshot(DOMAIN, xml, CreateFlag.DISK_ONLY)


def internal(name: str) -> CreateSnapshot:
    """An internal snapshot of ``vda`` without memory (a shut-off domain's)."""
    xml = (f"<domainsnapshot><name>{name}</name><memory snapshot='no'/><disks>"
           "<disk name='vda' snapshot='internal'/></disks></domainsnapshot>")
    return CreateSnapshot(DOMAIN, xml)


def write(block: int, pattern: int) -> WriteData:
    return WriteData(DOMAIN, "vda", block, pattern)


def delete(name: str, flags: DeleteFlag = DeleteFlag(0)) -> DeleteSnapshot:
    return DeleteSnapshot(DOMAIN, name, flags)


def revert(name: str) -> RevertSnapshot:
    return RevertSnapshot(DOMAIN, name)


META = DeleteFlag.METADATA_ONLY

#: name -> the steps after define (and start, for the running variant)
SCENARIOS: dict[str, Callable[[], list[Op]]] = {
    "parent-of-current": lambda: [write(0, 1), external("s1"), write(1, 2), external("s2"),
                                  write(2, 3), delete("s1")],
    "middle-of-three": lambda: [write(0, 1), external("s1"), write(1, 2), external("s2"),
                                write(2, 3), external("s3"), write(3, 4), delete("s2")],
    "parent-then-child": lambda: [write(0, 1), external("s1"), write(1, 2), external("s2"),
                                  write(2, 3), delete("s1"), delete("s2")],
    "leaf-left-by-revert": lambda: [write(0, 1), external("s1"), write(1, 2), external("s2"),
                                    write(2, 3), revert("s1"), delete("s2")],
    "two-children": lambda: [write(0, 1), external("s1"), write(1, 2), external("s2"),
                             revert("s1"), external("s3"), delete("s1")],
    "below-current": lambda: [write(0, 1), external("s1"), write(1, 2), external("s2"),
                              write(2, 3), external("s3"), revert("s1"), delete("s2")],
    "current-with-child": lambda: [write(0, 1), external("s1"), write(1, 2), external("s2"),
                                   revert("s1"), delete("s1")],
    "side-branch": lambda: [write(0, 1), external("s1"), write(1, 2), external("s2"),
                            write(2, 3), external("s3"), revert("s1"), external("s4"),
                            delete("s2")],
    "orphan-overlay-above": lambda: [write(0, 1), external("s1"), write(1, 2), external("s2"),
                                     write(2, 3), delete("s2", META), delete("s1")],
    "internal-child": lambda: [write(0, 1), external("s1"), write(1, 2), internal("s2"),
                               write(2, 3), delete("s1")],
}

ACCEPTED = (Outcome.ACCEPTED, None)
CONFIG = (Outcome.UNSUPPORTED, "VIR_ERR_CONFIG_UNSUPPORTED")
NOT_SAME = (Outcome.FAILED, "VIR_ERR_OPERATION_FAILED")
NOT_FOUND = (Outcome.INVALID, "VIR_ERR_INVALID_ARG")
#: the model refuses what would lose an internal snapshot; libvirt does it (a finding)
KEEPS_DATA = (Outcome.UNSUPPORTED, "VIR_ERR_OPERATION_UNSUPPORTED")

#: (scenario, running) -> measured on 11.3 (and what the model answers where libvirt loses data)
MEASURED_11_3: dict[tuple[str, bool], tuple[Outcome, str | None]] = {
    **{(name, running): ACCEPTED for name in ("parent-of-current", "middle-of-three",
                                              "parent-then-child", "leaf-left-by-revert")
       for running in (False, True)},
    **{(name, running): CONFIG for name in ("two-children", "below-current",
                                            "current-with-child", "side-branch")
       for running in (False, True)},
    ("orphan-overlay-above", False): NOT_SAME,
    ("orphan-overlay-above", True): NOT_SAME,
    ("internal-child", False): KEEPS_DATA,
}

#: measured on 9.0 (no revert to external snapshots there: scenarios with one are left out)
MEASURED_9_0: dict[tuple[str, bool], tuple[Outcome, str | None]] = {
    **{(name, False): NOT_FOUND for name in ("parent-of-current", "middle-of-three",
                                             "orphan-overlay-above")},
    # the parent's delete is refused there, and the child's (now a plain leaf) done
    ("parent-then-child", False): ACCEPTED,
    **{(name, True): ACCEPTED for name in ("parent-of-current", "middle-of-three",
                                           "parent-then-child")},
    ("internal-child", False): KEEPS_DATA,
}


def steps(name: str, root: str, running: bool) -> list[Op]:
    """The whole scenario: define, start when ``running``, then its steps."""
    head: list[Op] = [define(root)]
    if running:
        head.append(StartDomain(DOMAIN))
    return head + SCENARIOS[name]()
