"""Guest RAM of libvirt QEMU domains: written through the RAM file, read back through libvirt.

A domain gets ``<memoryBacking><source type='file'/><access mode='shared'/></memoryBacking>``, so
QEMU maps its RAM from a shared file that libvirt creates under ``memory_backing_dir`` (set in the
embed root's ``qemu.conf`` to ``ROOT/ram``; ``/var/lib/libvirt/qemu/ram`` for ``qemu:///system``):
``DIR/libvirt/qemu/<id>-<name>/pc.ram`` on libvirt 9.0. A host write into that file is what the
guest sees. Blocks (:mod:`snaporacle.model.memory`) are read with ``virDomainMemoryPeek(...,
VIR_MEMORY_PHYSICAL)``, as a user of libvirt would.

QEMU is restarted by many life-cycle steps (a revert starts a new process with a new domain id),
so the file is looked up again on every access.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ...errors import BackendError
from ...model.memory import MEMORY_BLOCK_SIZE, block_pattern, memory_address, memory_view

MEMORY_BACKING = (
    "  <memoryBacking><source type='file'/><access mode='shared'/></memoryBacking>\n"
)
SYSTEM_RAM_DIR = Path("/var/lib/libvirt/qemu/ram")


def embed_ram_dir(root: Path) -> Path:
    """The ``memory_backing_dir`` snaporacle gives an embed root."""
    return root / "ram"


def add_memory_backing_dir(root: Path) -> None:
    """Set ``memory_backing_dir`` in ``root/etc/qemu.conf`` unless the file already sets it."""
    conf = root / "etc" / "qemu.conf"
    text = conf.read_text(encoding="utf-8") if conf.exists() else ""
    if "memory_backing_dir" not in text:
        embed_ram_dir(root).mkdir(parents=True, exist_ok=True)
        line = f'memory_backing_dir = "{embed_ram_dir(root)}"\n'
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(text + ("" if not text or text.endswith("\n") else "\n") + line,
                        encoding="utf-8")


def ram_dir_for(uri: str, embed: Path | None) -> Path | None:
    """Where the RAM files of ``uri``'s domains can be reached from here, or ``None``."""
    if embed is not None:
        return embed_ram_dir(embed)
    if uri.split("?", 1)[0] == "qemu:///system" and os.access(SYSTEM_RAM_DIR, os.W_OK):
        return SYSTEM_RAM_DIR
    return None


def with_memory_backing(domain_xml: str) -> str:
    """A ``<domain>`` whose RAM is a shared file."""
    marker = "  <vcpu>"
    if marker not in domain_xml:
        raise BackendError("domain XML has no <vcpu> to put <memoryBacking> before")
    return domain_xml.replace(marker, MEMORY_BACKING + marker, 1)


def ram_file(ram_dir: Path, dom: Any) -> Path:
    """The RAM file of the running domain ``dom`` (found again each time: QEMU moves it)."""
    prefix = f"{dom.ID()}-"
    name = dom.name()
    for path in sorted(ram_dir.rglob("pc.ram")):
        folder = path.parent.name
        if folder.startswith(prefix) and name.startswith(folder[len(prefix):]):
            return path
    raise BackendError(
        f"no RAM file of domain {name} (id {dom.ID()}) under {ram_dir}; is <memoryBacking> "
        "with a file source in its XML?"
    )


def write_block(ram_dir: Path, dom: Any, block: int, pattern: int) -> None:
    """Fill one guest RAM block through the domain's RAM file."""
    fd = os.open(ram_file(ram_dir, dom), os.O_RDWR)
    try:
        os.pwrite(fd, bytes([pattern]) * MEMORY_BLOCK_SIZE, memory_address(block))
    finally:
        os.close(fd)


def read_blocks(dom: Any, blocks: Iterable[int], physical: int) -> tuple[int, ...]:
    """The guest RAM as :func:`~snaporacle.model.memory.memory_view` reports it, reading only
    ``blocks`` with one ``virDomainMemoryPeek(..., VIR_MEMORY_PHYSICAL)`` over their span (at
    most the 16 blocks, 64 KiB: the most a remote libvirt gives at once; each peek is a QEMU
    ``pmemsave`` to a file, so one for all costs about what one for a block does)."""
    wanted = sorted(set(blocks))
    if not wanted:
        return memory_view({})
    first, last = wanted[0], wanted[-1]
    size = (last - first + 1) * MEMORY_BLOCK_SIZE
    data = dom.memoryPeek(memory_address(first), size, physical)
    span = data.encode("latin-1") if isinstance(data, str) else data
    found = {}
    for block in wanted:
        start = (block - first) * MEMORY_BLOCK_SIZE
        found[block] = block_pattern(span[start:start + MEMORY_BLOCK_SIZE])
    return memory_view(found)

