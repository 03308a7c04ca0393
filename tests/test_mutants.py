"""The mutation benchmark's broken drivers: each is observable, and the explorer kills a quick few."""

from __future__ import annotations

import pytest

from benchmarks.mutants import (
    MUTANTS,
    AcceptsDuplicateName,
    DumpxmlWithoutParent,
    IgnoresDiskDefaults,
    Mutant,
)
from snaporacle.adapters.fake import FakeAdapter
from snaporacle.explorer import explore
from snaporacle.minimize import replay_ops
from snaporacle.profiles import load_profile

PROFILE = load_profile("libvirt-current")


def test_there_are_enough_mutants_across_the_api() -> None:
    assert len(MUTANTS) >= 15
    assert {m.AREA for m in MUTANTS} >= {
        "create", "revert", "delete", "list", "current", "dumpxml", "rollback", "flags",
        "domain shapes",
    }


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.__name__)
def test_each_mutant_is_exposed_by_its_hand_written_trace(mutant: type[Mutant]) -> None:
    found = replay_ops(mutant(), PROFILE, list(mutant.TRACE), mutant.ALLOW_FAILURES)
    assert found is not None, f"{mutant.__name__}: its trace does not diverge"
    assert len(found.trace) == len(mutant.TRACE), found.differences
    assert replay_ops(FakeAdapter(), PROFILE, list(mutant.TRACE)) is None


@pytest.mark.parametrize(
    "mutant", [AcceptsDuplicateName, DumpxmlWithoutParent, IgnoresDiskDefaults],
    ids=lambda m: m.__name__,
)
def test_the_explorer_kills_a_quick_subset(mutant: type[Mutant]) -> None:
    result = explore(mutant(), PROFILE, examples=200, steps=30, seed=1, sweep=False,
                     shrink_seconds=2, allow_failures=mutant.ALLOW_FAILURES)
    assert result.divergences, f"{mutant.__name__} survived"
    assert len(result.divergences[0].trace) <= len(mutant.TRACE) + 2
