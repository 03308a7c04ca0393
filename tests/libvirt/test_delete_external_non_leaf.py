"""Deleting an external snapshot in the middle of a tree on the running libvirt (9.0 on Debian
12, 11.3 in a Debian 13 root): each scenario of ``tests/delete_scenarios.py`` that was measured
on that version replays in lockstep with the model, under the profile measured there, and its
final delete gets the measured answer. The one scenario where libvirt loses data (an internal
child's snapshot merged away) diverges on the delete, libvirt doing it and the model refusing."""

from __future__ import annotations

import pytest

from snaporacle.adapters.libvirt import LibvirtAdapter
from snaporacle.lockstep import Divergence, Lockstep
from snaporacle.model.modes import Outcome
from snaporacle.profiles import load_profile
from tests.delete_scenarios import MEASURED_9_0, MEASURED_11_3, steps

MEASURED = {"9.0": MEASURED_9_0, "11.3": MEASURED_11_3}
#: where libvirt merges away a child's internal snapshot (the finding
#: external-delete-destroys-child-internal-snapshot)
LOSES_DATA = {"internal-child"}


def test_each_delete_gets_the_measured_answer(embed: LibvirtAdapter) -> None:
    version = ".".join(embed.describe()["libvirt"].split(".")[:2])
    assert version in MEASURED, f"measure tests/delete_scenarios.py on libvirt {version}"
    lockstep = Lockstep(embed, load_profile(embed.measured_name()))
    for (name, running), want in sorted(MEASURED[version].items()):
        lockstep.reset()
        ops = steps(name, embed.root, running)
        for op in ops[:-1]:
            lockstep.step(op)
        if name in LOSES_DATA:
            with pytest.raises(Divergence):
                lockstep.step(ops[-1])
            step = lockstep.trace[-1]
            assert step.actual.outcome is Outcome.ACCEPTED, name
            assert (step.expected.outcome, step.expected.error) == want, name
            continue
        result, _ = lockstep.step(ops[-1])
        assert (result.outcome, result.error) == want, (name, running, result.message)
