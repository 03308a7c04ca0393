"""An in-memory qemu-img and qemu-io: images as values in a file table, with qemu-img's semantics.

The file table maps each absolute path under ``root`` to an :class:`Image` (format, backing,
own block data, internal snapshots) or a :class:`MemoryState` (written by the fake monitor's
migrate). Directories are a set; ``root`` exists from the start. Behaviour measured on
qemu-img 7.2 and matched here:

- ``create`` over an existing file overwrites it; a missing directory or backing file fails and
  leaves nothing; a raw image cannot have a backing file; ``-b`` needs ``-F``; an image cannot be
  its own backing file. A chain that loops is refused by every verb that walks it.
- Tags longer than 255 bytes or with a NUL byte are refused (qemu-img would cut them); so is a
  path with a NUL byte, as every backend does.
- Internal snapshots: duplicate tags are allowed (each gets a new id); ``-a`` finds the tag by id
  then by name, ``-d`` by name, the first match; both fail on a missing tag; ``-c``/``-a`` fail on
  raw images, ``-d`` fails there as "not found", ``-l`` lists nothing.
- ``commit`` writes the overlay's own data into its backing image and empties the overlay;
  ``rebase`` (unsafe, ``-u``) only names another backing image.
- ``read`` goes through the backing chain.
- Locks: an image that a running (not postmigrate) fake QEMU holds, as its active image or as a
  backing image, refuses every verb that writes it (create over it, snapshot -c/-a/-d, commit,
  write) with qemu's "Failed to get write lock"; ``read`` of an active image fails the same way
  (qemu-io takes a shared lock); ``info_chain`` and ``snapshot_list`` use ``-U`` and always work.
  ``remove`` works like unlink: a running fake QEMU keeps the image it holds.

Deliberate limits (a real tool would silently corrupt instead): a format that does not match the
file (``write -f raw`` on a qcow2 image, ``-F raw`` on a qcow2 backing) fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Protocol

import attrs

from ..errors import BackendError
from ..reference.backend import BLOCK_SIZE, DISK_SIZE, Call, ImageInfo, check_tag
from ..reference.sandbox import inside
from .faults import FaultPlan, Injector

FORMATS = ("qcow2", "raw")


@attrs.define
class Snapshot:
    """One internal snapshot: qcow2 id, tag, the image's own blocks, whether it holds VM state."""

    id: int
    tag: str
    blocks: dict[int, int]
    vmstate: bool = False
    ram: dict[int, int] = attrs.Factory(dict)


@attrs.define(eq=False)
class Image:
    """One image file: its format, backing file, own data and internal snapshots."""

    format: str
    size: int
    backing: str | None = None
    backing_format: str | None = None
    blocks: dict[int, int] = attrs.Factory(dict)
    snapshots: list[Snapshot] = attrs.Factory(list)

    def find(self, tag: str, by_id: bool) -> Snapshot | None:
        """The first snapshot whose id (when ``by_id``) or else whose tag is ``tag``."""
        if by_id:
            for snap in self.snapshots:
                if str(snap.id) == tag:
                    return snap
        return next((s for s in self.snapshots if s.tag == tag), None)

    def add_snapshot(self, tag: str, vmstate: bool, ram: dict[int, int] | None = None) -> None:
        """Save the current own data under ``tag`` with the next id (and the guest RAM with
        the VM state)."""
        next_id = max((s.id for s in self.snapshots), default=0) + 1
        self.snapshots.append(Snapshot(next_id, tag, dict(self.blocks), vmstate, dict(ram or {})))


@attrs.define(eq=False)
class MemoryState:
    """A memory state file: the devices the VM ran with and its guest RAM; ``complete`` false
    if cut short."""

    targets: tuple[str, ...]
    complete: bool = True
    ram: dict[int, int] = attrs.Factory(dict)


class Holder(Protocol):
    """A running fake QEMU as the image tool sees it: which images it locks."""

    def holds(self, image: Image) -> str | None:
        """``active``, ``backing`` or None."""
        ...


