"""The fault sweep: the reference driver's rollback promise at every backend call position.

For every scenario (each accepted table cell, as a create, a revert to it and a delete of it, on
a domain with two disks) the operation runs once without faults, logging every backend call it
asks the fault plan about. Then, for every one of those call positions, it runs again with a fault
there, before the call's effect and (for calls with an effect) after it; and for every call the
rollback then makes, once more with a second fault there too.

Each faulted run is held to the promise (see :mod:`snaporacle.reference.driver`): the result is
``failed``, no snapshot metadata was added or lost, the domain state and every disk's guest data
are as before, no file and no internal tag is gone, and every new file or tag is named in the
failed result's message. A run whose fault the driver absorbed (accepted) must have done the whole
operation, as the model says.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from snaporacle.errors import BackendError
from snaporacle.fakes.faults import MUTATING_VERBS, Fault, FaultPlan, When
from snaporacle.fakes.images import FakeImageTool
from snaporacle.fakes.monitor import FakeLauncher
from snaporacle.model.modes import DomainColumn, Outcome
from snaporacle.model.ops import (
    CreateSnapshot,
    DefineDomain,
    DeleteSnapshot,
    Op,
    RevertSnapshot,
    StartDomain,
    WriteData,
)
from snaporacle.model.profile import ALL_CELLS, Accepted, Cell, Profile
from snaporacle.model.transition import apply
from snaporacle.model.world import Image, World, observe
from snaporacle.promise import lost_by_failure
from snaporacle.reference.driver import ReferenceDriver
from snaporacle.requests import cell_request, domain_spec

ROOT = "/snaporacle-faults"


@attrs.frozen
class Scenario:
    """Operations that set the scene, then the one whose every call is faulted."""

    name: str
    prefix: tuple[Op, ...]
    target: Op


@attrs.frozen
class Snapshot_:
    """Everything a faulted operation must not lose: what a user sees, files and tags."""

    observation: object
    files: frozenset[str]
    tags: frozenset[tuple[str, str]]


@attrs.define
class Tally:
    """What the sweep found."""

    positions: int = 0
    lost: list[str] = attrs.field(factory=list)
    unnamed: list[str] = attrs.field(factory=list)

    def summary(self) -> str:
        """The figure for the README."""
        return (
            f"{self.positions} fault positions tried, {len(self.lost)} with data lost, "
            f"{len(self.unnamed)} unnamed leftovers"
        )


def scenarios(profile: Profile) -> Iterator[Scenario]:
    """Create, revert and delete for every cell the profile accepts, on two disks."""
    domain = domain_spec(ROOT, 0, disks=2)
    targets = tuple(d.target for d in domain.disks)
    for cell in ALL_CELLS:
        if not isinstance(profile.verdict(cell), Accepted):
            continue
        scene: list[Op] = [DefineDomain(domain)]
        if cell.domain is DomainColumn.ONLINE:
            scene.append(StartDomain(domain.name))
        scene.append(WriteData(domain.name, targets[0], 1, 7))
        xml, flags = cell_request(cell, ROOT, "s1", targets)
        create = CreateSnapshot(domain.name, xml, flags)
        key = cell.key()
        yield Scenario(f"create {key}", tuple(scene), create)
        after = (*scene, create, WriteData(domain.name, targets[0], 1, 9))
        yield Scenario(f"revert {key}", after, RevertSnapshot(domain.name, "s1"))
        yield Scenario(f"delete {key}", after, DeleteSnapshot(domain.name, "s1"))


def _driver(profile: Profile, plan: FaultPlan) -> ReferenceDriver:
    images = FakeImageTool(ROOT, faults=plan)
    return ReferenceDriver(images, FakeLauncher(images, faults=plan), profile)


def _state(driver: ReferenceDriver) -> Snapshot_:
    images = driver.images
    files = frozenset(images.files())
    tags = frozenset(
        (path, tag)
        for path in files
        if path not in driver.memory_files and images.exists(path)
        for tag in _tags(driver, path)
    )
    return Snapshot_(driver.observe(), files, tags)


def _tags(driver: ReferenceDriver, path: str) -> tuple[str, ...]:
    try:
        return driver.images.snapshot_list(path)
    except Exception:  # a memory file or another non-image
        return ()


def _model_after(profile: Profile, ops: tuple[Op, ...]) -> World:
    world = World(root=ROOT)
    for op in ops:
        world, _ = apply(world, op, profile)
    return world


def _run(profile: Profile, scenario: Scenario, faults: tuple[Fault, ...]) -> tuple[
    ReferenceDriver, FaultPlan, int, Snapshot_, object
]:
    """Run the scene without faults, then the target with ``faults`` (counted from the start)."""
    plan = FaultPlan(faults=faults)
    driver = _driver(profile, plan)
    for op in scenario.prefix:
        result = driver.apply(op)
        assert result.outcome is Outcome.ACCEPTED, (scenario.name, op, result)
    before = _state(driver)
    mark = len(plan.drawn)
    result = driver.apply(scenario.target)
    return driver, plan, mark, before, result


def _promised(observation: object) -> object:
    """The part of an observation the promise keeps: each domain's snapshot records, current
    snapshot and guest data."""
    return tuple(
        (d.name, d.snapshots, d.current, tuple((disk.target, disk.data) for disk in d.disks))
        for d in observation.domains  # type: ignore[attr-defined]
    )


def _check(
    profile: Profile, scenario: Scenario, driver: ReferenceDriver, before: Snapshot_,
    result: object, label: str, tally: Tally, double: bool = False,
) -> None:
    assert hasattr(result, "outcome")
    try:
        after = _state(driver)
    except BackendError as err:
        tally.lost.append(f"{label}: the driver cannot even be observed: {err}")
        return
    message = getattr(result, "message", "")
    if result.outcome is Outcome.ACCEPTED:
        world = _model_after(profile, (*scenario.prefix, scenario.target))
        if _promised(after.observation) != _promised(observe(world)):
            tally.lost.append(f"{label}: accepted, but not done as the model says: {message}")
        expected_files = frozenset(world.files)
        for path in sorted(after.files - expected_files):
            if path not in message:
                tally.unnamed.append(f"{label}: file {path} left and not named: {message}")
        expected_tags = {
            (path, tag)
            for path, image in world.files.items()
            if isinstance(image, Image)
            for tag, _ in image.tags
        }
        for path, tag in sorted(after.tags - expected_tags):
            if path not in message or tag not in message:
                tally.unnamed.append(f"{label}: tag {tag} in {path} left and not named: {message}")
        return
    if result.outcome is not Outcome.FAILED:
        tally.lost.append(f"{label}: {result.outcome.value}, not failed: {message}")
    # a second fault may stop the rollback itself; then a changed disk must be named as such
    tally.lost += [f"{label}: {problem}: {message}" for problem in lost_by_failure(
        before.observation, after.observation, message, named_data=double  # type: ignore[arg-type]
    )]
    for path in sorted(before.files - after.files):
        if path not in message:  # a delete may fail part way, and say so
            tally.lost.append(f"{label}: file {path} gone: {message}")
    for path, tag in sorted(before.tags - after.tags):
        if path not in message or tag not in message:  # a delete may fail part way, and say so
            tally.lost.append(f"{label}: tag {tag} gone from {path}: {message}")
    for path in sorted(after.files - before.files):
        if path not in message:
            tally.unnamed.append(f"{label}: file {path} left and not named: {message}")
    for path, tag in sorted(after.tags - before.tags):
        if path not in message or tag not in message:
            tally.unnamed.append(f"{label}: tag {tag} in {path} left and not named: {message}")


def _positions(plan: FaultPlan, mark: int) -> list[tuple[str, str, int]]:
    return plan.drawn[mark:]


def _whens(verb: str) -> tuple[When, ...]:
    return (When.BEFORE, When.AFTER) if verb in MUTATING_VERBS else (When.BEFORE,)


def sweep(profile: Profile, second_faults: bool = True) -> Tally:
    """Fault every call position of every scenario; see the module docstring."""
    tally = Tally()
    for scenario in scenarios(profile):
        _, clean, mark, _, _ = _run(profile, scenario, ())
        for source, verb, count in _positions(clean, mark):
            for when in _whens(verb):
                first = Fault(verb, count, when, source)
                driver, plan, _, before, result = _run(profile, scenario, (first,))
                fired_at = plan.drawn.index((source, verb, count))
                later = plan.drawn[fired_at + 1:] if second_faults else []
                label = f"{scenario.name}: {when.value} {source}.{verb}#{count}"
                tally.positions += 1
                _check(profile, scenario, driver, before, result, label, tally)
                for source2, verb2, count2 in later:
                    for when2 in _whens(verb2):
                        second = Fault(verb2, count2, when2, source2)
                        driver2, _, _, before2, result2 = _run(profile, scenario, (first, second))
                        tally.positions += 1
                        _check(profile, scenario, driver2, before2, result2,
                               f"{label} + {when2.value} {source2}.{verb2}#{count2}", tally,
                               double=True)
    return tally


def accepted_cells(profile: Profile) -> list[Cell]:
    """The cells the sweep runs."""
    return [cell for cell in ALL_CELLS if isinstance(profile.verdict(cell), Accepted)]
