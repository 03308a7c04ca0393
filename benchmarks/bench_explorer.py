"""Explorer throughput on the ``fake`` adapter against a plain Hypothesis state machine.

Both machines have the same rules (an initialize rule and six rules drawing the same kinds of
data) and run the same examples x steps in the same process; the plain one does no work in its
rules, so its rate is what Hypothesis itself costs. Also measured: how long the random runs take
until every one of the 64 cells has been reached (no sweep), over a few seeds.

    python benchmarks/bench_explorer.py [--examples 100] [--steps 30] [--repeat 3]
    python benchmarks/bench_explorer.py --adapter qemu --examples 10 --steps 10

With ``--adapter NAME`` (and ``--uri``) it measures the explorer's steps per second on that
adapter against ``fake`` with the same examples, steps and seed, instead. With ``--memory`` as
well, it measures what observing guest RAM costs on that adapter: the explorer with RAM observed
and ``write_memory`` drawn, against the same adapter with the ``guest_memory`` aspect and the op
left out, same examples, steps and seeds:

    python benchmarks/bench_explorer.py --adapter qemu --memory --examples 10 --steps 10
"""

from __future__ import annotations

import argparse
import statistics
import time

import attrs
import hypothesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from snaporacle.adapters.fake import FakeAdapter
from snaporacle.adapters.registry import load_adapter
from snaporacle.explorer import NAMES, explore
from snaporacle.model.modes import CreateFlag, DeleteFlag, RevertFlag
from snaporacle.model.observation import Aspect
from snaporacle.model.ops import Op, Result, WriteMemory
from snaporacle.model.profile import ALL_CELLS, Cell
from snaporacle.profiles import load_profile
from snaporacle.reporting import NullReporter


def plain_machine(counter: list[int]) -> type[RuleBasedStateMachine]:
    """A state machine with the explorer's rules and draws, doing nothing in them."""

    class Plain(RuleBasedStateMachine):
        @initialize()
        def define(self) -> None:
            counter[0] += 1

        @rule(kind=st.sampled_from(("start", "start-paused", "pause", "resume", "destroy")))
        def lifecycle(self, kind: str) -> None:
            counter[0] += 1

        @rule(disk=st.integers(0, 1), block=st.integers(0, 3), pattern=st.integers(1, 255))
        def write(self, disk: int, block: int, pattern: int) -> None:
            counter[0] += 1

        @rule(cell=st.sampled_from(ALL_CELLS), name=st.sampled_from(NAMES), data=st.data())
        def create(self, cell: Cell, name: str, data: st.DataObject) -> None:
            data.draw(st.booleans())
            data.draw(st.booleans())
            if data.draw(st.integers(0, 3)) == 0:
                data.draw(st.lists(st.sampled_from(list(CreateFlag)), max_size=2, unique=True))
            counter[0] += 1

        @rule(data=st.data())
        def revert(self, data: st.DataObject) -> None:
            data.draw(st.sampled_from(NAMES))
            data.draw(st.lists(st.sampled_from(list(RevertFlag)), max_size=2, unique=True))
            counter[0] += 1

        @rule(data=st.data())
        def delete(self, data: st.DataObject) -> None:
            data.draw(st.sampled_from(NAMES))
            data.draw(st.lists(st.sampled_from(list(DeleteFlag)), max_size=2, unique=True))
            counter[0] += 1

        @rule(kind=st.sampled_from(("list", "current", "dumpxml")), data=st.data())
        def query(self, kind: str, data: st.DataObject) -> None:
            data.draw(st.sampled_from(NAMES))
            counter[0] += 1

    return Plain


def run_plain(examples: int, steps: int, seed: int) -> tuple[int, float]:
    """Steps and seconds of the plain machine."""
    counter = [0]
    machine = hypothesis.seed(seed)(plain_machine(counter))
    settings = hypothesis.settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
        suppress_health_check=list(HealthCheck),
    )
    start = time.perf_counter()
    run_state_machine_as_test(machine, settings=settings)
    return counter[0], time.perf_counter() - start


