"""Clean stops on SIGINT and SIGTERM: finish the step, or cut it short after a grace period.

A command wraps its work in :func:`stop_on_signals`. There the first SIGINT or SIGTERM only
records the signal: the run stops at the next step boundary (:func:`check`, which the lockstep
calls before every step) by raising :class:`~snaporacle.errors.Interrupted`, so no QMP call or
qemu-img run is cut in half. Inside an :func:`interruptible` block (the steps of a run), a step
that has not come back :data:`GRACE` seconds after the signal is cut short: an alarm raises
``Interrupted`` wherever the program is. ``Interrupted`` is raised once; later signals are
ignored, so the clean-up that follows (QEMU processes killed, temporary directories removed, the
report written) runs to its end. The command then exits with ``128 + signum``
(:func:`received`). Outside :func:`stop_on_signals` the default handlers apply.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import attrs

from .errors import Interrupted

#: Seconds a running step may take to finish after the signal before it is cut short.
GRACE = 1.0

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@attrs.define
class _State:
    signum: int | None = None
    raised: bool = False
    depth: int = 0
    active: bool = False


_state = _State()


def received() -> int | None:
    """The stop signal that arrived within :func:`stop_on_signals`, or ``None``."""
    return _state.signum


def check() -> None:
    """Raise :class:`Interrupted` if a stop signal arrived and it was not raised yet."""
    if _state.active and _state.signum is not None and not _state.raised:
        _state.raised = True
        signal.setitimer(signal.ITIMER_REAL, 0)
        raise Interrupted(_state.signum)


def _on_stop(signum: int, _frame: FrameType | None) -> None:
    if _state.signum is not None:
        return  # a second signal: the stop is under way, let the clean-up finish
    _state.signum = signum
    if _state.depth:
        signal.setitimer(signal.ITIMER_REAL, GRACE)


def _on_alarm(_signum: int, _frame: FrameType | None) -> None:
    if _state.depth:
        check()


@contextmanager
def interruptible() -> Iterator[None]:
    """Within the block a step that outlives the grace period is cut short (the run's steps)."""
    _state.depth += 1
    try:
        if _state.active and _state.signum is not None and not _state.raised:
            signal.setitimer(signal.ITIMER_REAL, GRACE)
        yield
    finally:
        _state.depth -= 1
        if not _state.depth:
            signal.setitimer(signal.ITIMER_REAL, 0)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM stop the run cleanly (see the module docstring).

    Outside the main thread (where Python cannot set handlers) the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (*_STOP_SIGNALS, signal.SIGALRM)}
    _state.signum, _state.raised, _state.depth, _state.active = None, False, 0, True
    for sig in _STOP_SIGNALS:
        signal.signal(sig, _on_stop)
    signal.signal(signal.SIGALRM, _on_alarm)
    try:
        yield
    finally:
        _state.active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in saved.items():
            signal.signal(sig, handler)
