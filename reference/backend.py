"""The backend interfaces: an image tool (qemu-img + qemu-io) and a monitor (QMP) per running domain.

The fakes (:mod:`snaporacle.fakes`) and the real QEMU backends (:mod:`snaporacle.adapters.qemu`)
implement these protocols; the reference driver (:mod:`snaporacle.reference.driver`) composes them.

Conventions shared by every implementation:

- Every path is absolute and lies under the backend's ``root`` work directory; anything else
  raises :class:`~snaporacle.errors.PathOutsideSandbox` before anything runs.
- Guest data is addressed in blocks of :data:`BLOCK_SIZE` bytes; a disk has :data:`DISK_BLOCKS`.
  A write fills one whole block with one byte ``pattern`` (1..255); a read returns the pattern of
  every block (0 for a block never written, the first byte of the block otherwise).
- Every call is recorded in ``calls`` as a :class:`Call` (verb and arguments), so the mechanism a
  table cell promises can be checked from the log.
- A failure raises :class:`~snaporacle.errors.BackendError` (or :class:`InjectedFault` for a
  planned fault) with a message that names the verb and the path.
- An internal snapshot tag has at most :data:`MAX_TAG_BYTES` bytes in UTF-8 and no NUL byte;
  anything else is refused before anything runs (:func:`check_tag`): qcow2 keeps 255 bytes and
  qemu-img would cut a longer tag silently, even inside a character, so it could never be found
  again by its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import attrs

from ..errors import BackendError
from ..model.geometry import BLOCK_SIZE, DISK_BLOCKS, DISK_SIZE

__all__ = [
    "BLOCK_SIZE",
    "DISK_BLOCKS",
    "DISK_SIZE",
    "MAX_TAG_BYTES",
    "Call",
    "DiskAttachment",
    "ImageInfo",
    "ImageTool",
    "Launcher",
    "Monitor",
    "SnapshotAction",
    "check_tag",
]

MAX_TAG_BYTES = 255


def check_tag(verb: str, tag: str) -> None:
    """Refuse an internal snapshot tag that qcow2 cannot keep whole (see the module docstring)."""
    if "\0" in tag:
        raise BackendError(f"{verb}: snapshot tag {tag!r} contains a NUL byte")
    size = len(tag.encode("utf-8", "surrogatepass"))
    if size > MAX_TAG_BYTES:
        raise BackendError(
            f"{verb}: snapshot tag {tag[:20]!r}... is {size} bytes long; qcow2 keeps at most "
            f"{MAX_TAG_BYTES}: use a shorter snapshot name"
        )


@attrs.frozen
class Call:
    """One recorded backend call: the verb (``savevm``, ``create``...) and its arguments."""

    verb: str
    args: tuple[str, ...] = ()


@attrs.frozen
class ImageInfo:
    """One image of a chain as ``qemu-img info --backing-chain`` reports it."""

    path: str
    format: str
    backing: str | None
    tags: tuple[str, ...]


@attrs.frozen
class DiskAttachment:
    """A disk given to a QEMU process: its device name (the target) and active image."""

    target: str
    path: str
    format: str


@attrs.frozen
class SnapshotAction:
    """One ``blockdev-snapshot-sync`` action of a transaction."""

    target: str
    overlay: str
    format: str = "qcow2"


@runtime_checkable
class ImageTool(Protocol):
    """qemu-img and qemu-io on images that no running QEMU holds."""

    root: str
    calls: list[Call]

    def create(
        self, path: str, fmt: str, size: int = DISK_SIZE, backing: str | None = None,
        backing_fmt: str | None = None,
    ) -> None:
        """``qemu-img create [-b backing -F backing_fmt] -f fmt path size``."""

    def snapshot_create(self, path: str, tag: str) -> None:
        """``qemu-img snapshot -c tag path``."""

    def snapshot_apply(self, path: str, tag: str) -> None:
        """``qemu-img snapshot -a tag path``."""

    def snapshot_delete(self, path: str, tag: str) -> None:
        """``qemu-img snapshot -d tag path``."""

    def snapshot_list(self, path: str) -> tuple[str, ...]:
        """``qemu-img snapshot -l path``: the tags, sorted."""
        ...

    def info_chain(self, path: str) -> tuple[ImageInfo, ...]:
        """``qemu-img info --backing-chain``: active image first."""
        ...

    def commit(self, path: str) -> None:
        """``qemu-img commit path``: write the overlay's data into its backing image."""

    def rebase(self, path: str, backing: str) -> None:
        """``qemu-img rebase -u -b backing path``: name another backing image in the header,
        leaving the data as it is (the caller made ``backing`` hold what the old one did)."""

    def write(self, path: str, fmt: str, block: int, pattern: int) -> None:
        """``qemu-io -c 'write -P pattern ...'`` on one block."""

    def read(self, path: str, fmt: str) -> tuple[int, ...]:
        """The pattern of every block as the guest sees it through the chain."""
        ...

    def exists(self, path: str) -> bool:
        """Whether a file exists at ``path``."""
        ...

    def remove(self, path: str) -> None:
        """Delete a file (image or memory state)."""

    def makedirs(self, path: str) -> None:
        """Create a directory and its missing parents under ``root`` (``mkdir -p``)."""

    def files(self) -> tuple[str, ...]:
        """Every file under ``root``, sorted."""
        ...


