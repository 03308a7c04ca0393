"""The world the model predicts: domains, disk image chains, memory images and snapshot trees.

A :class:`World` is a frozen value. Its mappings are never changed after construction: the
transition function (:mod:`snaporacle.model.transition`) builds new ones with the ``with_*``
helpers, so an old world stays valid (Hypothesis and the explorer keep them).

- An :class:`Image` is one file of a chain: its format, its backing file, the blocks written in
  this layer, and its internal snapshots (tag -> the layer's blocks when the tag was made, and
  whether the tag holds VM state, as ``savevm`` tags do).
- A :class:`MemoryImage` is a file holding a saved VM state (``migrate`` to a file).
- A :class:`Domain` is a definition, a state, the active image of each disk, and its snapshot tree.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from .definition import DomainSpec
from .geometry import DISK_BLOCKS
from .memory import memory_view
from .modes import DiskMode, DomainState, MemoryMode, SnapshotState
from .observation import (
    DiskObservation,
    DomainObservation,
    ImageObservation,
    Observation,
    SnapshotObservation,
)

Blocks = Mapping[int, int]


@attrs.frozen
class Tag:
    """An internal snapshot inside one image: the layer's blocks then, and VM state or not."""

    blocks: Blocks
    vmstate: bool = False
    ram: Blocks = attrs.field(factory=dict)


@attrs.frozen
class Image:
    """One disk image file; ``tags`` in creation order, names may repeat."""

    format: str
    backing: str | None = None
    blocks: Blocks = attrs.field(factory=dict)
    tags: tuple[tuple[str, Tag], ...] = ()

    def tag(self, name: str) -> Tag | None:
        """The oldest internal snapshot named ``name`` (as qemu-img finds it), or ``None``."""
        return next((tag for tag_name, tag in self.tags if tag_name == name), None)

    def with_tag(self, name: str, tag: Tag, replace: bool) -> Image:
        """Add a tag; ``replace`` drops same-named ones first (savevm), else keeps them
        (``qemu-img snapshot -c`` allows duplicate names)."""
        kept = tuple(t for t in self.tags if not (replace and t[0] == name))
        return attrs.evolve(self, tags=(*kept, (name, tag)))

    def without_tag(self, name: str) -> Image:
        """Drop the oldest tag named ``name`` (``qemu-img snapshot -d``, ``delvm``)."""
        for index, (tag_name, _) in enumerate(self.tags):
            if tag_name == name:
                return attrs.evolve(self, tags=self.tags[:index] + self.tags[index + 1:])
        return self


@attrs.frozen
class MemoryImage:
    """A file holding a VM's saved state: the disks it ran on and its guest RAM."""

    domain: str
    disks: tuple[tuple[str, str], ...]
    ram: Blocks = attrs.field(factory=dict)


@attrs.frozen
class SnapshotDisk:
    """How one disk took part in a snapshot: its mode, and for external ones the two files."""

    target: str
    mode: DiskMode
    frozen: str | None = None
    overlay: str | None = None


@attrs.frozen
class Snapshot:
    """A snapshot's metadata record.

    ``sources`` are the domain's disk images (target, active image) when it was taken: libvirt
    keeps the domain definition with the snapshot, and a revert puts the disks back on them.
    ``taken`` is false for a record made by REDEFINE, which saved no data.
    """

    name: str
    parent: str | None
    state: SnapshotState
    memory: MemoryMode
    memory_file: str | None
    disks: tuple[SnapshotDisk, ...]
    creation_time: int
    description: str | None = None
    sources: tuple[tuple[str, str], ...] = ()
    taken: bool = True
    #: (target, overlay) a by-second revert put the disks on while the snapshot has children
    #: (libvirt's ``revertdisks``; see :mod:`.revert_by_second`), else ``None``
    revert_overlays: tuple[tuple[str, str], ...] | None = None

    @property
    def external(self) -> bool:
        """True when any part of it (memory or a disk) is external."""
        return self.memory is MemoryMode.EXTERNAL or any(
            d.mode is DiskMode.EXTERNAL for d in self.disks
        )


