"""The mechanism each accepted cell promises is the one the reference driver's backends were
called with (read from their call logs), on the fakes and on real QEMU."""

from __future__ import annotations

import pytest

from snaporacle.adapters.fake import FakeAdapter
from snaporacle.errors import ComponentMissing
from snaporacle.model.decide import decide
from snaporacle.model.modes import DomainColumn, DomainState, Outcome
from snaporacle.model.ops import CreateSnapshot, DefineDomain, StartDomain
from snaporacle.model.profile import ALL_CELLS, Accepted, Cell
from snaporacle.model.snapshot_xml import parse_snapshot
from snaporacle.profiles import load_profile
from snaporacle.reference.driver import mechanisms_of
from snaporacle.requests import cell_request, domain_spec

PROFILES = ("libvirt-current", "plan-1.0.1")


def _accepted_cells(profile_name: str) -> list[Cell]:
    profile = load_profile(profile_name)
    return [c for c in ALL_CELLS if isinstance(profile.verdict(c), Accepted)]


def _check_cell(adapter: FakeAdapter, profile_name: str, cell: Cell) -> None:
    profile = load_profile(profile_name)
    adapter.reset()
    spec = domain_spec(adapter.root, 0, 2)
    online = cell.domain is DomainColumn.ONLINE
    assert adapter.apply(DefineDomain(spec)).outcome is Outcome.ACCEPTED
    if online:
        assert adapter.apply(StartDomain(spec.name)).outcome is Outcome.ACCEPTED
    xml, flags = cell_request(cell, adapter.root, "s1", ("vda", "vdb"))
    decision = decide(
        profile,
        DomainState.RUNNING if online else DomainState.SHUTOFF,
        parse_snapshot(xml),
        flags,
        spec.disks,
    )
    assert isinstance(decision.verdict, Accepted)
    result = adapter.apply(CreateSnapshot(spec.name, xml, flags))
    assert result.outcome is Outcome.ACCEPTED, result
    assert mechanisms_of(adapter.driver.last_calls) == decision.verdict.mechanisms, cell.key()


@pytest.mark.parametrize("profile_name", PROFILES)
def test_fakes_are_called_with_the_promised_mechanisms(profile_name: str) -> None:
    adapter = FakeAdapter(profile=profile_name)
    for cell in _accepted_cells(profile_name):
        _check_cell(adapter, profile_name, cell)


def test_real_qemu_is_called_with_the_promised_mechanisms() -> None:
    from snaporacle.adapters.qemu import QemuAdapter

    try:
        adapter = QemuAdapter()
    except ComponentMissing as err:
        pytest.skip(str(err))
    try:
        for cell in _accepted_cells("libvirt-current"):
            _check_cell(adapter, "libvirt-current", cell)  # type: ignore[arg-type]
    finally:
        adapter.close()
