"""The profile recorder: run every cell of the table against an adapter and write down what happens.

For each of the 64 cells (:data:`~snaporacle.model.profile.ALL_CELLS`) the recorder builds the
request the cell names (``<memory>`` and ``<disks>`` as given or absent, DISK_ONLY on or off),
(:func:`snaporacle.requests.snapshot_xml`, external targets named under the root), puts a
one-disk domain in the cell's state and sends ``CreateSnapshot`` through ``adapter.apply``:

- **accepted**: the memory and disk modes and the ``<state>`` are read from the snapshot's XML
  (``DumpSnapshotXML``); the mechanisms from what changed in the observation: a new internal tag
  named after the snapshot means ``savevm`` (online) or ``qemu-img`` (offline), a longer chain
  means ``transaction`` (online) or ``qemu-img`` (offline), a new memory file means ``migrate``.
  An adapter that cannot observe images gets the mechanisms the modes imply, and the profile's
  provenance says so; so does a cell that was accepted yet changed nothing in the images
  (``unobserved`` in the provenance: a driver that records a snapshot it never took). The
  snapshot's metadata is then deleted so cells do not see each other.
- **rejected**: the outcome class, libvirt's error code and the message (the work directory
  written as ``ROOT``, so profiles from two machines compare).

Two domains serve all 64 cells (one shut off, one started once): starting and destroying QEMU
costs seconds, a snapshot milliseconds. The rules outside the table (mixed modes, nothing selected,
a partial ``no``) are measured on shut-off domains of their own, the capabilities (revert and
delete of internal and external snapshots) on the recording's two domains. The date is the caller's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import attrs

from .adapters.protocol import Adapter
from .errors import AdapterError
from .model.definition import DomainDisk, DomainSpec
from .model.modes import (
    Column,
    CreateFlag,
    DeleteFlag,
    DiskMode,
    DiskResult,
    DomainColumn,
    Mechanism,
    MemoryMode,
    Outcome,
    SnapshotState,
)
from .model.observation import Aspect, DomainObservation, Observation, canonical_image_path
from .model.ops import (
    CreateSnapshot,
    DefineDomain,
    DeleteSnapshot,
    DumpSnapshotXML,
    Op,
    Result,
    RevertSnapshot,
    StartDomain,
)
from .model.profile import ALL_CELLS, Accepted, Cell, CellEntry, Profile, ProfileCapabilities, Rejected
from .model.snapshot_xml_parse import read_document
from .requests import snapshot_xml

_OFFLINE, _ONLINE = "sweep-offline", "sweep-online"
_IMAGE_ASPECTS = frozenset({Aspect.CHAINS, Aspect.INTERNAL_TAGS, Aspect.MEMORY_FILES})


@runtime_checkable
class Describes(Protocol):
    """An adapter that can say where its measurements come from (driver, URI, versions)."""

    def describe(self) -> Mapping[str, str]:
        """Free-form provenance strings."""
        ...


def _spec(root: str, name: str, number: int, disks: Mapping[str, DiskMode | None]) -> DomainSpec:
    images: tuple[DomainDisk, ...] = tuple(
        DomainDisk(target, os.path.join(root, f"{name}-{target}.qcow2"), snapshot=mode)
        for target, mode in disks.items()
    )
    uuid = f"5eeb0000-0000-4000-8000-{number:012d}"
    return DomainSpec(name=name, uuid=uuid, disks=images)


def _request(root: str, snapshot: str, memory: Column, disks: dict[str, Column]) -> str:
    return snapshot_xml(root, snapshot, memory, disks, explicit_sources=True)


def recording_request(root: str, snapshot: str, cell: Cell) -> CreateSnapshot:
    """The ``CreateSnapshot`` for one cell on the recording's domain of the cell's state."""
    domain = _ONLINE if cell.domain is DomainColumn.ONLINE else _OFFLINE
    flags = CreateFlag.DISK_ONLY if cell.disk_only else CreateFlag(0)
    return CreateSnapshot(domain, _request(root, snapshot, cell.memory, {"vda": cell.disk}), flags)


class _Recording:
    """One recording session: the adapter, what it can see, and the last observation."""

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self.root = adapter.root
        self.observes = adapter.capabilities.aspects >= _IMAGE_ASPECTS
        self.last: Observation | None = None
        self.unobserved: list[str] = []

    def must(self, op: Op) -> Result:
        result = self.adapter.apply(op)
        if result.outcome is not Outcome.ACCEPTED:
            raise AdapterError(
                f"the recording's set-up step {op.kind} was refused: {result.error} {result.message}"
            )
        return result

    def forget(self, domain: str, snapshot: str) -> None:
        """Drop a snapshot's metadata, keeping its files (plain delete if the driver cannot)."""
        for flags in (DeleteFlag.METADATA_ONLY, DeleteFlag(0)):
            result = self.adapter.apply(DeleteSnapshot(domain, snapshot, flags))
            if result.outcome is Outcome.ACCEPTED:
                return
        raise AdapterError(f"snapshot {snapshot} of {domain} cannot be deleted; the recording needs to")

    def reason(self, message: str) -> str:
        return message.replace(self.root, "ROOT")

    def observe(self) -> Observation | None:
        return self.adapter.observe() if self.observes else None

    def prepare(self) -> None:
        self.adapter.reset()
        self.must(DefineDomain(_spec(self.root, _OFFLINE, 1, {"vda": None})))
        self.must(DefineDomain(_spec(self.root, _ONLINE, 2, {"vda": None})))
        self.must(StartDomain(_ONLINE))
        self.last = self.observe()

    def verdict(self, cell: Cell, index: int) -> Accepted | Rejected:
        snapshot = f"cell{index:02d}"
        op = recording_request(self.root, snapshot, cell)
        result = self.adapter.apply(op)
        if result.outcome is not Outcome.ACCEPTED:
            return Rejected(result.outcome, result.error, self.reason(result.message) or "refused")
        xml = self.must(DumpSnapshotXML(op.domain, snapshot)).value
        memory, modes, state = read_modes(str(xml), f"snapshot {snapshot}")
        if len(modes) != 1:
            raise AdapterError(f"{cell.key()}: the snapshot's disks have modes {modes}, not one")
        online = cell.domain is DomainColumn.ONLINE
        after = self.observe()
        mechanisms = self.changes(op.domain, snapshot, online, after)
        if not mechanisms:
            mechanisms = implied_mechanisms(memory, modes, online)
            if self.observes:
                self.unobserved.append(cell.key())
        self.forget(op.domain, snapshot)
        self.last = after
        if after is not None and online and _domain(after, _ONLINE).state == "shutoff":
            self.must(StartDomain(_ONLINE))
            self.last = self.observe()
        return Accepted(
            memory=memory,
            disk=DiskResult(modes.pop().value),
            mechanisms=mechanisms,
            state=state,
        )

    def changes(
        self, domain: str, snapshot: str, online: bool, after: Observation | None
    ) -> tuple[Mechanism, ...]:
        """The mechanisms the observed changes show, in the order libvirt runs them."""
        if after is None or self.last is None:
            return ()
        before, now = _domain(self.last, domain), _domain(after, domain)
        chains = {disk.target: len(disk.chain) for disk in before.disks}
        tagged = any(snapshot in image.internal_tags for disk in now.disks for image in disk.chain)
        grown = any(len(disk.chain) > chains.get(disk.target, 0) for disk in now.disks)
        found: list[Mechanism] = []
        if set(after.memory_files) - set(self.last.memory_files):
            found.append(Mechanism.MIGRATE)
        if tagged:
            found.append(Mechanism.SAVEVM if online else Mechanism.QEMU_IMG)
        if grown:
            found.append(Mechanism.TRANSACTION if online else Mechanism.QEMU_IMG)
        return tuple(dict.fromkeys(found))


