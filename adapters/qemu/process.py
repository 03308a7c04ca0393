"""Running the QEMU tools: finding binaries, one-shot commands, and QMP over a private event loop.

``qemu.qmp`` is asyncio; each monitor's client has a private event loop, run for the length of
each call, so the backends stay synchronous. Every QEMU
process started is registered here and killed at interpreter exit if nobody stopped it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import shutil
import socket
import subprocess
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


class Qmp:
    """A synchronous QMP connection over one end of a socket pair given to QEMU.

    The client lives on a private event loop that runs only during a call, in the caller's
    thread (no helper thread: CPython 3.11.7 raises spurious SystemErrors from ``ast`` when
    another thread runs Python code during pytest's assertion rewriting).
    """

    def __init__(self, sock: socket.socket, name: str, timeout: float = 30.0) -> None:
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        try:
            self._client = self._wait(self._open(sock, name))
        except BaseException:
            self._shutdown()
            raise

    def _wait(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(asyncio.wait_for(coro, self._timeout))

    @staticmethod
    async def _open(sock: socket.socket, name: str) -> QMPClient:
        client = QMPClient(name)
        await client.connect(sock)
        return client

    def execute(self, command: str, arguments: dict[str, object] | None = None) -> Any:
        """Run one QMP command and return its result; QMP and transport errors propagate."""
        return self._wait(self._client.execute(command, arguments))

    def close(self) -> None:
        """Disconnect (harmless if the peer is gone)."""
        # The peer may be dead already: there is nothing to report then.
        if self._loop.is_closed():
            return
        with contextlib.suppress(Exception):
            self._wait(self._client.disconnect())
        self._shutdown()

    def _shutdown(self) -> None:
        # Finish every task and transport while the loop still runs: a finaliser that fires
        # later, on a closed loop, raises in the garbage collector and upsets the interpreter.
        async def finish() -> None:
            tasks = asyncio.all_tasks() - {asyncio.current_task()}
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0)

        self._loop.run_until_complete(finish())
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()
