"""Cutting a divergence down further, by replay: drop each step that the divergence does not need.

Hypothesis shrinks within a time budget, which a slow adapter (a real QEMU, libvirt) uses up
after a few dozen replays. :func:`minimize` then replays the trace without a block of steps,
blocks of half the trace first, then smaller ones down to single steps, from the end toward the
start; when the same divergence (same kind of operation, same first difference) still shows, the
block goes. It repeats until a whole pass of single steps cuts nothing, so no step that the
divergence does not need is left (1-minimal, as delta debugging calls it).
"""

from __future__ import annotations

import re

from .adapters.protocol import Adapter
from .lockstep import Divergence, Lockstep
from .model.ops import Op
from .model.profile import Profile


def signature(divergence: Divergence) -> tuple[str, str]:
    """What makes two divergences the same: the kind of operation and what differs first
    (without list positions, which move when a domain or a disk is cut)."""
    first = divergence.differences[0] if divergence.differences else ""
    return divergence.trace[-1].op.kind, re.sub(r"\[\d+\]", "[]", first.split(":", 1)[0])


def replay_ops(
    adapter: Adapter, profile: Profile, ops: list[Op], allow_failures: bool = False
) -> Divergence | None:
    """Run ``ops`` from an empty world in lockstep; the divergence, or ``None``."""
    lockstep = Lockstep(adapter, profile, allow_failures=allow_failures)
    lockstep.reset()
    try:
        for op in ops:
            lockstep.step(op)
    except Divergence as divergence:
        return divergence
    return None


def minimize(
    adapter: Adapter, profile: Profile, divergence: Divergence, allow_failures: bool = False
) -> Divergence:
    """The divergence cut until no single step can go, with the same signature."""
    wanted = signature(divergence)
    best = divergence
    size = max(1, (len(best.trace) - 1) // 2)
    while True:
        cut = False
        end = len(best.trace) - 1  # the diverging step itself stays
        while end > 0:
            start = max(0, end - size)
            ops = [step.op for step in best.trace]
            found = replay_ops(adapter, profile, ops[:start] + ops[end:], allow_failures)
            if found is not None and signature(found) == wanted and len(found.trace) < len(best.trace):
                best = found
                cut = True
            end = min(start, len(best.trace) - 1)
        if size == 1 and not cut:
            return best
        size = max(1, size // 2)
