"""Deleting an external snapshot in the middle of a tree (profile capabilities
``delete_external_non_leaf`` and ``delete_external_offline_chain``): the model and the reference
driver, on the fakes and on real QEMU, agree step by step, and the final delete gets the answer
libvirt gave (see ``tests/delete_scenarios.py``)."""

from __future__ import annotations

import pytest

from snaporacle.lockstep import Lockstep
from snaporacle.profiles import load_profile
from tests.delete_scenarios import MEASURED_9_0, MEASURED_11_3, steps
from tests.reference_adapters import reference_adapter

CASES = [("libvirt-11.3-qemu-embed", key, want) for key, want in MEASURED_11_3.items()] + [
    ("libvirt-9.0-qemu-embed", key, want) for key, want in MEASURED_9_0.items()
]


@pytest.mark.parametrize("kind", ["fake", "qemu"])
@pytest.mark.parametrize(("profile", "key", "want"), CASES,
                         ids=[f"{p}-{k[0]}-{'running' if k[1] else 'offline'}" for p, k, _ in CASES])
def test_the_delete_gets_the_measured_answer(kind: str, profile: str, key, want) -> None:  # type: ignore[no-untyped-def]
    name, running = key
    adapter = reference_adapter(kind, profile)
    try:
        lockstep = Lockstep(adapter, load_profile(profile))
        lockstep.reset()
        for op in steps(name, adapter.root, running):
            result, _ = lockstep.step(op)  # raises Divergence on any difference
        assert (result.outcome, result.error) == want, result.message
    finally:
        adapter.close()
