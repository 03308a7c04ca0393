"""A child subreaper, so that a destroyed QEMU is reaped at once instead of by a slow PID 1.

libvirt's QEMU driver runs QEMU as a daemon (forked twice, in a session of its own), so QEMU's
parent is PID 1. After ``virDomainDestroy`` kills it, libvirt polls ``/proc`` every 200 ms until
the zombie is gone; where PID 1 reaps slowly (containers, sandboxes) a destroy then takes over a
second and a half. :func:`enable` makes this process a child subreaper
(``prctl(PR_SET_CHILD_SUBREAPER)``): orphaned descendants become its children, and a thread reaps
those that are zombies at once.

It reaps only what no one else waits for: a zombie child whose session differs from this
process's and whose command is ``qemu*`` (libvirt's daemonised QEMU). Children that
``subprocess`` or libvirt itself wait on (same session, or not QEMU, such as libvirt's
intermediate fork) are left alone. Linux only; elsewhere :func:`enable` does nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36

#: Seconds between two looks at the children.
INTERVAL = 0.01

_lock = threading.Lock()
_thread: threading.Thread | None = None
_reaped: list[int] = []


def _children() -> set[int]:
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            pids.update(int(p) for p in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return pids


def _orphaned_qemu_zombie(pid: int, session: int) -> bool:
    """Whether ``pid`` is a zombie QEMU from another session (see the module docstring)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    state, child_session = fields[0], int(fields[3])
    return state == "Z" and child_session != session and comm.startswith("qemu")


def reap_once() -> list[int]:
    """Reap every orphaned QEMU zombie now; returns their pids."""
    session = os.getsid(0)
    done = []
    for pid in _children():
        if _orphaned_qemu_zombie(pid, session):
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    done.append(pid)
            except ChildProcessError:
                continue
    return done


def _loop() -> None:
    while True:
        _reaped.extend(reap_once())
        time.sleep(INTERVAL)


def enable() -> bool:
    """Make this process a child subreaper and start the reaping thread (once).

    Returns whether the reaper runs (``False`` off Linux or where ``prctl`` refuses).
    """
    global _thread
    if not sys.platform.startswith("linux") or not Path("/proc/self/task").is_dir():
        return False
    with _lock:
        if _thread is not None:
            return True
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            return False
        _thread = threading.Thread(target=_loop, name="snaporacle-reaper", daemon=True)
        _thread.start()
        return True


def reaped() -> tuple[int, ...]:
    """The pids reaped so far (for tests and diagnostics)."""
    return tuple(_reaped)