def read_modes(xml: str, source: str) -> tuple[MemoryMode, set[DiskMode], SnapshotState]:
    """The memory mode, disk modes and ``<state>`` a driver reports in a snapshot's XML.

    Read as written, without libvirt's redefine checks: a driver under test may report a
    combination that those checks would refuse, and that is what the profile must record.
    """
    root = read_document(xml, source)
    try:
        element = root.find("memory")
        # libvirt 11.3 writes no <memory> for a snapshot that saved none (offline external)
        memory = MemoryMode(element.get("snapshot")) if element is not None else MemoryMode.NO
        disks = {DiskMode(disk.get("snapshot")) for disk in root.iterfind("disks/disk")}
        state = SnapshotState(root.findtext("state"))
    except (AttributeError, ValueError) as err:
        raise AdapterError(f"{source}: cannot read its memory, disk modes or state: {err}") from err
    return memory, disks, state


def _domain(observation: Observation, name: str) -> DomainObservation:
    for domain in observation.domains:
        if domain.name == name:
            return domain
    raise AdapterError(f"the adapter's observation has no domain {name!r}")


def implied_mechanisms(
    memory: MemoryMode, disks: set[DiskMode], online: bool
) -> tuple[Mechanism, ...]:
    """The mechanisms the modes imply, for an adapter that cannot show what changed."""
    found: list[Mechanism] = []
    if memory is MemoryMode.EXTERNAL:
        found.append(Mechanism.MIGRATE)
    if memory is MemoryMode.INTERNAL or (online and DiskMode.INTERNAL in disks):
        found.append(Mechanism.SAVEVM)
    elif DiskMode.INTERNAL in disks:
        found.append(Mechanism.QEMU_IMG)
    if DiskMode.EXTERNAL in disks:
        found.append(Mechanism.TRANSACTION if online else Mechanism.QEMU_IMG)
    return tuple(dict.fromkeys(found)) or (Mechanism.QEMU_IMG,)


