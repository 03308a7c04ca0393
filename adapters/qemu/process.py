"""Running the QEMU tools: finding binaries, one-shot commands, and QMP over a private event loop.

``qemu.qmp`` is asyncio; each monitor's client has a private event loop, run for the length of
each call, so the backends stay synchronous.

No QEMU outlives snaporacle: every process started is registered here and killed at interpreter
exit if nobody stopped it, and on Linux it also gets ``PR_SET_PDEATHSIG`` = SIGKILL (through
``setpriv``), so the kernel kills it when snaporacle dies, even of SIGKILL.

No step waits for ever: a one-shot tool gets :data:`RUN_TIMEOUT` seconds and a QMP command
:data:`QMP_TIMEOUT`; past that the step fails with :class:`~snaporacle.errors.StepTimeout`
naming it. A tool killed by a signal is an :class:`~snaporacle.errors.EnvironmentFailure`, not a
backend error.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from qemu.qmp import QMPClient

from ...errors import BackendError, ComponentMissing, EnvironmentFailure, StepTimeout

T = TypeVar("T")

#: Seconds a one-shot tool (qemu-img, qemu-io) may run.
RUN_TIMEOUT = 120.0
#: Seconds a QMP command may take to answer.
QMP_TIMEOUT = 30.0

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


def exit_text(code: int) -> str:
    """``exit status 1`` or ``killed by SIGKILL``, for a process's return code."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


def run(verb: str, argv: Sequence[str], timeout: float | None = None) -> str:
    """Run a one-shot tool; its stdout, or BackendError with the tool's own message.

    A tool that outlives ``timeout`` (default :data:`RUN_TIMEOUT`) is killed: StepTimeout. A
    tool killed by a signal (out of memory, a user's kill) is an EnvironmentFailure.
    """
    limit = RUN_TIMEOUT if timeout is None else timeout
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    except ValueError as err:  # an argument with a NUL byte: nothing ran
        raise BackendError(f"{verb}: {err}") from err
    # a timer kills a tool that outlives the limit: Popen's own timeout polls for the exit with
    # growing naps, which every short run would pay
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        proc.kill()

    timer = threading.Timer(limit, expire)
    timer.daemon = True
    timer.start()
    try:
        stdout, stderr = proc.communicate()
    except BaseException:  # interrupted: the tool does not outlive the step
        proc.kill()
        proc.wait()
        raise
    finally:
        timer.cancel()
    if expired.is_set():
        raise StepTimeout(
            f"{verb}: {os.path.basename(argv[0])} gave no answer within {limit:g} s and was "
            "killed; is the machine overloaded or the image on a hung file system?"
        )
    done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    message = (done.stderr.strip() or done.stdout.strip()).replace("\n", " ")
    if done.returncode < 0:
        raise EnvironmentFailure(
            f"{verb}: {os.path.basename(argv[0])} was {exit_text(done.returncode)}"
            + (f": {message[-300:]}" if message else "")
        )
    if done.returncode != 0:
        raise BackendError(f"{verb}: {message}")
    return done.stdout


@functools.cache
def _die_with_parent() -> tuple[str, ...]:
    """The command prefix that has the kernel SIGKILL a child when snaporacle dies.

    ``setpriv --pdeathsig KILL`` (util-linux) sets ``PR_SET_PDEATHSIG``, which lasts across the
    ``exec`` of QEMU; done by a program rather than a Python ``preexec_fn``, which may deadlock
    in a child forked from a process with threads (libvirt's event loop). Empty where it is
    missing: QEMU is then stopped at exit only.
    """
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return (setpriv, "--pdeathsig", "KILL", "--") if setpriv else ()


def start(
    argv: Sequence[str], pass_fds: Sequence[int], out: str, err: str,
) -> subprocess.Popen[bytes]:
    """Start a long-running process, registered for cleanup at exit, killed if we die."""
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        proc = subprocess.Popen([*_die_with_parent(), *argv], pass_fds=tuple(pass_fds),
                                stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
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

    def __init__(self, sock: socket.socket, name: str, timeout: float = QMP_TIMEOUT) -> None:
        self.timeout = timeout
        self.broken = False
        self._loop = asyncio.new_event_loop()
        try:
            self._client = self._wait(self._open(sock, name))
        except BaseException:
            self._shutdown()
            raise

    def _wait(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the private loop; a connection cut short by a timeout or an interrupt
        is ``broken`` from then on (its replies may arrive out of turn)."""
        try:
            return self._loop.run_until_complete(asyncio.wait_for(coro, self.timeout))
        except TimeoutError:
            self.broken = True
            raise
        except BaseException as err:
            if not isinstance(err, Exception):
                self.broken = True
            raise

    @staticmethod
    async def _open(sock: socket.socket, name: str) -> QMPClient:
        client = QMPClient(name)
        await client.connect(sock)
        return client

    def execute(self, command: str, arguments: dict[str, object] | None = None) -> Any:
        """Run one QMP command and return its result; QMP and transport errors propagate."""
        if self.broken:
            raise EOFError("the QMP connection was cut short by an earlier timeout or interrupt")
        return self._wait(self._client.execute(command, arguments))

    def execute_all(self, command: str, argument_list: Sequence[dict[str, object]]) -> list[Any]:
        """Run one QMP command once per arguments, all sent before the first reply is awaited
        (QEMU runs them in order); their results in order, or the first error in that order."""
        if self.broken:
            raise EOFError("the QMP connection was cut short by an earlier timeout or interrupt")

        async def run_all() -> list[Any]:
            return await asyncio.gather(
                *(self._client.execute(command, arguments) for arguments in argument_list),
                return_exceptions=True,
            )

        results = self._wait(run_all())
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return results

    def close(self) -> None:
        """Disconnect (harmless if the peer is gone)."""
        # The peer may be dead already: there is nothing to report then.
        if self._loop.is_closed():
            return
        if not self.broken:
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
