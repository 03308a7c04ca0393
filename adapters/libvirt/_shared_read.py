"""Reading guest data from images a running QEMU holds (private to the libvirt adapter).

:class:`~snaporacle.adapters.qemu.QemuImageTool` does everything else; its ``read`` takes qemu's
image locks, which a QEMU that libvirt started holds. QEMU 7.2's HMP ``qemu-io`` prints on
QEMU's stdout (the domain log), not on the monitor, so a running disk is read here from its
files with ``qemu-io -U`` after the adapter has made QEMU flush its cached qcow2 metadata.
"""

from __future__ import annotations

from ...reference.backend import BLOCK_SIZE, DISK_BLOCKS
from ..qemu.images import parse_dump
from ..qemu.process import binary, run


def read_shared(path: str, fmt: str) -> tuple[int, ...]:
    """The first byte of each block through the chain of ``path``, without taking locks."""
    argv = [binary("qemu-io"), "-r", "-U", "-f", fmt]
    for block in range(DISK_BLOCKS):
        argv += ["-c", f"read -v {block * BLOCK_SIZE} 1"]
    return parse_dump("read", run("read", [*argv, path]), DISK_BLOCKS)
