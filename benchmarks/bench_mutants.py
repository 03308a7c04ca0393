"""Mutation benchmark: how many of the broken drivers in ``benchmarks/mutants`` the explorer kills.

For each seed and each mutant, a default exploration (``--examples`` examples, sweep on) runs on
the mutant; a mutant is killed when the run reports a divergence. Printed: one line per run (time
of first detection, time to the minimal trace, its length), the kill rate per seed, and the
medians over the killed runs.

    python -m benchmarks.bench_mutants [--seeds 1 2 3] [--examples 200] [--steps 30]
"""

from __future__ import annotations

import argparse
import statistics

from benchmarks.mutants import MUTANTS
from snaporacle.explorer import explore
from snaporacle.profiles import load_profile


def main() -> None:
    """Run every mutant on every seed and print the kill rate and detection times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--shrink-seconds", type=float, default=3)
    args = parser.parse_args()
    profile = load_profile("libvirt-current")
    detections: list[float] = []
    minimal: list[float] = []
    lengths: list[int] = []
    for seed in args.seeds:
        killed = 0
        for mutant in MUTANTS:
            result = explore(mutant(), profile, examples=args.examples, steps=args.steps,
                             seed=seed, shrink_seconds=args.shrink_seconds,
                             allow_failures=mutant.ALLOW_FAILURES)
            if result.divergences:
                killed += 1
                assert result.first_detection is not None and result.minimal_at is not None
                detections.append(result.first_detection)
                minimal.append(result.minimal_at)
                lengths.append(len(result.divergences[0].trace))
                print(f"seed {seed} {mutant.__name__:28} killed   first {result.first_detection:6.2f} s"
                      f"  minimal {result.minimal_at:6.2f} s  {lengths[-1]} steps", flush=True)
            else:
                print(f"seed {seed} {mutant.__name__:28} SURVIVED {result.seconds:.1f} s", flush=True)
        print(f"seed {seed}: killed {killed}/{len(MUTANTS)}", flush=True)
    if detections:
        print(f"median time to first detection {statistics.median(detections):.2f} s; "
              f"median time to minimal trace {statistics.median(minimal):.2f} s "
              f"(max {max(minimal):.2f} s); median minimal trace {statistics.median(lengths)} steps")


if __name__ == "__main__":
    main()