def _rule(recording: _Recording, number: int, disks: dict[str, DiskMode | None],
          request: dict[str, Column], what: str) -> Rejected | None:
    """Create one offline snapshot on a domain of its own: the refusal, or None if accepted."""
    name = f"sweep-rule{number}"
    recording.must(DefineDomain(_spec(recording.root, name, 10 + number, disks)))
    result = recording.adapter.apply(
        CreateSnapshot(name, _request(recording.root, f"rule{number}", Column.OMIT, request))
    )
    if result.outcome is Outcome.ACCEPTED:
        return None
    reason = recording.reason(result.message) or what
    return Rejected(result.outcome, result.error, reason)


def _rules(
    recording: _Recording, reference: Profile | None
) -> tuple[Rejected, Rejected, Rejected | None, list[str]]:
    """The mixed, nothing and partial-``no`` rules, and notes on rules the driver accepted."""
    two: dict[str, DiskMode | None] = {"vda": None, "vdb": None}
    mixed = _rule(recording, 1, two, {"vda": Column.INTERNAL, "vdb": Column.EXTERNAL}, "mixed")
    nothing = _rule(recording, 2, {"vda": DiskMode.NO}, {}, "nothing selected")
    partial = _rule(recording, 3, two, {"vda": Column.NO, "vdb": Column.INTERNAL}, "partial no")
    accepted = [rule for rule, found in (("mixed", mixed), ("nothing", nothing)) if found is None]
    if accepted and reference is None:
        raise AdapterError(
            f"the adapter accepted the snapshot of rule(s) {', '.join(accepted)}, which a profile "
            "cannot record: give a reference profile whose rules stand in"
        )
    notes = [f"{rule}: accepted by the driver; {reference.name}'s rule stands in"
             for rule in accepted if reference is not None]
    if reference is not None:
        mixed, nothing = mixed or reference.mixed, nothing or reference.nothing
    assert mixed is not None and nothing is not None
    return mixed, nothing, partial, notes


