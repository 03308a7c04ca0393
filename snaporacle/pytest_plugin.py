"""The pytest plugin (entry point ``pytest11``): run snaporacle's property suite on any adapter.

Options: ``--snap-adapter NAME`` (default ``fake``), ``--snap-uri URI``, ``--snap-profile NAME``
(default: the adapter's own), and ``--snap-hypothesis dev|ci|thorough`` (how many examples and
steps the explorer runs; also registered as the Hypothesis settings profiles ``snaporacle-dev``,
``snaporacle-ci`` and ``snaporacle-thorough``, prefixed so as not to replace Hypothesis' own
``ci`` profile, which it loads by itself on CI machines).
Fixtures: ``snap_adapter`` (a fresh adapter, closed after the test), ``snap_factory`` (makes
fresh adapters, for :func:`snaporacle.check_adapter`), ``snap_profile``, ``snap_settings`` (the
chosen examples and steps).

The adapter contract ships with the plugin: in any repository,
``pytest --pyargs snaporacle.testing --snap-adapter NAME`` runs it. A test that fails with a
:class:`~snaporacle.lockstep.Divergence` (also inside Hypothesis' wrappers) gets a report section
with the readable trace table, and its trace is saved under ``--snap-save-traces`` (default
``.snaporacle/traces``) so that ``snaporacle replay`` runs it again.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from rich.console import Console

from .adapters.protocol import Adapter
from .adapters.registry import load_adapter
from .lockstep import Divergence
from .model.profile import Profile
from .profiles import load_profile
from .reporting import divergence_table
from .traces import save_divergence

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
    group.addoption("--snap-save-traces", default=".snaporacle/traces", type=Path,
                    help="folder for the traces of divergences (default: .snaporacle/traces)")


@pytest.fixture
def snap_factory(request: pytest.FixtureRequest) -> Callable[[], Adapter]:
    """Makes a fresh adapter of the kind chosen with ``--snap-adapter`` on each call."""
    config = request.config
    return functools.partial(
        load_adapter,
        config.getoption("--snap-adapter"),
        uri=config.getoption("--snap-uri"),
        profile=config.getoption("--snap-profile"),
    )


@pytest.fixture
def snap_adapter(snap_factory: Callable[[], Adapter]) -> Iterator[Adapter]:
    """The adapter under test, fresh for each test."""
    adapter = snap_factory()
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


def _divergence_in(error: BaseException | None, seen: set[int] | None = None) -> Divergence | None:
    """The divergence behind a test failure: itself, its cause, or inside an exception group."""
    seen = seen if seen is not None else set()
    if error is None or id(error) in seen:
        return None
    seen.add(id(error))
    if isinstance(error, Divergence):
        return error
    for inner in getattr(error, "exceptions", ()):
        found = _divergence_in(inner, seen)
        if found is not None:
            return found
    return _divergence_in(error.__cause__ or error.__context__, seen)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """A failed test whose cause is a divergence: show the trace table and save the trace."""
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is None or report.when != "call":
        return
    divergence = _divergence_in(call.excinfo.value)
    if divergence is None:
        return
    buffer = io.StringIO()
    Console(file=buffer, width=160, highlight=False).print(divergence_table(divergence))
    config = item.config
    text = buffer.getvalue()
    try:
        chosen = getattr(item, "funcargs", {}).get("snap_profile")
        profile = config.getoption("--snap-profile") or getattr(chosen, "name", "libvirt-current")
        path = save_divergence(
            divergence, config.getoption("--snap-save-traces"),
            str(config.getoption("--snap-adapter")), str(profile), divergence.root,
        )
        text += f"trace saved: {path} (run it again with: snaporacle replay {path})\n"
    except OSError as err:
        text += f"the trace could not be saved: {err}\n"
    report.sections.append(("snaporacle divergence", text))