@attrs.frozen
class Domain:
    """A defined domain; ``ram`` is the guest memory of a running or paused one."""

    spec: DomainSpec
    state: DomainState
    active: Mapping[str, str]
    snapshots: Mapping[str, Snapshot] = attrs.field(factory=dict)
    current: str | None = None
    ram: Blocks = attrs.field(factory=dict)

    def children(self, name: str | None) -> list[str]:
        """The names of the snapshots whose parent is ``name``, sorted."""
        return sorted(s.name for s in self.snapshots.values() if s.parent == name)

    def descendants(self, name: str) -> list[str]:
        """Every snapshot below ``name`` in the tree, parents before children."""
        out: list[str] = []
        pending = self.children(name)
        while pending:
            child = pending.pop(0)
            out.append(child)
            pending.extend(self.children(child))
        return out


@attrs.frozen
class World:
    """Everything the model knows: the work directory, files and domains.

    ``clock`` counts snapshot creations; it stands in for creation times, which observations
    ignore. ``files`` holds images and memory images by absolute path.
    """

    root: str
    files: Mapping[str, Image | MemoryImage] = attrs.field(factory=dict)
    domains: Mapping[str, Domain] = attrs.field(factory=dict)
    clock: int = 0

    def image(self, path: str) -> Image:
        """The image at ``path`` (raises ``KeyError`` when there is none)."""
        found = self.files[path]
        if not isinstance(found, Image):
            raise KeyError(path)
        return found

    def with_file(self, path: str, value: Image | MemoryImage | None) -> World:
        """A world with one file replaced, added, or removed (``None``)."""
        files = dict(self.files)
        if value is None:
            files.pop(path, None)
        else:
            files[path] = value
        return attrs.evolve(self, files=files)

    def with_domain(self, domain: Domain) -> World:
        """A world with one domain replaced or added."""
        domains = dict(self.domains)
        domains[domain.spec.name] = domain
        return attrs.evolve(self, domains=domains)

    def chain(self, path: str) -> list[str]:
        """The chain from ``path`` down to its base image."""
        out = []
        current: str | None = path
        while current is not None and current in self.files and current not in out:
            out.append(current)
            image = self.files[current]
            current = image.backing if isinstance(image, Image) else None
        return out

    def read(self, path: str) -> tuple[int, ...]:
        """The guest-visible pattern of every block through the chain of ``path``."""
        data = [0] * DISK_BLOCKS
        for layer in reversed(self.chain(path)):
            for block, pattern in self.image(layer).blocks.items():
                data[block] = pattern
        return tuple(data)


def relative(root: str, path: str) -> str:
    """``path`` relative to the work directory ``root`` (unchanged when outside it)."""
    prefix = root.rstrip("/") + "/"
    return path[len(prefix):] if path.startswith(prefix) else path


def snapshot_observation(snapshot: Snapshot, root: str) -> SnapshotObservation:
    """How a driver reports a snapshot record, paths relative to ``root``."""
    return SnapshotObservation(
        name=snapshot.name,
        parent=snapshot.parent,
        state=snapshot.state.value,
        memory=snapshot.memory.value,
        memory_file=relative(root, snapshot.memory_file) if snapshot.memory_file else None,
        disks=tuple((d.target, d.mode.value) for d in snapshot.disks),
    )


def observe(world: World) -> Observation:
    """What a user of a driver whose true state is ``world`` would see."""
    domains = []
    for name in sorted(world.domains):
        domain = world.domains[name]
        disks = []
        for disk in domain.spec.disks:
            active = domain.active[disk.target]
            chain = tuple(
                ImageObservation(
                    path=relative(world.root, path),
                    format=world.image(path).format,
                    internal_tags=tuple(sorted(name for name, _ in world.image(path).tags)),
                )
                for path in world.chain(active)
            )
            disks.append(DiskObservation(disk.target, chain, world.read(active)))
        snapshots = tuple(
            snapshot_observation(snap, world.root)
            for snap in sorted(domain.snapshots.values(), key=lambda s: s.name)
        )
        domains.append(
            DomainObservation(
                name=name,
                state=domain.state.value,
                current=domain.current,
                snapshots=snapshots,
                disks=tuple(disks),
                memory=memory_view(domain.ram) if domain.state.active else None,
            )
        )
    memory_files = tuple(
        sorted(
            relative(world.root, path)
            for path, value in world.files.items()
            if isinstance(value, MemoryImage)
        )
    )
    return Observation(domains=tuple(domains), memory_files=memory_files)
