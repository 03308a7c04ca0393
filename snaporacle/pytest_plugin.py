"""The pytest plugin (entry point ``pytest11``): run snaporacle's property suite on any adapter.

Options: ``--snap-adapter NAME`` (default ``fake``), ``--snap-uri URI``, ``--snap-profile NAME``
(default: the adapter's own), and ``--snap-hypothesis dev|ci|thorough`` (how many examples and
steps the explorer runs; also registered as the Hypothesis settings profiles ``snaporacle-dev``,
``snaporacle-ci`` and ``snaporacle-thorough``, prefixed so as not to replace Hypothesis' own
``ci`` profile, which it loads by itself on CI machines).
Fixtures: ``snap_adapter`` (a fresh adapter, closed after the test), ``snap_profile``,
``snap_settings`` (the chosen examples and steps), ``snap_machine`` (the explorer's
:class:`~snaporacle.explorer.SnapshotMachine` bound to that adapter and profile, for
``run_state_machine_as_test``). Every adapter has its own work directory, so the fixtures work
under ``pytest-xdist`` (``-n N``) as they do in one process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

from .adapters.protocol import Adapter
from .adapters.registry import load_adapter
from .explorer import SnapshotMachine
from .model.profile import Profile
from .profiles import load_profile

#: Explorer sizes per Hypothesis profile: (examples, steps).
SIZES = {"dev": (30, 20), "ci": (80, 30), "thorough": (1000, 60)}

for _name, (_examples, _steps) in SIZES.items():
    settings.register_profile(
        f"snaporacle-{_name}", max_examples=_examples, stateful_step_count=_steps, deadline=None
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--snap-*`` options."""
    group = parser.getgroup("snaporacle")
    group.addoption("--snap-adapter", default="fake", help="adapter name or pkg.module:Class")
    group.addoption("--snap-uri", default=None, help="driver URI for the adapter")
    group.addoption("--snap-profile", default=None, help="profile name or path")
    group.addoption("--snap-hypothesis", default="dev", choices=sorted(SIZES),
                    help="explorer size: dev, ci or thorough")


@pytest.fixture
def snap_adapter(request: pytest.FixtureRequest) -> Iterator[Adapter]:
    """The adapter under test, fresh for each test."""
    config = request.config
    adapter = load_adapter(
        config.getoption("--snap-adapter"),
        uri=config.getoption("--snap-uri"),
        profile=config.getoption("--snap-profile"),
    )
    try:
        yield adapter
    finally:
        adapter.close()


@pytest.fixture
def snap_profile(request: pytest.FixtureRequest, snap_adapter: Adapter) -> Profile:
    """The profile the adapter is checked against."""
    name = request.config.getoption("--snap-profile") or snap_adapter.capabilities.profile
    return load_profile(name)


@pytest.fixture
def snap_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The explorer size chosen with ``--snap-hypothesis``."""
    examples, steps = SIZES[request.config.getoption("--snap-hypothesis")]
    return {"examples": examples, "steps": steps}


@pytest.fixture
def snap_machine(snap_adapter: Adapter, snap_profile: Profile) -> type[SnapshotMachine]:
    """The explorer's state machine bound to the adapter under test and its profile."""
    return SnapshotMachine.bind(lambda: snap_adapter, snap_profile, owns_adapter=False)
