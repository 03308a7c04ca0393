"""The real image tool: ``qemu-img`` for images and ``qemu-io`` for guest data on offline images.

Read-only queries (``info_chain``, ``snapshot_list``) use ``-U`` so they work on images a running
QEMU holds; everything else takes qemu's locks and fails on a held image, as qemu-img does.
``read`` takes the size from the images it created (else from ``qemu-img info``), then runs one
``qemu-io -r`` with a ``read -v OFF 1`` command per block and parses the dump. A backing chain
that loops is refused (by ``qemu-img info --backing-chain``) before ``qemu-io`` could hang on it;
any other hang ends in a StepTimeout.
QEMU's own run files live in ``root/.qemu``, which ``files`` leaves out.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable

from ...errors import BackendError
from ...reference.backend import BLOCK_SIZE, DISK_SIZE, Call, ImageInfo, check_tag
from ...reference.sandbox import inside
from .process import binary, run

RUN_DIR = ".qemu"

_DUMP = re.compile(r"^([0-9a-f]{8}):\s+([0-9a-f]{2})\s", re.MULTILINE)


def parse_dump(verb: str, text: str, blocks: int) -> tuple[int, ...]:
    """The first byte of each block from ``read -v OFF 1`` dumps (one per block, in any order)."""
    found = {int(off, 16) // BLOCK_SIZE: int(byte, 16) for off, byte in _DUMP.findall(text)}
    if sorted(found) != list(range(blocks)):
        raise BackendError(f"{verb}: qemu-io did not dump every block: {text.strip()[:300]!r}")
    return tuple(found[block] for block in range(blocks))


#: Bytes of an image's start (a qcow2 header cluster with its extensions and backing file name)
#: and of its snapshot table that :func:`_metadata_key` compares.
HEADER_BYTES = 64 * 1024
SNAPSHOT_TABLE_BYTES = 64 * 1024
_QCOW2_MAGIC = b"QFI\xfb"


def _metadata_key(paths: Iterable[str]) -> tuple[tuple[object, ...], ...] | None:
    """What ``qemu-img info`` reads of each file, or ``None`` if one is missing: the inode, the
    first :data:`HEADER_BYTES` (format magic, backing file, snapshot count and offset) and, for
    qcow2, the snapshot table (QEMU writes a changed table to newly allocated clusters and then
    the header, so a new table always shows). A guest write changes neither, unlike the file's
    times, so the answer of ``info_chain`` outlives the writes."""
    out = []
    for path in paths:
        try:
            with open(path, "rb") as image:
                head = image.read(HEADER_BYTES)
                key: tuple[object, ...] = (os.fstat(image.fileno()).st_ino, head)
                if head[:4] == _QCOW2_MAGIC and len(head) >= 72:
                    count = int.from_bytes(head[60:64], "big")
                    image.seek(int.from_bytes(head[64:72], "big"))
                    key += (image.read(SNAPSHOT_TABLE_BYTES) if count else b"",)
        except OSError:
            return None
        out.append(key)
    return tuple(out)


def file_stamp(
    paths: Iterable[str], settled: float = 0.0
) -> tuple[tuple[int, ...], ...] | None:
    """Inode, size, modification and change times of each file, or ``None`` if one is missing
    or changed less than ``settled`` seconds ago."""
    now = time.time_ns()
    out = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            return None
        if settled and now - max(st.st_mtime_ns, st.st_ctime_ns) < settled * 1e9:
            return None
        out.append((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(out)


class QemuImageTool:
    """``qemu-img`` and ``qemu-io`` on files under ``root``."""

    def __init__(self, root: str) -> None:
        self.root = os.path.normpath(root)
        self.calls: list[Call] = []
        self._img = binary("qemu-img")
        self._io = binary("qemu-io")
        # sizes of the images this tool created, so that read() needs no qemu-img info for them
        self._sizes: dict[str, int] = {}
        # info_chain answers by active image, with the metadata keys of the chain's files they
        # held for
        self._chains: dict[str, tuple[tuple[tuple[object, ...], ...], tuple[ImageInfo, ...]]] = {}
        self._reads: dict[str, tuple[tuple[object, str], tuple[int, ...]]] = {}

    def _start(self, verb: str, *args: str) -> None:
        self.calls.append(Call(verb, args))

    def _path(self, verb: str, path: str) -> str:
        return inside(self.root, path, verb)

    def create(
        self, path: str, fmt: str, size: int = DISK_SIZE, backing: str | None = None,
        backing_fmt: str | None = None,
    ) -> None:
        """``qemu-img create [-b backing -F backing_fmt] -f fmt path size``."""
        self._start("create", path, fmt, str(size), backing or "", backing_fmt or "")
        path = self._path("create", path)
        argv = [self._img, "create", "-q", "-f", fmt]
        if backing is not None:
            argv += ["-b", self._path("create", backing)]
            if backing_fmt is not None:
                argv += ["-F", backing_fmt]
        self._sizes.pop(path, None)
        run("create", [*argv, path, str(size)])
        self._sizes[path] = size

    def snapshot_create(self, path: str, tag: str) -> None:
        """``qemu-img snapshot -c tag path``."""
        self._start("snapshot_create", path, tag)
        check_tag("snapshot_create", tag)
        run("snapshot_create", [self._img, "snapshot", "-c", tag,
                                self._path("snapshot_create", path)])

    def snapshot_apply(self, path: str, tag: str) -> None:
        """``qemu-img snapshot -a tag path``."""
        self._start("snapshot_apply", path, tag)
        check_tag("snapshot_apply", tag)
        run("snapshot_apply", [self._img, "snapshot", "-a", tag,
                               self._path("snapshot_apply", path)])

    def snapshot_delete(self, path: str, tag: str) -> None:
        """``qemu-img snapshot -d tag path``."""
        self._start("snapshot_delete", path, tag)
        check_tag("snapshot_delete", tag)
        run("snapshot_delete", [self._img, "snapshot", "-d", tag,
                                self._path("snapshot_delete", path)])

    def _info(self, verb: str, path: str, chain: bool) -> list[dict[str, object]]:
        argv = [self._img, "info", "-U", "--output=json"]
        out = run(verb, [*argv, *(["--backing-chain"] if chain else []), path])
        data = json.loads(out)
        return data if isinstance(data, list) else [data]

    def snapshot_list(self, path: str) -> tuple[str, ...]:
        """The internal snapshot tags of one image, sorted (``qemu-img info -U``)."""
        self._start("snapshot_list", path)
        info = self._info("snapshot_list", self._path("snapshot_list", path), chain=False)[0]
        return _tags(info)

    def info_chain(self, path: str) -> tuple[ImageInfo, ...]:
        """``qemu-img info -U --backing-chain``: active image first.

        The answer is kept and given again while no file of the chain has changed what
        ``qemu-img info`` reads of it (:func:`_metadata_key`: same inode, header and snapshot
        table; guest writes do not count), which saves most of the ``qemu-img`` runs of an
        observation.
        """
        self._start("info_chain", path)
        path = self._path("info_chain", path)
        kept = self._current_chain(path)
        if kept is not None:
            return kept
        infos = tuple(
            ImageInfo(
                str(info["filename"]), str(info["format"]),
                _optional(info.get("full-backing-filename", info.get("backing-filename"))),
                _tags(info),
            )
            for info in self._info("info_chain", path, chain=True)
        )
        key = _metadata_key(i.path for i in infos)
        if key is not None:
            self._chains[path] = (key, infos)
        return infos

    def _current_chain(self, path: str) -> tuple[ImageInfo, ...] | None:
        """The kept answer of ``info_chain`` for ``path`` while it still holds, else ``None``."""
        kept = self._chains.get(path)
        if kept is not None and kept[0] == _metadata_key(i.path for i in kept[1]):
            return kept[1]
        return None

    def commit(self, path: str) -> None:
        """``qemu-img commit path``: the overlay's data into its backing image."""
        self._start("commit", path)
        run("commit", [self._img, "commit", "-q", self._path("commit", path)])

    def rebase(self, path: str, backing: str) -> None:
        """``qemu-img rebase -u -b backing -F fmt path``: only the header changes."""
        self._start("rebase", path, backing)
        path, backing = self._path("rebase", path), self._path("rebase", backing)
        backing_format = str(self._info("rebase", backing, chain=False)[0]["format"])
        run("rebase", [self._img, "rebase", "-u", "-b", backing, "-F", backing_format, path])

    def write(self, path: str, fmt: str, block: int, pattern: int) -> None:
        """``qemu-io -c 'write -P pattern OFF BLOCK_SIZE'`` on an offline image."""
        self._start("write", path, fmt, str(block), str(pattern))
        path = self._path("write", path)
        if not 1 <= pattern <= 255:
            raise BackendError(f"write: pattern {pattern} is not in 1..255")
        command = f"write -P {pattern} {block * BLOCK_SIZE} {BLOCK_SIZE}"
        out = run("write", [self._io, "-f", fmt, "-c", command, path])
        if not out.startswith("wrote "):
            raise BackendError(f"write: {path}: {out.strip()}")

    def read(self, path: str, fmt: str) -> tuple[int, ...]:
        """The first byte of every block through the chain: one ``qemu-io -r``, one read each.

        Kept, like :meth:`info_chain`, while no file of the chain it last saw has changed.
        """
        self._start("read", path, fmt)
        path = self._path("read", path)
        chain = self._current_chain(path)
        stamp = file_stamp(i.path for i in chain) if chain is not None else None
        kept = self._reads.get(path)
        if stamp is not None and kept is not None and kept[0] == (stamp, fmt):
            return kept[1]
        if chain is None:
            # the whole chain: qemu-img refuses a chain that loops, where qemu-io would hang
            size = int(str(self._info("read", path, chain=True)[0]["virtual-size"]))
        else:
            size = self._sizes.get(path) or int(
                str(self._info("read", path, chain=False)[0]["virtual-size"])
            )
        argv = [self._io, "-r", "-f", fmt]
        for block in range(size // BLOCK_SIZE):
            argv += ["-c", f"read -v {block * BLOCK_SIZE} 1"]
        data = parse_dump("read", run("read", [*argv, path]), size // BLOCK_SIZE)
        if stamp is not None:
            self._reads[path] = ((stamp, fmt), data)
        return data

    def exists(self, path: str) -> bool:
        """Whether a file or directory exists at ``path``."""
        self._start("exists", path)
        return os.path.exists(self._path("exists", path))

    def remove(self, path: str) -> None:
        """Unlink a file."""
        self._start("remove", path)
        path = self._path("remove", path)
        self._sizes.pop(path, None)
        try:
            os.remove(path)
        except OSError as err:
            raise BackendError(f"remove: cannot remove '{path}': {err.strerror}") from err

    def makedirs(self, path: str) -> None:
        """``mkdir -p`` under ``root``."""
        self._start("makedirs", path)
        path = self._path("makedirs", path)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as err:
            raise BackendError(f"makedirs: cannot create '{path}': {err.strerror}") from err

    def files(self) -> tuple[str, ...]:
        """Every file under ``root`` but QEMU's run directory, sorted."""
        self._start("files")
        found = []
        for folder, dirs, names in os.walk(self.root):
            if folder == self.root and RUN_DIR in dirs:
                dirs.remove(RUN_DIR)
            found += [os.path.join(folder, name) for name in names]
        return tuple(sorted(found))


def _tags(info: dict[str, object]) -> tuple[str, ...]:
    snapshots = info.get("snapshots") or []
    assert isinstance(snapshots, list)
    return tuple(sorted(str(snap["name"]) for snap in snapshots))


def _optional(value: object) -> str | None:
    return None if value is None else str(value)