class CellClock(NullReporter):
    """Notes when the last of the 64 cells is first reached."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.cells: set[Cell] = set()
        self.all_at: float | None = None

    def step(self, op: Op, result: Result, cell: Cell | None) -> None:
        if cell is not None and cell not in self.cells:
            self.cells.add(cell)
            if len(self.cells) == len(ALL_CELLS):
                self.all_at = time.perf_counter() - self.start


def compare_adapter(name: str, uri: str | None, examples: int, steps: int) -> None:
    """Explorer steps/s on ``name`` and on ``fake``, same examples, steps and seed."""
    adapter = load_adapter(name, uri=uri)
    profile = load_profile(adapter.capabilities.profile)
    try:
        real = explore(adapter, profile, examples, steps, seed=1, sweep=False)
    finally:
        adapter.close()
    fake = explore(FakeAdapter(profile=profile.name), profile, examples, steps, seed=1, sweep=False)
    real_rate = real.coverage.steps / real.seconds
    fake_rate = fake.coverage.steps / fake.seconds
    print(f"{name}: {real.coverage.steps} steps in {real.seconds:.1f} s = {real_rate:.1f} steps/s")
    print(f"fake: {fake.coverage.steps} steps in {fake.seconds:.2f} s = {fake_rate:.0f} steps/s")
    print(f"fake is {fake_rate / real_rate:.0f}x faster; divergences on {name}: "
          f"{len(real.divergences)}")


def compare_memory(name: str, uri: str | None, examples: int, steps: int, repeat: int) -> None:
    """Explorer steps/s on ``name`` with guest RAM observed, against without, seed by seed."""
    adapter = load_adapter(name, uri=uri)
    profile = load_profile(adapter.capabilities.profile)
    full = adapter.capabilities
    without = attrs.evolve(
        full, aspects=full.aspects - {Aspect.GUEST_MEMORY}, ops=full.ops - {WriteMemory.kind}
    )
    ratios = []
    try:
        for seed in range(1, repeat + 1):
            rates = []
            for caps in (full, without):
                adapter.capabilities = caps
                result = explore(adapter, profile, examples, steps, seed=seed, sweep=False)
                rates.append(result.coverage.steps / result.seconds)
                if result.divergences:
                    print(f"divergence: {result.divergences[0]}")
            ratios.append(rates[0] / rates[1])
            print(f"seed {seed}: with RAM observed {rates[0]:.1f} steps/s, without "
                  f"{rates[1]:.1f} steps/s, ratio {rates[0] / rates[1]:.2f}x")
    finally:
        adapter.close()
    print(f"median ratio with/without guest RAM on {name}: {statistics.median(ratios):.2f}x "
          "(target > 0.5x)")


def main() -> None:
    """Print both rates, their ratio, and the time to cover the 64 cells."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--adapter", help="measure this adapter against fake instead")
    parser.add_argument("--uri")
    parser.add_argument("--memory", action="store_true",
                        help="with --adapter: the cost of observing guest RAM on it")
    args = parser.parse_args()
    profile = load_profile("libvirt-current")
    if args.adapter and args.memory:
        compare_memory(args.adapter, args.uri, args.examples, args.steps, args.repeat)
        return
    if args.adapter:
        compare_adapter(args.adapter, args.uri, args.examples, args.steps)
        return
    ratios = []
    for seed in range(1, args.repeat + 1):
        plain_steps, plain_seconds = run_plain(args.examples, args.steps, seed)
        result = explore(FakeAdapter(), profile, args.examples, args.steps, seed=seed, sweep=False)
        ours = result.coverage.steps / result.seconds
        plain = plain_steps / plain_seconds
        ratios.append(ours / plain)
        print(
            f"seed {seed}: explorer on fake {result.coverage.steps} steps in "
            f"{result.seconds:.2f} s = {ours:.0f} steps/s; plain Hypothesis machine "
            f"{plain_steps} steps in {plain_seconds:.2f} s = {plain:.0f} steps/s; "
            f"ratio {ours / plain:.2f}x"
        )
    print(f"median ratio explorer/plain: {statistics.median(ratios):.2f}x (target >= 0.5x)")
    times = []
    for seed in range(1, args.repeat + 1):
        clock = CellClock()
        explore(FakeAdapter(), profile, 500, args.steps, seed=seed, reporter=clock, sweep=False)
        if clock.all_at is not None:
            times.append(clock.all_at)
        after = f"{clock.all_at:.2f} s" if clock.all_at else "never"
        print(f"seed {seed}: {len(clock.cells)}/64 cells, all 64 after {after}")
    if times:
        print(f"median time until all 64 cells are covered by random runs: "
              f"{statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
