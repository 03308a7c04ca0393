"""A minimal qemu-img / qemu-io helper for the libvirt adapter (private).

Only what the adapter needs: create an image, read a chain with its internal tags, read and
write guest blocks. Every command opens images with ``-U`` (force share) when reading, because a
running QEMU that libvirt started may hold them. The block layout is
:mod:`snaporacle.backend`'s: ``DISK_BLOCKS`` blocks of ``BLOCK_SIZE`` bytes, a block's pattern being
its first byte.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence

from ...backend import BLOCK_SIZE, DISK_BLOCKS, DISK_SIZE, ImageInfo
from ...errors import BackendError

_DUMP = re.compile(r"^([0-9a-f]{8}):\s+([0-9a-f]{2})\s")


def _run(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    except OSError as err:
        raise BackendError(f"{argv[0]} cannot run: {err} (apt-get install qemu-utils)") from err
    # qemu-io reports a failed command on stdout and still exits 0, so look at both.
    failed = done.returncode != 0 or "failed" in done.stdout.lower()
    if failed:
        detail = (done.stderr or done.stdout).strip()
        raise BackendError(f"{' '.join(argv)} failed: {detail}")
    return done.stdout


def create(path: str, fmt: str, size: int = DISK_SIZE) -> None:
    """``qemu-img create -f fmt path size``."""
    _run(["qemu-img", "create", "-q", "-f", fmt, path, str(size)])


def info_chain(path: str) -> tuple[ImageInfo, ...]:
    """``qemu-img info -U --backing-chain``: each image, active first, with its internal tags."""
    out = _run(["qemu-img", "info", "-U", "--backing-chain", "--output=json", path])
    images = json.loads(out)
    return tuple(
        ImageInfo(
            path=image["filename"],
            format=image["format"],
            backing=image.get("full-backing-filename"),
            tags=tuple(sorted(snap["name"] for snap in image.get("snapshots", ()))),
        )
        for image in images
    )


def read_blocks(path: str, fmt: str) -> tuple[int, ...]:
    """The first byte of every block as the guest sees it through the chain of ``path``."""
    argv = ["qemu-io", "-r", "-U", "-f", fmt]
    for block in range(DISK_BLOCKS):
        argv += ["-c", f"read -v {block * BLOCK_SIZE} 1"]
    matches = (_DUMP.match(line) for line in _run([*argv, path]).splitlines())
    values = {int(m.group(1), 16): int(m.group(2), 16) for m in matches if m}
    return tuple(values.get(block * BLOCK_SIZE, 0) for block in range(DISK_BLOCKS))


def write_block(path: str, fmt: str, block: int, pattern: int) -> None:
    """Fill one block of the image at ``path`` with ``pattern`` (the image must be offline)."""
    command = f"write -P {pattern} {block * BLOCK_SIZE} {BLOCK_SIZE}"
    _run(["qemu-io", "-f", fmt, "-c", command, path])
