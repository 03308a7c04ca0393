"""The explorer's draws: one string of bytes per rule, even choices, no all-zero tails; and the
reference driver's observation kept across steps that only read."""

from __future__ import annotations

import collections

import hypothesis
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from snaporacle.adapters.fake import FakeAdapter
from snaporacle.draws import CHOICE_COUNT, Picks, filler
from snaporacle.explorer import SnapshotMachine
from snaporacle.model.ops import CreateSnapshot, DefineDomain, ListSnapshots
from snaporacle.model.profile import ALL_CELLS
from snaporacle.requests import cell_request, domain_spec

ZERO = bytes(CHOICE_COUNT)


def test_a_choice_of_zero_is_the_plainest_option() -> None:
    picks = Picks(ZERO)
    assert [picks.of("abc"), picks.of(range(300)), picks.next()] == ["a", 0, 0]


def test_a_long_list_is_reached_evenly_with_two_bytes() -> None:
    options = list(range(189))  # as long as the create rule's cell list
    counts = collections.Counter(
        Picks(bytes([high, low])).of(options) for high in range(256) for low in range(256)
    )
    assert set(counts) == set(options)
    assert max(counts.values()) / min(counts.values()) < 1.01


def test_an_all_zero_draw_stands_for_choices_made_from_its_place() -> None:
    assert filler(3, 5) == filler(3, 5)  # the same each time: a run and its replay agree
    fills = {filler(rotation, call) for rotation in range(4) for call in range(1, 31)}
    assert len(fills) == 4 * 30 and ZERO not in fills
    assert all(len(fill) == CHOICE_COUNT for fill in fills)


def test_runs_draw_varied_creates_not_zero_tails() -> None:
    """Hypothesis fills the steps after a mutation that lost alignment with zeros; those steps
    must not all be the same plainest create."""
    creates: collections.Counter[str] = collections.Counter()

    class Watch(SnapshotMachine.bind(FakeAdapter)):  # type: ignore[misc]
        def do(self, op, scene=False):  # type: ignore[no-untyped-def]
            if isinstance(op, CreateSnapshot) and not scene:
                creates[op.xml + str(int(op.flags))] += 1
            return super().do(op, scene)

    machine = hypothesis.seed(1)(Watch)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=150, stateful_step_count=30, deadline=None, database=None,
        suppress_health_check=list(HealthCheck)))
    Watch.close()
    total = sum(creates.values())
    assert total > 500
    assert creates.most_common(1)[0][1] < total / 20  # 2% here; 11% without the filler


def test_the_driver_observes_again_only_after_a_step_that_acts() -> None:
    adapter = FakeAdapter()
    spec = domain_spec(adapter.root, 0)
    assert adapter.apply(DefineDomain(spec)).outcome.value == "accepted"
    before = len(adapter.driver.images.calls)
    first = adapter.observe()
    assert len(adapter.driver.images.calls) > before  # observing reads the backends
    for op in (ListSnapshots(spec.name), DefineDomain(spec)):  # a query, then a refusal
        adapter.apply(op)
        after_apply = len(adapter.driver.images.calls)
        assert adapter.observe() is first
        assert len(adapter.driver.images.calls) == after_apply  # no backend read to observe
    cell = next(c for c in ALL_CELLS if c.key() == "offline/memory=omit/disk=internal/no-flag")
    xml, flags = cell_request(cell, adapter.root, "s1")
    assert adapter.apply(CreateSnapshot(spec.name, xml, flags)).outcome.value == "accepted"
    second = adapter.observe()
    assert second is not first
    assert second.domains[0].snapshots and not first.domains[0].snapshots


def test_a_filler_step_walks_the_snapshot_tree() -> None:
    """The tail Hypothesis fills with its first rule carries out creates, reverts and deletes."""
    carried: collections.Counter[tuple[str, str]] = collections.Counter()

    class Watch(SnapshotMachine.bind(FakeAdapter)):  # type: ignore[misc]
        drawn = ""

        def run(self, kind: str, c: bytes) -> None:
            self.drawn = kind if any(c) else "filler"
            super().run(kind, c)

        def do_revert(self, picks: Picks) -> None:
            carried[(self.drawn, "revert")] += 1
            super().do_revert(picks)

        def do_delete(self, picks: Picks) -> None:
            carried[(self.drawn, "delete")] += 1
            super().do_delete(picks)

    machine = hypothesis.seed(2)(Watch)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=100, stateful_step_count=30, deadline=None, database=None,
        suppress_health_check=list(HealthCheck)))
    Watch.close()
    assert carried[("filler", "revert")] > 0 and carried[("filler", "delete")] > 0
