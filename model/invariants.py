"""What must always hold, in the model's world and in any adapter's observation.

- The snapshot tree is well formed: every parent exists, no cycles, the current snapshot exists.
- Every snapshot's saved data is intact (model only): an internal snapshot's tag is still in each
  image it was taken on, an external one's frozen images and memory file still exist. Records
  made by REDEFINE saved nothing and are not checked.

Each function returns the problems found, one line each; an empty list means all is well.
"""

from __future__ import annotations

from collections.abc import Mapping

from .modes import DiskMode, MemoryMode
from .observation import Observation
from .world import Image, World


def _tree_problems(domain: str, parents: Mapping[str, str | None], current: str | None) -> list[str]:
    problems = []
    for name, parent in parents.items():
        seen = {name}
        while parent is not None:
            if parent not in parents:
                problems.append(f"{domain}: snapshot {name} has a missing ancestor {parent}")
                break
            if parent in seen:
                problems.append(f"{domain}: the tree has a cycle through {parent}")
                break
            seen.add(parent)
            parent = parents[parent]
    if current is not None and current not in parents:
        problems.append(f"{domain}: the current snapshot {current} does not exist")
    return problems


def world_problems(world: World) -> list[str]:
    """Broken trees and lost saved data in the model's world."""
    problems = []
    for name, domain in world.domains.items():
        parents = {snap.name: snap.parent for snap in domain.snapshots.values()}
        problems += _tree_problems(name, parents, domain.current)
        for snap in domain.snapshots.values():
            if not snap.taken:
                continue
            sources = dict(snap.sources)
            for disk in snap.disks:
                path = sources.get(disk.target) if disk.mode is DiskMode.INTERNAL else disk.frozen
                if path is None or disk.mode is DiskMode.NO:
                    continue
                image = world.files.get(path)
                if not isinstance(image, Image):
                    problems.append(f"{name}: image {path} of snapshot {snap.name} is gone")
                elif disk.mode is DiskMode.INTERNAL and image.tag(snap.name) is None:
                    problems.append(f"{name}: tag {snap.name} is gone from {path}")
            if snap.memory is MemoryMode.EXTERNAL and snap.memory_file not in world.files:
                problems.append(f"{name}: memory file of snapshot {snap.name} is gone")
    return problems


def observation_problems(observation: Observation) -> list[str]:
    """Broken trees in what an adapter reports."""
    problems = []
    for domain in observation.domains:
        parents = {snap.name: snap.parent for snap in domain.snapshots}
        problems += _tree_problems(domain.name, parents, domain.current)
    return problems