def _capabilities(recording: _Recording) -> ProfileCapabilities:
    """Revert and delete of an internal snapshot (shut off) and an external one (running).

    The internal one is taken of the shut-off domain (``qemu-img``: reverting a running domain
    may restart QEMU, seconds). The external one is a full checkpoint of the running domain
    (memory and disks external): a disk-only snapshot of a running domain has the
    ``disk-snapshot`` state (measured last, :func:`_reverts_disk_only`), and deleting an
    external snapshot of a shut-off domain starts a QEMU process to commit it. The name of the
    overlay the external revert put the disk on tells ``revert_overlay``.
    """
    found: dict[str, bool] = {}
    overlay = "numbered"
    for kind, domain, memory in (
        ("internal", _OFFLINE, Column.OMIT),
        ("external", _ONLINE, Column.EXTERNAL),
    ):
        snapshot = f"caps-{kind}"
        xml = _request(recording.root, snapshot, memory, {})
        ok = recording.adapter.apply(CreateSnapshot(domain, xml)).outcome is Outcome.ACCEPTED
        revert = ok and recording.adapter.apply(RevertSnapshot(domain, snapshot)).outcome
        found[f"revert_{kind}"] = revert is Outcome.ACCEPTED
        if kind == "external" and revert is Outcome.ACCEPTED:
            overlay = _revert_overlay_naming(recording)
        delete = ok and recording.adapter.apply(DeleteSnapshot(domain, snapshot)).outcome
        found[f"delete_{kind}"] = delete is Outcome.ACCEPTED
        if ok and not found[f"delete_{kind}"]:
            recording.forget(domain, snapshot)
    for key, domain in (("non_leaf", _ONLINE), ("offline_chain", _OFFLINE)):
        found[f"delete_external_{key}"] = found["delete_external"] and _deletes_non_leaf(
            recording, domain
        )
    found["revert_disk_only"] = _reverts_disk_only(recording)
    return ProfileCapabilities(**found, revert_overlay=overlay)


def _online_internal_mechanism(recording: _Recording) -> Mechanism:
    """How the running domain's internal snapshots are taken, told by what a second one of a
    name whose tag is still in the image does: HMP ``savevm`` replaces the tag, QMP
    ``snapshot-save`` (libvirt 11.3) fails with "already exists"."""
    name = "caps-tag"
    request = CreateSnapshot(_ONLINE, _request(recording.root, name, Column.INTERNAL, {}))
    if recording.adapter.apply(request).outcome is not Outcome.ACCEPTED:
        return Mechanism.SAVEVM
    recording.forget(_ONLINE, name)
    again = recording.adapter.apply(request)
    if again.outcome is Outcome.ACCEPTED:
        recording.forget(_ONLINE, name)
        return Mechanism.SAVEVM
    return Mechanism.SNAPSHOT_SAVE if "already exists" in again.message else Mechanism.SAVEVM


def _snapshot_save(entry: CellEntry) -> CellEntry:
    verdict = entry.verdict
    if not isinstance(verdict, Accepted) or Mechanism.SAVEVM not in verdict.mechanisms:
        return entry
    mechanisms = tuple(
        Mechanism.SNAPSHOT_SAVE if m is Mechanism.SAVEVM else m for m in verdict.mechanisms
    )
    return attrs.evolve(entry, verdict=attrs.evolve(verdict, mechanisms=mechanisms))


def _deletes_non_leaf(recording: _Recording, domain: str) -> bool:
    """Whether an external snapshot with one external child can be deleted: two DISK_ONLY
    external snapshots of ``domain`` (the running one, then the shut-off one), one on the
    other, and the first deleted."""
    names = (f"caps-non-leaf-{domain}-1", f"caps-non-leaf-{domain}-2")
    taken = []
    for name in names:
        xml = _request(recording.root, name, Column.NO, {"vda": Column.EXTERNAL})
        request = CreateSnapshot(domain, xml, CreateFlag.DISK_ONLY)
        if recording.adapter.apply(request).outcome is not Outcome.ACCEPTED:
            break
        taken.append(name)
    deleted = len(taken) == 2 and (
        recording.adapter.apply(DeleteSnapshot(domain, names[0])).outcome is Outcome.ACCEPTED
    )
    for name in reversed(taken):
        if name != names[0] or not deleted:
            recording.forget(domain, name)
    return deleted


