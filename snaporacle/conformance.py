"""The conformance kit: the whole adapter contract in one call, for adapter authors.

``check_adapter(adapter)`` checks that the adapter implements the protocol, that ``reset`` gives
an empty world, that every one of the 64 table cells behaves as its profile says (each as a
short trace in lockstep with the model), and that a seeded exploration finds no divergence.
It raises :class:`~snaporacle.lockstep.Divergence` with the minimal trace, or ``AssertionError``.
"""

from __future__ import annotations

from .adapters.protocol import Adapter
from .explorer import Coverage, explore, sweep_cells
from .model.profile import ALL_CELLS, Profile
from .profiles import load_profile
from .reporting import NullReporter


def check_adapter(
    adapter: Adapter,
    profile: Profile | None = None,
    examples: int = 30,
    steps: int = 20,
    seed: int = 0,
) -> None:
    """Run the whole contract against ``adapter``; see the module docstring."""
    assert isinstance(adapter, Adapter), f"{adapter!r} does not implement the Adapter protocol"
    profile = profile or load_profile(adapter.capabilities.profile)
    adapter.reset()
    empty = adapter.observe()
    assert empty.domains == () and empty.memory_files == (), f"reset left {empty}"
    found = sweep_cells(adapter, profile, list(ALL_CELLS), Coverage(), NullReporter())
    if found is not None:
        raise found
    result = explore(adapter, profile, examples=examples, steps=steps, seed=seed, sweep=False)
    if result.divergences:
        raise result.divergences[0]
