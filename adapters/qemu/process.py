"""Running the QEMU tools: finding binaries, one-shot commands, and QMP over a private event loop.

``qemu.qmp`` is asyncio; every monitor's client lives on one daemon thread running its own event
loop, and each call waits for its result there, so the backends stay synchronous. Every QEMU
process started is registered here and killed at interpreter exit if nobody stopped it.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import shutil
import socket
import subprocess
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from qemu.qmp import QMPClient

from ...errors import BackendError, ComponentMissing

T = TypeVar("T")

PACKAGES = {
    "qemu-img": "qemu-utils",
    "qemu-io": "qemu-utils",
    "qemu-system-x86_64": "qemu-system-x86",
    "stdbuf": "coreutils",
}

_live: set[subprocess.Popen[bytes]] = set()


def binary(name: str) -> str:
    """The absolute path of a QEMU tool, or ComponentMissing naming its Debian package."""
    path = shutil.which(name)
    if path is None:
        raise ComponentMissing(
            f"{name} is not installed; install the Debian package {PACKAGES[name]} "
            f"(apt-get install {PACKAGES[name]})"
        )
    return path


def run(verb: str, argv: Sequence[str]) -> str:
    """Run a one-shot tool; its stdout, or BackendError with the tool's own message."""
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip()).replace("\n", " ")
        raise BackendError(f"{verb}: {message}")
    return done.stdout


def start(
    argv: Sequence[str], pass_fds: Sequence[int], out: str, err: str,
) -> subprocess.Popen[bytes]:
    """Start a long-running process, registered for cleanup at exit."""
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        proc = subprocess.Popen(list(argv), pass_fds=tuple(pass_fds), stdin=subprocess.DEVNULL,
                                stdout=stdout, stderr=stderr)
    _live.add(proc)
    return proc


def stop(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """Wait for a process to end, killing it after ``grace`` seconds; forget it."""
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    _live.discard(proc)


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_live):
        proc.kill()
        stop(proc)


class _Loop:
    """One daemon thread running the event loop every QMP client lives on."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def get(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None:
                cls._loop = asyncio.new_event_loop()
                threading.Thread(target=cls._loop.run_forever, name="snaporacle-qmp",
                                 daemon=True).start()
            return cls._loop


def _wait(coro: Coroutine[Any, Any, T], timeout: float) -> T:
    future = asyncio.run_coroutine_threadsafe(coro, _Loop.get())
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise


class Qmp:
    """A synchronous QMP connection over one end of a socket pair given to QEMU."""

    def __init__(self, sock: socket.socket, name: str, timeout: float = 30.0) -> None:
        self._timeout = timeout
        self._client = _wait(self._open(sock, name), timeout)

    @staticmethod
    async def _open(sock: socket.socket, name: str) -> QMPClient:
        client = QMPClient(name)
        await client.connect(sock)
        return client

    def execute(self, command: str, arguments: dict[str, object] | None = None) -> Any:
        """Run one QMP command and return its result; QMP and transport errors propagate."""
        return _wait(self._client.execute(command, arguments), self._timeout)

    def close(self) -> None:
        """Disconnect (harmless if the peer is gone)."""
        # The peer may be dead already: there is nothing to report then.
        with contextlib.suppress(Exception):
            _wait(self._client.disconnect(), self._timeout)