class FakeImageTool:
    """qemu-img and qemu-io over an in-memory file table under ``root``."""

    def __init__(self, root: str, faults: FaultPlan | None = None) -> None:
        self.root = os.path.normpath(root)
        self.calls: list[Call] = []
        self.table: dict[str, Image | MemoryState] = {}
        self.dirs: set[str] = {self.root}
        self.holders: list[Holder] = []
        self._faults = Injector(faults, "image")

    # -- helpers shared with the fake monitor -------------------------------------------------

    def path(self, verb: str, path: str) -> str:
        """The sandboxed, normalised path, or PathOutsideSandbox."""
        return inside(self.root, path, verb, resolve=False)

    def image(self, verb: str, path: str) -> Image:
        """The image at ``path``, or qemu-img's "Could not open" error."""
        entry = self.table.get(path)
        if entry is None:
            raise BackendError(f"{verb}: Could not open '{path}': No such file or directory")
        if isinstance(entry, MemoryState):
            return Image("raw", 0)
        return entry

    def layers(self, verb: str, path: str) -> list[tuple[str, Image]]:
        """The backing chain from ``path`` down, as (path, image) pairs.

        A chain that comes back to one of its own images is refused, naming the loop, as
        qemu-img refuses it ("Backing file ... creates an infinite loop"), instead of being walked
        for ever.
        """
        out = [(path, self.image(verb, path))]
        while out[-1][1].backing is not None:
            top = out[-1][1]
            seen = [p for p, _ in out]
            if top.backing in seen:
                loop = " -> ".join([*seen[seen.index(str(top.backing)):], str(top.backing)])
                raise BackendError(f"{verb}: the backing chain of {path} is a loop: {loop}")
            backing = self.image(verb, str(top.backing))
            if top.backing_format != backing.format:
                raise BackendError(
                    f"{verb}: backing file {top.backing} is not in {top.backing_format} format"
                )
            out.append((str(top.backing), backing))
        return out

    def lock_holder(self, image: Image) -> str | None:
        """How a running fake QEMU holds ``image`` (active wins over backing), or None."""
        held = None
        for holder in self.holders:
            kind = holder.holds(image)
            if kind == "active":
                return kind
            held = held or kind
        return held

    def _unlocked(self, verb: str, path: str, image: Image, kinds: tuple[str, ...]) -> None:
        if self.lock_holder(image) in kinds:
            raise BackendError(
                f"{verb}: Could not open '{path}': Failed to get \"write\" lock; "
                "is another process using the image? Stop the domain first"
            )

    def _writable(self, verb: str, path: str) -> Image:
        image = self.image(verb, path)
        self._unlocked(verb, path, image, ("active", "backing"))
        return image

    def _start(self, verb: str, *args: str) -> None:
        self.calls.append(Call(verb, args))

    def check_dir(self, verb: str, path: str) -> None:
        """Fail as creating a file at ``path`` would: missing directory, or a directory there."""
        if os.path.dirname(path) not in self.dirs:
            raise BackendError(f"{verb}: Could not create '{path}': No such file or directory")
        if path in self.dirs:
            raise BackendError(f"{verb}: Could not create '{path}': Is a directory")

    # -- the ImageTool protocol ---------------------------------------------------------------

    def create(
        self, path: str, fmt: str, size: int = DISK_SIZE, backing: str | None = None,
        backing_fmt: str | None = None,
    ) -> None:
        """``qemu-img create``: overwrites an existing file, as qemu-img does."""
        self._start("create", path, fmt, str(size), backing or "", backing_fmt or "")
        path = self.path("create", path)
        if backing is not None:
            backing = self.path("create", backing)
        when = self._faults.before("create", path)
        if fmt not in FORMATS:
            raise BackendError(f"create: Unknown file format '{fmt}'; use qcow2 or raw")
        if backing is not None and fmt == "raw":
            raise BackendError(f"create: {path}: Backing file not supported for file format 'raw'")
        if backing is not None and backing_fmt is None:
            raise BackendError(f"create: {path}: Backing file specified without backing format")
        if backing == path:
            raise BackendError(
                f"create: {path}: Error: Trying to create an image with the same filename as the "
                "backing file"
            )
        self.check_dir("create", path)
        if path in self.table:
            self._writable("create", path)
        if backing is not None:
            self.layers("create", backing)
            base = self.image("create", backing)
            if base.format != backing_fmt:
                raise BackendError(f"create: backing file {backing} is not in {backing_fmt} format")
        self.table[path] = Image(fmt, size, backing, backing_fmt if backing else None)
        self._faults.after(when, "create", path)

    def snapshot_create(self, path: str, tag: str) -> None:
        """``qemu-img snapshot -c``: a raw image cannot hold snapshots; duplicates are allowed."""
        self._start("snapshot_create", path, tag)
        check_tag("snapshot_create", tag)
        path = self.path("snapshot_create", path)
        when = self._faults.before("snapshot_create", path)
        image = self._writable("snapshot_create", path)
        if image.format != "qcow2":
            raise BackendError(
                f"snapshot_create: Could not create snapshot '{tag}' on {path}: "
                "Operation not supported (raw images hold no internal snapshots)"
            )
        image.add_snapshot(tag, vmstate=False)
        self._faults.after(when, "snapshot_create", path)

    def snapshot_apply(self, path: str, tag: str) -> None:
        """``qemu-img snapshot -a``: restores the image's own data as it was at ``tag``."""
        self._start("snapshot_apply", path, tag)
        check_tag("snapshot_apply", tag)
        path = self.path("snapshot_apply", path)
        when = self._faults.before("snapshot_apply", path)
        image = self._writable("snapshot_apply", path)
        if image.format != "qcow2":
            raise BackendError(
                f"snapshot_apply: Could not apply snapshot '{tag}' on {path}: "
                "Block driver does not support snapshots"
            )
        snap = image.find(tag, by_id=True)
        if snap is None:
            raise BackendError(
                f"snapshot_apply: Could not apply snapshot '{tag}' on {path}: no such snapshot"
            )
        image.blocks = dict(snap.blocks)
        self._faults.after(when, "snapshot_apply", path)

    def snapshot_delete(self, path: str, tag: str) -> None:
        """``qemu-img snapshot -d``: deletes the first snapshot named ``tag``."""
        self._start("snapshot_delete", path, tag)
        check_tag("snapshot_delete", tag)
        path = self.path("snapshot_delete", path)
        when = self._faults.before("snapshot_delete", path)
        image = self._writable("snapshot_delete", path)
        snap = image.find(tag, by_id=False)
        if snap is None:
            raise BackendError(
                f"snapshot_delete: Could not delete snapshot '{tag}' on {path}: snapshot not found"
            )
        image.snapshots.remove(snap)
        self._faults.after(when, "snapshot_delete", path)

    def snapshot_list(self, path: str) -> tuple[str, ...]:
        """``qemu-img snapshot -l -U``: the tags, sorted (a duplicate tag appears twice)."""
        self._start("snapshot_list", path)
        path = self.path("snapshot_list", path)
        when = self._faults.before("snapshot_list", path)
        tags = tuple(sorted(s.tag for s in self.image("snapshot_list", path).snapshots))
        self._faults.after(when, "snapshot_list", path)
        return tags

    def info_chain(self, path: str) -> tuple[ImageInfo, ...]:
        """``qemu-img info -U --backing-chain``: active image first."""
        self._start("info_chain", path)
        path = self.path("info_chain", path)
        when = self._faults.before("info_chain", path)
        infos = tuple(
            ImageInfo(p, image.format, image.backing, tuple(sorted(s.tag for s in image.snapshots)))
            for p, image in self.layers("info_chain", path)
        )
        self._faults.after(when, "info_chain", path)
        return infos

    def commit(self, path: str) -> None:
        """``qemu-img commit``: the overlay's data goes into its backing image; it is emptied."""
        self._start("commit", path)
        path = self.path("commit", path)
        when = self._faults.before("commit", path)
        overlay = self._writable("commit", path)
        if overlay.backing is None:
            raise BackendError(f"commit: {path}: Image does not have a backing file")
        layers = self.layers("commit", path)
        self._unlocked("commit", layers[1][0], layers[1][1], ("active", "backing"))
        layers[1][1].blocks.update(overlay.blocks)
        if when is None:
            overlay.blocks.clear()
        self._faults.after(when, "commit", path)

    def rebase(self, path: str, backing: str) -> None:
        """``qemu-img rebase -u -b backing -F fmt path``: only the header changes."""
        self._start("rebase", path, backing)
        path = self.path("rebase", path)
        backing = self.path("rebase", backing)
        when = self._faults.before("rebase", path)
        image = self._writable("rebase", path)
        base = self.image("rebase", backing)
        if image.format != "qcow2":
            raise BackendError(f"rebase: {path}: a {image.format} image has no backing file")
        if backing == path:
            raise BackendError(f"rebase: {path}: an image cannot be its own backing file")
        image.backing, image.backing_format = backing, base.format
        self._faults.after(when, "rebase", path)

    def _block(self, verb: str, path: str, fmt: str, block: int | None = None) -> Image:
        image = self.image(verb, path)
        if fmt != image.format:
            raise BackendError(f"{verb}: '{path}' is not in {fmt} format (it is {image.format})")
        if block is not None and not 0 <= block < image.size // BLOCK_SIZE:
            raise BackendError(f"{verb}: block {block} is outside the image {path}")
        return image

    def write(self, path: str, fmt: str, block: int, pattern: int) -> None:
        """``qemu-io -c 'write -P pattern'`` of one block."""
        self._start("write", path, fmt, str(block), str(pattern))
        path = self.path("write", path)
        when = self._faults.before("write", path)
        if not 1 <= pattern <= 255:
            raise BackendError(f"write: pattern {pattern} is not in 1..255")
        image = self._block("write", path, fmt, block)
        self._unlocked("write", path, image, ("active", "backing"))
        image.blocks[block] = pattern
        self._faults.after(when, "write", path)

    def read(self, path: str, fmt: str) -> tuple[int, ...]:
        """The pattern of every block of ``path`` through its backing chain."""
        self._start("read", path, fmt)
        path = self.path("read", path)
        when = self._faults.before("read", path)
        image = self._block("read", path, fmt)
        self._unlocked("read", path, image, ("active",))
        data = read_layers(image.size, self.layers("read", path))
        self._faults.after(when, "read", path)
        return data

    def exists(self, path: str) -> bool:
        """Whether a file or directory exists at ``path``."""
        self._start("exists", path)
        path = self.path("exists", path)
        when = self._faults.before("exists", path)
        self._faults.after(when, "exists", path)
        return path in self.table or path in self.dirs

    def remove(self, path: str) -> None:
        """Unlink a file; a fake QEMU that holds it keeps its open image."""
        self._start("remove", path)
        path = self.path("remove", path)
        when = self._faults.before("remove", path)
        if path not in self.table:
            raise BackendError(f"remove: cannot remove '{path}': No such file")
        del self.table[path]
        self._faults.after(when, "remove", path)

    def makedirs(self, path: str) -> None:
        """Create a directory and its missing parents (like ``mkdir -p``)."""
        self._start("makedirs", path)
        path = self.path("makedirs", path)
        when = self._faults.before("makedirs", path)
        if path in self.table:
            raise BackendError(f"makedirs: '{path}' exists and is a file")
        for parent in _parents(path, self.root):
            if parent in self.table:
                raise BackendError(f"makedirs: '{parent}' exists and is a file")
            self.dirs.add(parent)
        self._faults.after(when, "makedirs", path)

    def files(self) -> tuple[str, ...]:
        """Every file under ``root``, sorted."""
        self._start("files")
        when = self._faults.before("files", self.root)
        self._faults.after(when, "files", self.root)
        return tuple(sorted(self.table))


def _parents(path: str, root: str) -> Iterator[str]:
    """``path`` and each of its ancestors strictly below ``root``."""
    while path != root:
        yield path
        path = os.path.dirname(path)


def read_layers(size: int, layers: list[tuple[str, Image]]) -> tuple[int, ...]:
    """The guest view of a chain of layers (active first): the first layer holding each block."""
    data = [0] * (size // BLOCK_SIZE)
    for _, img in reversed(layers):  # the base first, each layer above it over it
        for block, pattern in img.blocks.items():
            if block < len(data):
                data[block] = pattern
    return tuple(data)
