"""The shape of a guest disk as every layer of snaporacle sees it.

Guest data is addressed in blocks of :data:`BLOCK_SIZE` bytes; a disk has :data:`DISK_BLOCKS`.
A write fills one whole block with one byte pattern (1..255); a read gives the pattern of every
block (0 for a block never written).
"""

from __future__ import annotations

BLOCK_SIZE = 64 * 1024
DISK_BLOCKS = 16
DISK_SIZE = BLOCK_SIZE * DISK_BLOCKS
