"""The reference driver's promise on failure, checked from what a user sees.

When a backend fails part way through an operation, the driver returns a ``failed`` result,
adds or loses no snapshot metadata, leaves every disk's guest data as it was, and names every
file or internal tag it could not clean up. :func:`broken_promises` compares the observation
before the failed step with the one after it, given the failed result's message.
"""

from __future__ import annotations

from .model.observation import Observation


def broken_promises(before: Observation, after: Observation, message: str) -> list[str]:
    """What a failed step changed that it promised not to, or left without naming it."""
    return lost_by_failure(before, after, message) + unnamed_leftovers(before, after, message)


def lost_by_failure(
    before: Observation, after: Observation, message: str, named_data: bool = True
) -> list[str]:
    """The snapshot records, current snapshots and guest data a failed step changed. A disk
    whose active image the message names (a rollback step that failed itself) is excused, unless
    ``named_data`` is false."""
    problems = []
    old = {d.name: d for d in before.domains}
    new = {d.name: d for d in after.domains}
    if set(old) != set(new):
        problems.append(f"domains changed: {sorted(old)} -> {sorted(new)}")
    for name in sorted(set(old) & set(new)):
        was, now = old[name], new[name]
        if was.snapshots != now.snapshots:
            problems.append(f"{name}: snapshot records changed by a failed step")
        if was.current != now.current:
            problems.append(f"{name}: current snapshot {was.current} -> {now.current}")
        for disk_was, disk_now in zip(was.disks, now.disks, strict=False):
            path = disk_now.chain[0].path if disk_now.chain else ""
            named = named_data and bool(path) and path in message
            if disk_was.data != disk_now.data and not named:
                problems.append(f"{name}/{disk_now.target}: guest data changed by a failed step")
    return problems


def unnamed_leftovers(before: Observation, after: Observation, message: str) -> list[str]:
    """The internal tags and memory files a failed step left that its message does not name."""
    problems = []
    old = {d.name: d for d in before.domains}
    for now in after.domains:
        was = old.get(now.name)
        for index, disk_now in enumerate(now.disks):
            disk_was = was.disks[index] if was is not None and index < len(was.disks) else None
            tags_was = {(i.path, t) for i in disk_was.chain for t in i.internal_tags} if (
                disk_was is not None) else set()
            for image, tag in sorted({(i.path, t) for i in disk_now.chain
                                      for t in i.internal_tags} - tags_was):
                if image not in message or tag not in message:
                    problems.append(f"{now.name}/{disk_now.target}: tag {tag} left in {image}, unnamed")
    for path in sorted(set(after.memory_files) - set(before.memory_files)):
        if path not in message:
            problems.append(f"memory file {path} left, unnamed")
    return problems
