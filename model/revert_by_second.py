"""Revert to an external snapshot as libvirt 11.3 does it (profile capability
``revert_overlay = "by-second"``; ``"numbered"``, the default, is the model's older rule).

Read from libvirt's ``qemuSnapshotRevertExternalPrepare`` / ``...Finish`` and measured on 11.3:

- Every disk of the snapshot's domain definition goes onto a fresh qcow2 overlay on the image it
  had when the snapshot was taken. The overlay is named like the overlay of a snapshot without
  ``<source>`` whose name is the current second: ``d0-vda.qcow2`` -> ``d0-vda.1796035589``. When
  a file of that name exists the revert fails (``VIR_ERR_CONFIG_UNSUPPORTED`` "external snapshot
  file for disk vda already exists and is not a block device"): two reverts within one second
  collide (a finding). The model and the reference driver count their "seconds" from
  :data:`SECOND_BASE` plus the view's clock, which such a revert advances, and never collide;
  observations show every such name as ``d0-vda.<second>``
  (:func:`.observation.canonical_image_path`), so real seconds and counted ones compare.
- The overlays the domain leaves are removed: the current snapshot's revert overlays when it has
  some, else the current snapshot's own external overlays.
- The new overlays stay with the snapshot reverted to: as its revert overlays when it has
  children, else they replace its disks (its XML then names them, every disk external).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import attrs

from .modes import DiskMode, Outcome
from .naming import default_overlay
from .ops import Result
from .world import Snapshot, SnapshotDisk

#: The first "second" the model and the reference driver name revert overlays with (ten digits,
#: as a Unix time of this century has).
SECOND_BASE = 1_000_000_000


def revert_overlay_names(
    sources: Mapping[str, str], targets: Sequence[str], second: int
) -> dict[str, str]:
    """The overlay each disk gets: named after its image and ``second``, in disk order."""
    return {target: default_overlay(sources[target], str(second)) for target in targets}


def overlay_collision(overlays: Mapping[str, str], exists: Callable[[str], bool]) -> Result | None:
    """The refusal when an overlay's name is taken (a revert in the same second), or ``None``."""
    for target, path in overlays.items():
        if exists(path):
            return Result.refused(
                Outcome.UNSUPPORTED,
                "VIR_ERR_CONFIG_UNSUPPORTED",
                f"external snapshot file for disk {target} already exists and is not a block "
                f"device: {path}",
            )
    return None


def finish_revert(
    snapshots: Mapping[str, Snapshot],
    current: str | None,
    name: str,
    overlays: Mapping[str, str],
    sources: Mapping[str, str],
) -> tuple[dict[str, Snapshot], list[str]]:
    """The snapshot records after reverting to ``name``, and the overlay files to remove."""
    records = dict(snapshots)
    removed: list[str] = []
    left = records.get(current) if current is not None else None
    if left is not None:
        if left.revert_overlays is not None:
            removed = [path for _, path in left.revert_overlays]
            records[left.name] = attrs.evolve(left, revert_overlays=None)
        else:
            removed = [
                disk.overlay
                for disk in left.disks
                if disk.mode is DiskMode.EXTERNAL and disk.overlay is not None
            ]
    target = records[name]
    if any(record.parent == name for record in records.values()):
        records[name] = attrs.evolve(target, revert_overlays=tuple(overlays.items()))
    else:
        disks = tuple(
            SnapshotDisk(disk, DiskMode.EXTERNAL, sources[disk], path)
            for disk, path in overlays.items()
        )
        records[name] = attrs.evolve(target, disks=disks)
    return records, removed
