"""Guest memory (RAM) of running and paused domains, as the model and every driver see it.

RAM is addressed like disk data: :data:`MEMORY_BLOCKS` blocks of :data:`MEMORY_BLOCK_SIZE` bytes
from guest-physical address :data:`MEMORY_BASE` (16 MiB, above what the firmware of a 64 MiB
guest touches). ``write_memory`` fills one whole block with one byte ``pattern`` (1..255).

- A cold start gives zeroed RAM; destroy (and HALT) loses it; pause and resume keep it.
- A snapshot whose memory is ``internal`` (savevm) or ``external`` (migrate to a file) captures
  the RAM: in the vmstate tags, or in the memory file. A revert to it restores that RAM, whether
  the domain comes back running or paused; a revert to a snapshot without memory that leaves the
  domain active cold-boots it.

A driver observes RAM by reading only the blocks written so far plus one *canary* block
(:func:`blocks_to_read`), and reports the others as zero (:func:`memory_view`): the canary checks
that premise at every step. A block whose bytes are not all one value reads as :data:`MIXED`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from .modes import DiskMode, MemoryMode

if TYPE_CHECKING:
    from .world import Snapshot, World

MEMORY_MIB = 64
MEMORY_BASE = 16 * 1024 * 1024
MEMORY_BLOCK_SIZE = 4096
MEMORY_BLOCKS = 16
#: What a block reads as when its bytes are not all one value (a torn or partial restore).
MIXED = -1

Ram = Mapping[int, int]


def memory_address(block: int) -> int:
    """The guest-physical address (and RAM file offset) where ``block`` starts."""
    return MEMORY_BASE + block * MEMORY_BLOCK_SIZE


def write_problem(block: int, pattern: int) -> str | None:
    """Why a RAM write of ``pattern`` to ``block`` is out of range, or ``None``."""
    if not 0 <= block < MEMORY_BLOCKS or not 1 <= pattern <= 255:
        return (
            f"memory block {block} (of {MEMORY_BLOCKS}) or pattern {pattern} out of range; "
            f"give a block 0..{MEMORY_BLOCKS - 1} and a pattern 1..255"
        )
    return None


def block_pattern(data: bytes) -> int:
    """The pattern a block of RAM reads as: its byte if all bytes are one value, else MIXED."""
    if not data:
        return 0
    first = data[0]
    return first if data.count(first) == len(data) else MIXED


def memory_view(ram: Ram) -> tuple[int, ...]:
    """The pattern of every RAM block (0 = never written since a cold start)."""
    return tuple(ram.get(block, 0) for block in range(MEMORY_BLOCKS))


def blocks_to_read(written: Iterable[int]) -> tuple[int, ...]:
    """The blocks a driver reads: every one written so far, plus the first unwritten one."""
    blocks = {b for b in written if 0 <= b < MEMORY_BLOCKS}
    canary = next((b for b in range(MEMORY_BLOCKS) if b not in blocks), None)
    if canary is not None:
        blocks.add(canary)
    return tuple(sorted(blocks))


def restored_ram(world: World, snapshot: Snapshot, images: Mapping[str, str]) -> Ram:
    """The RAM a revert to ``snapshot`` brings back (``world`` as before the revert, ``images``
    each disk's image after it): the vmstate tag's (internal memory, on the first internal
    disk, where ``savevm`` keeps it), the memory file's (external), or zeroed (no memory: the
    domain cold-boots)."""
    from .world import Image, MemoryImage  # world imports this module: import at call time

    if snapshot.memory is MemoryMode.EXTERNAL and snapshot.memory_file is not None:
        saved = world.files.get(snapshot.memory_file)
        return dict(saved.ram) if isinstance(saved, MemoryImage) else {}
    if snapshot.memory is MemoryMode.INTERNAL:
        for disk in snapshot.disks:
            image = world.files.get(images.get(disk.target, ""))
            if disk.mode is DiskMode.INTERNAL and isinstance(image, Image):
                tag = image.tag(snapshot.name)
                return dict(tag.ram) if tag is not None else {}
    return {}