def _revert_overlay_naming(recording: _Recording) -> str:
    """``by-second`` when the running domain's disk now sits on an overlay named by the second
    (libvirt 11.3), else ``numbered`` (also when the adapter cannot see images)."""
    observation = recording.observe()
    if observation is None:
        return "numbered"
    for disk in _domain(observation, _ONLINE).disks:
        if disk.chain and canonical_image_path(disk.chain[0].path) != disk.chain[0].path:
            return "by-second"
    return "numbered"


def _reverts_disk_only(recording: _Recording) -> bool:
    """Whether a running domain's DISK_ONLY snapshot (state ``disk-snapshot``) can be reverted
    to. Measured last: a revert that is performed shuts the domain off."""
    snapshot = "caps-disk-only"
    xml = _request(recording.root, snapshot, Column.OMIT, {})
    created = recording.adapter.apply(CreateSnapshot(_ONLINE, xml, CreateFlag.DISK_ONLY))
    if created.outcome is not Outcome.ACCEPTED:
        return False
    reverted = recording.adapter.apply(RevertSnapshot(_ONLINE, snapshot)).outcome is Outcome.ACCEPTED
    recording.forget(_ONLINE, snapshot)
    return reverted


def record_profile(
    adapter: Adapter,
    *,
    name: str,
    date: str,
    description: str | None = None,
    reference: Profile | None = None,
) -> Profile:
    """Measure all 64 cells, the rules and the capabilities of ``adapter`` as a profile.

    ``date`` goes into the provenance as given. ``reference`` (usually ``plan-1.0.1``) lends
    each cell its plan row number, and its rules stand in for a rule the driver does not refuse
    (the provenance then says so). The adapter is reset first; its domains stay afterwards
    (``reset`` or ``close`` it), and on an error it is reset.
    """
    recording = _Recording(adapter)
    recording.prepare()
    try:
        entries = tuple(
            CellEntry(
                cell,
                recording.verdict(cell, index),
                reference.entry(cell).row if reference else None,
            )
            for index, cell in enumerate(ALL_CELLS)
        )
        if _online_internal_mechanism(recording) is Mechanism.SNAPSHOT_SAVE:
            entries = tuple(_snapshot_save(entry) for entry in entries)
        mixed, nothing, partial_no, notes = _rules(recording, reference)
        capabilities = _capabilities(recording)
    except BaseException:
        adapter.reset()
        raise
    provenance: dict[str, str] = {"date": date}
    if isinstance(adapter, Describes):
        provenance.update(adapter.describe())
    provenance["method"] = "snaporacle profile record (snaporacle.recorder)"
    provenance["mechanisms"] = (
        "observed: new internal tags, longer chains, new memory files"
        if recording.observes
        else "implied by the snapshot XML's modes: the adapter cannot observe images"
    )
    if recording.unobserved:
        provenance["unobserved"] = (
            "accepted, yet nothing changed in the images (mechanisms implied by the modes): "
            + ", ".join(recording.unobserved)
        )
    provenance["rules"] = (
        "offline, no flags: vda internal + vdb external (mixed); vda snapshot='no' in the domain "
        "(nothing); vda no + vdb internal (partial_no)" + "".join(f"; {n}" for n in notes)
    )
    provenance["capabilities"] = (
        "revert and delete of a shut-off domain's internal snapshot and of a running domain's "
        "external checkpoint (memory and disks external); delete of an external DISK_ONLY snapshot "
        "with one external child, running (delete_external_non_leaf) and shut off "
        "(delete_external_offline_chain); revert to a running domain's "
        "DISK_ONLY snapshot (revert_disk_only); savevm or snapshot-save: a running domain's "
        "second internal checkpoint of a name whose tag is still in its image (snapshot-save "
        "fails, savevm replaces the tag)"
    )
    return Profile(
        name=name,
        description=description or f"measured against the {adapter.name} adapter",
        entries=entries,
        capabilities=capabilities,
        mixed=mixed,
        nothing=nothing,
        partial_no=partial_no,
        provenance=tuple(provenance.items()),
    )
