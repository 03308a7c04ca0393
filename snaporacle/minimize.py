"""Cutting a divergence down further, by replay: drop each step that the divergence does not need.

Hypothesis shrinks within a time budget, which a slow adapter (a real QEMU, libvirt) uses up
after a few dozen replays. :func:`minimize` then tries, from the last step to the first, to
replay the trace without one step; when the same divergence (same kind of operation, same first
difference) still shows, the step goes. Each try is one replay, so a trace of n steps costs at
most n replays.
"""

from __future__ import annotations

from .adapters.protocol import Adapter
from .lockstep import Divergence, Lockstep
from .model.ops import Op
from .model.profile import Profile


def _signature(divergence: Divergence) -> tuple[str, str]:
    first = divergence.differences[0] if divergence.differences else ""
    return divergence.trace[-1].op.kind, first.split(":", 1)[0]


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
    """The shortest divergence this greedy pass finds with the same signature."""
    wanted = _signature(divergence)
    best = divergence
    index = len(best.trace) - 2
    while index >= 0:
        ops = [step.op for step in best.trace]
        candidate = ops[:index] + ops[index + 1:]
        found = replay_ops(adapter, profile, candidate, allow_failures)
        if found is not None and _signature(found) == wanted and len(found.trace) < len(best.trace):
            best = found
            index = min(index, len(best.trace) - 1)
        index -= 1
    return best
