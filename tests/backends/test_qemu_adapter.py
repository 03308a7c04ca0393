"""Adapter ``qemu``: the reference driver over real QEMU agrees with the model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from snaporacle.adapters.protocol import Adapter
from snaporacle.adapters.registry import adapter_class
from snaporacle.errors import AdapterError, ComponentMissing
from snaporacle.explorer import Coverage, explore, sweep_cells
from snaporacle.model.modes import Outcome
from snaporacle.model.ops import DefineDomain, StartDomain
from snaporacle.model.profile import ALL_CELLS, Accepted, Cell
from snaporacle.profiles import load_profile
from snaporacle.reporting import NullReporter
from snaporacle.requests import domain_spec


@pytest.fixture
def adapter(tmp_path: Path) -> Iterator[Adapter]:
    """A qemu adapter in the test's temp dir, or a skip naming the package to install."""
    from snaporacle.adapters.qemu import QemuAdapter

    try:
        made = QemuAdapter(workdir=str(tmp_path / "work"))
    except ComponentMissing as err:
        pytest.skip(str(err))
    yield made
    made.close()


def one_cell_per_mechanism(profile_name: str) -> list[Cell]:
    """The first accepted cell of each distinct mechanism list of the profile."""
    profile = load_profile(profile_name)
    chosen: dict[object, Cell] = {}
    for cell in ALL_CELLS:
        verdict = profile.verdict(cell)
        if isinstance(verdict, Accepted):
            chosen.setdefault((verdict.mechanisms, cell.domain), cell)
    return list(chosen.values())


def test_the_entry_point_names_the_adapter() -> None:
    from snaporacle.adapters.qemu import QemuAdapter

    assert adapter_class("qemu") is QemuAdapter


def test_a_uri_is_refused(tmp_path: Path) -> None:
    from snaporacle.adapters.qemu import QemuAdapter

    with pytest.raises(AdapterError, match="no URI"):
        QemuAdapter(uri="qemu:///system", workdir=str(tmp_path))


def test_every_mechanism_agrees_with_the_model(adapter: Adapter) -> None:
    profile = load_profile(adapter.capabilities.profile)
    cells = one_cell_per_mechanism(adapter.capabilities.profile)
    assert len(cells) >= 4
    divergence = sweep_cells(adapter, profile, cells, Coverage(), NullReporter())
    assert divergence is None, str(divergence)


def test_a_short_exploration_finds_no_divergence(adapter: Adapter) -> None:
    profile = load_profile(adapter.capabilities.profile)
    result = explore(adapter, profile, examples=2, steps=8, seed=1, sweep=False)
    assert result.divergences == (), str(result.divergences[0])


def test_reset_stops_qemu_and_empties_the_work_dir(adapter: Adapter) -> None:
    domain = domain_spec(adapter.root)
    assert adapter.apply(DefineDomain(domain)).outcome is Outcome.ACCEPTED
    assert adapter.apply(StartDomain(domain.name)).outcome is Outcome.ACCEPTED
    assert [d.state for d in adapter.observe().domains] == ["running"]
    monitors = list(adapter._launcher.monitors)  # type: ignore[attr-defined]
    assert monitors
    adapter.reset()
    assert all(m.proc.poll() is not None for m in monitors)
    assert adapter.observe().domains == ()
    assert list(Path(adapter.root).iterdir()) == []
