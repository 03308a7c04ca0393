"""``snaporacle explore --workers N``: N adapters in N processes, one merged report.

Each worker, a clean process, makes its own adapter (so its own work root, and its own embedded
libvirt root), runs ``examples / N`` examples with its own seed (the run's seed plus the worker's
number) and the shared example database; the parent merges the coverage, keeps the first divergence, and
sweeps the cells no worker covered with an adapter of its own.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import attrs

from .adapters.registry import load_adapter
from .database import open_database
from .explorer import Coverage, ExploreResult, explore, missing_cells, new_seed, sweep_cells
from .known import divergence_signature, load_known
from .model.profile import Cell, parse_cell_key
from .profiles import load_profile
from .reporting import NullReporter, Reporter


@attrs.frozen
class Job:
    """What one worker runs (picklable: names, not objects)."""

    adapter: str
    uri: str | None
    profile: str | None
    examples: int
    steps: int
    seed: int
    database: str | None
    shrink_seconds: float
    max_time: float | None
    exclude: tuple[str, ...] = ()
    allow_failures: bool = False
    #: trace files of known findings (each worker replays them on its own adapter)
    known: tuple[str, ...] = ()


def run_job(job: Job) -> ExploreResult:
    """Run one worker's share of the exploration (no sweep) and close its adapter."""
    adapter = load_adapter(job.adapter, uri=job.uri, profile=job.profile)
    try:
        profile = load_profile(job.profile or adapter.capabilities.profile)
        known = load_known(adapter, profile, [Path(p) for p in job.known])
        return explore(
            adapter, profile, examples=job.examples, steps=job.steps, seed=job.seed,
            sweep=False, allow_failures=job.allow_failures, shrink_seconds=job.shrink_seconds,
            exclude=frozenset(parse_cell_key(k) for k in job.exclude),
            database=open_database(job.database), max_time=job.max_time, known=known,
        )
    finally:
        adapter.close()


def explore_parallel(job: Job, workers: int, sweep: bool = True,
                     reporter: Reporter | None = None) -> ExploreResult:
    """Run ``job`` split over ``workers`` processes and merge the results (see the module)."""
    reporter = reporter or NullReporter()
    seed = job.seed if job.seed is not None else new_seed()
    share = math.ceil(job.examples / workers)
    jobs = [attrs.evolve(job, examples=share, seed=seed + n) for n in range(workers)]
    reporter.run_started(job.examples, job.steps)
    start = time.perf_counter()
    # workers start from a clean process (forkserver), not as forks of this one: a fork would
    # inherit this process's embedded libvirt (its root, its threads) when it made an adapter
    # before, and two workers would then run their domains in one root
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = list(pool.map(run_job, jobs))
    coverage = Coverage()
    for result in results:
        coverage.merge(result.coverage)
    found = [r for r in results if r.divergences]
    divergences = tuple(found[0].divergences) if found else ()
    swept: list[Cell] = []
    if sweep and not divergences:
        adapter = load_adapter(job.adapter, uri=job.uri, profile=job.profile)
        try:
            profile = load_profile(job.profile or adapter.capabilities.profile)
            exclude = frozenset(parse_cell_key(k) for k in job.exclude)
            swept = missing_cells(adapter, coverage, exclude)
            divergence = sweep_cells(adapter, profile, swept, coverage, reporter,
                                     job.allow_failures)
            if divergence is not None and job.known:
                signatures = {k.signature: k.name
                              for k in load_known(adapter, profile, [Path(p) for p in job.known])}
                finding = signatures.get(divergence_signature(divergence))
                if finding is not None:  # the sweep stopped at a known finding
                    coverage.known[finding] += 1
                    divergence = None
            divergences = (divergence,) if divergence is not None else ()
        finally:
            adapter.close()
    for divergence in divergences:
        reporter.divergence(divergence)
    detections = [r.first_detection for r in found if r.first_detection is not None]
    merged = ExploreResult(
        coverage, time.perf_counter() - start, divergences, tuple(swept), seed,
        min(detections) if detections else None,
        found[0].minimal_at if found else None,
        found[0].examples_at_first_detection if found else None,
        workers=workers,
        environment_failures=tuple(f for r in results for f in r.environment_failures),
    )
    reporter.run_finished(merged)
    return merged
