"""The rollback promise under every fault position: see :mod:`tests.fault_sweep`."""

from __future__ import annotations

from snaporacle.profiles import load_profile

from .fault_sweep import sweep


def test_no_fault_position_loses_data_or_leaves_an_unnamed_leftover(capsys) -> None:  # type: ignore[no-untyped-def]
    tally = sweep(load_profile("libvirt-current"))
    with capsys.disabled():
        print(f"\nfault sweep: {tally.summary()}")
    assert tally.positions > 1000
    assert tally.lost == [], "\n".join(tally.lost[:20])
    assert tally.unnamed == [], "\n".join(tally.unnamed[:20])
