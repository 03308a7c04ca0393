"""Plans: what one operation will do, decided once, before anything is done.

:func:`snaporacle.model.prepare.prepare` looks at a :class:`View` (the domain records and the
images as they stand) and turns an operation into one of the plans below, or a :class:`Refusal`.
Every libvirt rule, and the order libvirt checks them in, lives in that one function; three
consumers interpret the plan and none of them decides again:

- the model's transition (:mod:`snaporacle.model.transition`), with the effects on the world;
- the reference driver (:mod:`snaporacle.reference.driver`), with the effects on its backends
  (and the rollback when a backend fails part way);
- the lockstep, which reads the table cell a create reached from the plan or the refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import attrs

from .definition import DomainSpec
from .modes import DomainState, SnapshotState
from .ops import Result
from .profile import Accepted, Cell
from .world import Domain, Image, Snapshot, SnapshotDisk, World


class View(Protocol):
    """What planning may look at: the domains' records and the images on disk."""

    @property
    def clock(self) -> int:
        """The count of snapshots created so far (the name and creation time of the next)."""
        ...

    def domain(self, name: str) -> Domain | None:
        """The domain called ``name`` (its definition, state, images and snapshot tree)."""
        ...

    def exists(self, path: str) -> bool:
        """Whether a file (image or memory state) exists at ``path``."""
        ...

    def format_of(self, path: str) -> str:
        """The format (``qcow2``, ``raw``) of the image at ``path``."""
        ...

    def has_tag(self, path: str, name: str) -> bool:
        """Whether the image at ``path`` holds an internal snapshot called ``name``."""
        ...

    def chain(self, path: str) -> tuple[str, ...]:
        """The image at ``path`` and its backing images, top first."""
        ...


@attrs.frozen
class Refusal:
    """The operation is refused and nothing happens.

    ``cell`` is the table cell a create reached before it was refused (``None`` when a rule
    before the table refused it); ``by_table`` is true when the cell's own verdict refused it.
    ``rule`` names the check that refused it (``flags``, ``xml``, ``table``, ``disk``...).
    """

    result: Result
    rule: str
    cell: Cell | None = None
    by_table: bool = False


@attrs.frozen
class DefinePlan:
    """Define a domain with fresh, empty images."""

    spec: DomainSpec


@attrs.frozen
class LifecyclePlan:
    """Start, pause, resume or destroy a domain: its state before and after."""

    domain: str
    before: DomainState
    after: DomainState


@attrs.frozen
class WritePlan:
    """Write one block of a disk's active image with a pattern."""

    domain: str
    disk: str
    path: str
    block: int
    pattern: int


@attrs.frozen
class WriteMemoryPlan:
    """Write one block of a running or paused domain's RAM with a pattern."""

    domain: str
    block: int
    pattern: int


@attrs.frozen
class AnswerPlan:
    """A query answered from the records: list, current, dumpxml."""

    value: str | tuple[str, ...] | None


@attrs.frozen
class TakePlan:
    """Take a new snapshot.

    ``disks`` is the per-disk plan (for external disks the frozen image and the overlay);
    ``memory_file`` the file an external memory state goes to; ``record`` the snapshot record
    to add (``None`` with NO_METADATA). ``online`` is whether the domain runs (or is paused);
    ``halt`` whether it is stopped afterwards; ``live`` whether the guest keeps running while
    its memory is saved. ``released`` is the current snapshot's record without the revert
    overlays it had (:func:`~snaporacle.model.prepare.released_current`), or ``None``.
    """

    domain: str
    name: str
    cell: Cell | None
    verdict: Accepted
    state: SnapshotState
    disks: tuple[SnapshotDisk, ...]
    memory_file: str | None
    online: bool
    halt: bool
    live: bool
    record: Snapshot | None
    released: Snapshot | None = None


@attrs.frozen
class RedefinePlan:
    """Add or update a snapshot record only (REDEFINE): no data is saved. ``released`` as for
    :class:`TakePlan` (with ``make_current``)."""

    domain: str
    record: Snapshot
    make_current: bool
    released: Snapshot | None = None


@attrs.frozen
class Overlay:
    """A new overlay a revert puts on a frozen image of an external snapshot."""

    target: str
    frozen: str
    path: str


@attrs.frozen
class RevertPlan:
    """Revert a domain to a snapshot.

    ``images`` are the disks' images once the domain is back on the snapshot's definition
    (before the new overlays); ``internal`` the (target, image) pairs whose tag is applied;
    ``overlays`` the new overlays on external snapshots' frozen images; ``target`` the domain
    state afterwards. A revert that names its overlays by the second (libvirt 11.3) also
    ``removed`` the overlays the domain leaves, rewrites the snapshot ``records`` and ``ticks``
    the clock (the next "second").
    """

    domain: str
    snapshot: Snapshot
    target: DomainState
    images: Mapping[str, str]
    internal: tuple[tuple[str, str], ...]
    overlays: tuple[Overlay, ...]
    removed: tuple[str, ...] = ()
    records: Mapping[str, Snapshot] | None = None
    ticks: bool = False


@attrs.frozen
class Commit:
    """An external disk's overlay merged into its frozen image, then removed.

    ``above`` is the image whose backing the overlay is (an intermediate commit: that image is
    put onto the frozen one), or ``None`` when the overlay is the disk's active image (an active
    commit: the disk goes back onto the frozen image).
    """

    target: str
    overlay: str
    frozen: str
    above: str | None = None


@attrs.frozen
class Discard:
    """The data of one deleted snapshot: its tags, its overlays and its memory file."""

    name: str
    tagged: tuple[str, ...]
    commits: tuple[Commit, ...]
    memory_file: str | None
    #: images removed outright: the frozen images of a leaf external snapshot that is not the
    #: current one (libvirt 11.3: nothing was written on them since)
    unlinked: tuple[str, ...] = ()


@attrs.frozen
class DeletePlan:
    """Delete snapshots: ``victims`` (children before parents) lose their records, and unless
    it is metadata only, ``discards`` say what data goes with them. ``records`` are the snapshot
    records to forget the victims from (the children of a merged external snapshot name the image
    it was merged into; a parent's revert overlays became its disks).
    """

    domain: str
    victims: tuple[str, ...]
    discards: tuple[Discard, ...]
    records: Mapping[str, Snapshot]


Plan = (
    DefinePlan
    | LifecyclePlan
    | WritePlan
    | WriteMemoryPlan
    | AnswerPlan
    | TakePlan
    | RedefinePlan
    | RevertPlan
    | DeletePlan
)


def cell_reached(plan: Plan | Refusal) -> Cell | None:
    """The table cell a create request reached, accepted or refused."""
    if isinstance(plan, (TakePlan, Refusal)):
        return plan.cell
    return None


@attrs.frozen
class WorldView:
    """A :class:`View` of a model world."""

    world: World

    @property
    def clock(self) -> int:
        return self.world.clock

    def domain(self, name: str) -> Domain | None:
        return self.world.domains.get(name)

    def exists(self, path: str) -> bool:
        return path in self.world.files

    def format_of(self, path: str) -> str:
        return self.world.image(path).format

    def has_tag(self, path: str, name: str) -> bool:
        found = self.world.files.get(path)
        return isinstance(found, Image) and found.tag(name) is not None

    def chain(self, path: str) -> tuple[str, ...]:
        out = [path]
        found = self.world.files.get(path)
        while isinstance(found, Image) and found.backing is not None and found.backing not in out:
            out.append(found.backing)
            found = self.world.files.get(found.backing)
        return tuple(out)