@runtime_checkable
class Monitor(Protocol):
    """The QMP monitor of one running QEMU process."""

    calls: list[Call]

    def status(self) -> str:
        """``query-status``: running, paused, postmigrate, restore-vm..."""
        ...

    def stop(self) -> None:
        """``stop``: pause the vCPUs."""

    def cont(self) -> None:
        """``cont``: resume the vCPUs."""

    def savevm(self, tag: str) -> None:
        """HMP ``savevm tag``: VM state and every disk, inside the qcow2 images."""

    def loadvm(self, tag: str) -> None:
        """HMP ``loadvm tag``."""

    def snapshot_save(self, tag: str) -> None:
        """QMP ``snapshot-save`` job: as ``savevm``, but it fails when a disk already holds a
        snapshot called ``tag`` (``savevm`` replaces it)."""

    def delvm(self, tag: str) -> None:
        """HMP ``delvm tag``."""

    def migrate_to_file(self, path: str) -> None:
        """``migrate exec:cat>path``, waiting for completion; the VM ends in postmigrate."""

    def transaction(self, actions: Sequence[SnapshotAction]) -> None:
        """``transaction`` of ``blockdev-snapshot-sync``: all overlays or none."""

    def chain(self, target: str) -> tuple[str, ...]:
        """The device's image chain, active image first (``query-block``)."""
        ...

    def commit(self, target: str, top: str | None = None) -> None:
        """``block-commit`` of one overlay of the disk into its backing image; the overlay file
        stays (the caller removes it). With ``top`` ``None``, an active commit of the disk's
        active image, after which the disk pivots onto the backing image; else an intermediate
        commit of the image ``top`` of the chain, after which the image above it names the
        backing image."""

    def write(self, target: str, block: int, pattern: int) -> None:
        """HMP ``qemu-io`` write of one block on the running disk."""

    def read(self, target: str) -> tuple[int, ...]:
        """The pattern of every block on the running disk."""
        ...

    def write_memory(self, block: int, pattern: int) -> None:
        """Fill one guest RAM block (:mod:`snaporacle.model.memory`) with ``pattern``."""

    def read_memory(self, blocks: Sequence[int]) -> dict[int, int]:
        """The pattern of each of ``blocks`` of guest RAM (``MIXED`` for a block not all one
        byte)."""
        ...

    def quit(self) -> None:
        """End the QEMU process."""


@runtime_checkable
class Launcher(Protocol):
    """Starts QEMU processes: fresh, or restoring a memory image with ``-incoming``."""

    root: str
    calls: list[Call]

    def launch(
        self, name: str, disks: Sequence[DiskAttachment], paused: bool = False,
        incoming: str | None = None,
    ) -> Monitor:
        """Start QEMU for a domain; ``incoming`` restores the state saved in that file."""
        ...

    def close(self) -> None:
        """Quit every QEMU this launcher started (on success, failure or teardown)."""
