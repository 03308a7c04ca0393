"""What a user of a driver can see, as values both the model and every adapter produce.

Paths are relative to the adapter's work directory (the world's ``root``), so observations of two
different sandboxes compare equal. An adapter declares the :class:`Aspect` set it can observe;
:func:`compare` looks only at the aspects both sides have and names every difference.
"""

from __future__ import annotations

import enum
import re
from typing import Any

import attrs


class Aspect(enum.Enum):
    """One observable part of the world."""

    OUTCOME = "outcome"
    SNAPSHOT_XML = "snapshot_xml"
    DOMAIN_STATE = "domain_state"
    TREE = "tree"
    CHAINS = "chains"
    INTERNAL_TAGS = "internal_tags"
    GUEST_DATA = "guest_data"
    MEMORY_FILES = "memory_files"
    GUEST_MEMORY = "guest_memory"


ALL_ASPECTS = frozenset(Aspect)


@attrs.frozen
class ImageObservation:
    """One image of a disk's chain: its path, format and internal snapshot tags (sorted)."""

    path: str
    format: str
    internal_tags: tuple[str, ...] = ()


@attrs.frozen
class DiskObservation:
    """A disk: its chain from the active image down to the base, and guest-visible data.

    ``data`` is the pattern of each block (0 = never written).
    """

    target: str
    chain: tuple[ImageObservation, ...]
    data: tuple[int, ...]


@attrs.frozen
class SnapshotObservation:
    """A snapshot as the driver reports it (name, parent, state, memory mode and file, disks)."""

    name: str
    parent: str | None
    state: str
    memory: str
    memory_file: str | None
    disks: tuple[tuple[str, str], ...]


@attrs.frozen
class DomainObservation:
    """A domain: state, current snapshot, snapshots (sorted by name) and disks.

    ``memory`` is the pattern of each guest RAM block (:mod:`snaporacle.model.memory`) of a
    running or paused domain, ``None`` when it is shut off (or its RAM is not observed).
    """

    name: str
    state: str
    current: str | None
    snapshots: tuple[SnapshotObservation, ...]
    disks: tuple[DiskObservation, ...]
    memory: tuple[int, ...] | None = None


@attrs.frozen
class Observation:
    """Everything observable, for all domains, plus the memory image files that exist."""

    domains: tuple[DomainObservation, ...]
    memory_files: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return attrs.asdict(self, retain_collection_types=False)


_SECOND_SUFFIX = re.compile(r"\.\d{10}$")


def canonical_image_path(path: str) -> str:
    """``path`` with a trailing ten-digit second written ``.<second>``: libvirt 11.3 names a
    revert's overlays by the second (:mod:`.revert_by_second`), which no model can predict."""
    return _SECOND_SUFFIX.sub(".<second>", path)


def _domain_view(domain: DomainObservation, aspects: frozenset[Aspect]) -> dict[str, Any]:
    view: dict[str, Any] = {"name": domain.name}
    if Aspect.DOMAIN_STATE in aspects:
        view["state"] = domain.state
    if Aspect.TREE in aspects:
        view["current"] = domain.current
        view["snapshots"] = [attrs.asdict(s) for s in domain.snapshots]
    disks = []
    for disk in domain.disks:
        entry: dict[str, Any] = {"target": disk.target}
        if Aspect.CHAINS in aspects:
            entry["chain"] = [(canonical_image_path(i.path), i.format) for i in disk.chain]
        if Aspect.INTERNAL_TAGS in aspects:
            entry["tags"] = [(canonical_image_path(i.path), i.internal_tags) for i in disk.chain]
        if Aspect.GUEST_DATA in aspects:
            entry["data"] = list(disk.data)
        disks.append(entry)
    view["disks"] = disks
    if Aspect.GUEST_MEMORY in aspects:
        view["memory"] = None if domain.memory is None else list(domain.memory)
    return view


def view(observation: Observation, aspects: frozenset[Aspect]) -> dict[str, Any]:
    """The part of an observation that the given aspects cover, as plain data."""
    data: dict[str, Any] = {
        "domains": [_domain_view(d, aspects) for d in observation.domains],
    }
    if Aspect.MEMORY_FILES in aspects:
        data["memory_files"] = list(observation.memory_files)
    return data


def _diff(expected: Any, actual: Any, path: str, out: list[str]) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual), key=str):
            _diff(expected.get(key), actual.get(key), f"{path}.{key}", out)
    elif (
        isinstance(expected, list)
        and isinstance(actual, list)
        and len(expected) == len(actual)
        and all(isinstance(e, dict) for e in expected)
    ):
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            _diff(e, a, f"{path}[{index}]", out)
    elif expected != actual:
        out.append(f"{path.lstrip('.')}: expected {expected!r}, actual {actual!r}")


def compare(expected: Observation, actual: Observation, aspects: frozenset[Aspect]) -> list[str]:
    """Every difference between two observations within ``aspects``, one line each."""
    if expected == actual:  # the usual case, without building the views
        return []
    want, got = view(expected, aspects), view(actual, aspects)
    out: list[str] = []
    if want != got:
        _diff(want, got, "", out)
    return out
