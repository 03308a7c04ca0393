"""Reading guest data from images a running QEMU holds (private to the libvirt adapter).

:class:`~snaporacle.adapters.qemu.QemuImageTool` does everything else; its ``read`` takes qemu's
image locks, which a QEMU that libvirt started holds. QEMU 7.2's HMP ``qemu-io`` prints on
QEMU's stdout (the domain log), not on the monitor, so a running disk is read here from its
files with ``qemu-io -U`` after the adapter has made QEMU flush its cached qcow2 metadata.

:class:`SharedReader` keeps each answer while no file of the chain has changed (same inode,
size, modification and change times). A file's times are taken only when they are older than
:data:`SETTLED` seconds: a file written within the same tick of the kernel's clock as the
last look would keep its times, so an answer read from files that changed just before is not
kept (as git treats its "racily clean" index entries).
"""

from __future__ import annotations

from collections.abc import Iterable

from ...reference.backend import BLOCK_SIZE, DISK_BLOCKS
from ..qemu.images import file_stamp, parse_dump
from ..qemu.process import binary, run

#: Seconds since its last change after which a file's times are trusted to move on a change.
SETTLED = 0.05

Stamp = tuple[tuple[int, ...], ...]


def read_shared(path: str, fmt: str) -> tuple[int, ...]:
    """The first byte of each block through the chain of ``path``, without taking locks."""
    argv = [binary("qemu-io"), "-r", "-U", "-f", fmt]
    for block in range(DISK_BLOCKS):
        argv += ["-c", f"read -v {block * BLOCK_SIZE} 1"]
    return parse_dump("read", run("read", [*argv, path]), DISK_BLOCKS)


def settled_stamp(paths: Iterable[str]) -> Stamp | None:
    """Inode, size and times of each file, or ``None`` if one is missing or changed less than
    :data:`SETTLED` seconds ago."""
    return file_stamp(paths, SETTLED)


class SharedReader:
    """:func:`read_shared` with answers kept while the chain's files stay as they were."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], tuple[Stamp, tuple[int, ...]]] = {}

    def read(self, path: str, fmt: str, chain: Iterable[str]) -> tuple[int, ...]:
        """The data of ``path`` (``chain``: every file of its backing chain, itself first)."""
        stamp = settled_stamp(chain)
        kept = self._kept.get((path, fmt))
        if stamp is not None and kept is not None and kept[0] == stamp:
            return kept[1]
        data = read_shared(path, fmt)
        if stamp is not None:
            self._kept[(path, fmt)] = (stamp, data)
        return data
