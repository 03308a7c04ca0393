"""Temporary work directories that never outlive their process, even one killed with SIGKILL.

:func:`make_workdir` makes ``$TMPDIR/snaporacle-KIND-PID-XXXX`` and holds an exclusive ``flock``
on it for the life of the process (the kernel drops it when the process dies, however it dies).
Every call first sweeps the stale ones: a ``snaporacle-qemu-PID-*``, ``snaporacle-libvirt-PID-*``
or ``snaporacle-embed-PID-*`` directory whose lock can be taken has no living owner; the QEMU
processes still running on its files (libvirt's daemonized QEMUs outlive a killed snaporacle) are
killed and it is removed. Directories named otherwise (made by hand, or by a version that took
no lock) are never touched. :func:`remove_workdir` removes a directory and lets its lock go.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path

#: The kinds of work directory that are swept when their owner is gone.
KINDS = ("qemu", "libvirt", "embed")

_held: dict[str, int] = {}
_SWEPT = re.compile(rf"^snaporacle-({'|'.join(KINDS)})-[0-9]+-")


def _prefix(kind: str) -> str:
    return f"snaporacle-{kind}-{os.getpid()}-"


def _lock(path: str) -> int | None:
    """An fd holding the exclusive lock of directory ``path``, or None if another holds it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # the directory may have been swept between mkdtemp and the lock: check it is still there
        if os.stat(path).st_ino != os.fstat(fd).st_ino:
            raise OSError("replaced")
    except OSError:
        os.close(fd)
        return None
    return fd


def sweep_stale(folder: str | None = None) -> list[str]:
    """Remove the work directories in ``folder`` (default the temp dir) whose owner died."""
    folder = os.path.realpath(folder or tempfile.gettempdir())
    removed: list[str] = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    for entry in entries:
        if not _SWEPT.match(entry):
            continue
        path = os.path.join(folder, entry)
        if path in _held or not os.path.isdir(path) or os.path.islink(path):
            continue
        fd = _lock(path)
        if fd is None:
            continue
        try:
            _kill_qemus_using(path)
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        finally:
            os.close(fd)
    return removed


def _kill_qemus_using(folder: str) -> None:
    """SIGKILL every QEMU process whose command line names a file under ``folder``."""
    needle = (folder + os.sep).encode()
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if os.path.basename(argv[0]).startswith(b"qemu-system") and any(
            needle in arg for arg in argv
        ):
            with contextlib.suppress(OSError):
                os.kill(int(entry), signal.SIGKILL)


def make_workdir(kind: str) -> str:
    """A fresh ``snaporacle-KIND-*`` directory, locked by this process; stale ones are swept."""
    if kind not in KINDS:
        raise ValueError(f"unknown work directory kind {kind!r}; one of {', '.join(KINDS)}")
    sweep_stale()
    while True:
        path = os.path.realpath(tempfile.mkdtemp(prefix=_prefix(kind)))
        fd = _lock(path)
        if fd is not None:
            _held[path] = fd
            return path


def remove_workdir(path: str) -> None:
    """Remove a directory made by :func:`make_workdir` and release its lock."""
    path = os.path.realpath(path)
    shutil.rmtree(path, ignore_errors=True)
    fd = _held.pop(path, None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def cache_dir(*parts: str) -> Path:
    """``$XDG_CACHE_HOME/snaporacle/PARTS`` (``~/.cache`` by default): caches kept between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "snaporacle", *parts)
