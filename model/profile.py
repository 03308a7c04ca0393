"""Spec profiles: the snapshot table as data, one TOML document per profile.

A profile has the 64 cells of the table (domain x memory x disk x DISK_ONLY), each with a verdict,
plus the rules for what the table does not cover (several disks mixing modes, a disk left out of an
internal snapshot) and the profile's capabilities (which reverts and deletes it supports).

The format, one ``[[cells]]`` table per cell::

    name = "plan-1.0.1"
    description = "..."
    [provenance]              # free-form strings: where the profile comes from
    [capabilities]            # revert_internal, revert_external, delete_internal, delete_external,
                              # optional (default false): revert_disk_only,
                              # delete_external_non_leaf, delete_external_offline_chain;
                              # revert_overlay: "numbered" (the default) or "by-second"
    [rules.mixed]             # outcome, error, reason: internal and external disks together
    [rules.nothing]           # outcome, error, reason: every disk resolved to 'no', no memory
    [rules.partial_no]        # optional: an internal snapshot leaving a disk out (libvirt-current)
    [[cells]]
    domain = "offline"        # offline | online
    memory = "omit"           # omit | no | internal | external
    disk = "omit"             # omit | no | internal | external
    disk_only = false
    outcome = "accepted"      # accepted | invalid | unsupported
    memory_result = "no"      # accepted only: no | internal | external
    disk_result = "internal"  # accepted only: no | internal | external | default
    mechanism = ["qemu-img"]  # accepted only, in order
    state = "shutoff"         # accepted only: the snapshot's <state>
    row = 1                   # the plan row, optional
    error = "VIR_ERR_..."     # rejected only, optional
    reason = "..."            # rejected: required

This module is pure: :func:`parse_profile` takes the text; reading files is the caller's job.
"""

from __future__ import annotations

import enum
import itertools
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

import attrs
import tomli_w

from .errors import ProfileError
from .modes import Column, DiskResult, DomainColumn, Mechanism, MemoryMode, Outcome, SnapshotState


@attrs.frozen(order=True)
class Cell:
    """One cell of the table: the domain state column, memory and disk as given, DISK_ONLY."""

    domain: DomainColumn = attrs.field(validator=attrs.validators.instance_of(DomainColumn))
    memory: Column = attrs.field(validator=attrs.validators.instance_of(Column))
    disk: Column = attrs.field(validator=attrs.validators.instance_of(Column))
    disk_only: bool = attrs.field(validator=attrs.validators.instance_of(bool))

    def key(self) -> str:
        """A short, stable label: ``online/memory=external/disk=omit/disk-only``."""
        flag = "disk-only" if self.disk_only else "no-flag"
        return f"{self.domain.value}/memory={self.memory.value}/disk={self.disk.value}/{flag}"

    def as_json(self) -> dict[str, Any]:
        """The cell's keys as in ``snaporacle table --format json``."""
        return {
            "domain": self.domain.value,
            "memory": self.memory.value,
            "disk": self.disk.value,
            "disk_only": self.disk_only,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cell:
        """The inverse of :meth:`as_json`; raises ``ValueError`` on an unknown value."""
        if not isinstance(data.get("disk_only"), bool):
            raise ValueError(f"disk_only must be true or false, not {data.get('disk_only')!r}")
        return cls(
            DomainColumn(data.get("domain")),
            Column(data.get("memory")),
            Column(data.get("disk")),
            data["disk_only"],
        )


def parse_cell_key(key: str) -> Cell:
    """The cell of a :meth:`Cell.key` label such as ``online/memory=external/disk=omit/no-flag``.

    Raises :class:`ProfileError` naming the label and the valid form.
    """
    form = "DOMAIN/memory=M/disk=D/disk-only|no-flag"
    parts = key.split("/")
    try:
        domain, memory, disk, flag = parts
        if not memory.startswith("memory=") or not disk.startswith("disk="):
            raise ValueError(key)
        if flag not in ("disk-only", "no-flag"):
            raise ValueError(flag)
        return Cell(
            DomainColumn(domain),
            Column(memory.removeprefix("memory=")),
            Column(disk.removeprefix("disk=")),
            flag == "disk-only",
        )
    except ValueError:
        raise ProfileError(f"not a cell: {key!r}; write {form}") from None


#: The 64 cells in table order: domain, memory, disk, then DISK_ONLY off before on.
ALL_CELLS: tuple[Cell, ...] = tuple(
    Cell(domain, memory, disk, disk_only)
    for domain, memory, disk, disk_only in itertools.product(
        DomainColumn, Column, Column, (False, True)
    )
)


def _mechanisms(values: Iterable[Mechanism]) -> tuple[Mechanism, ...]:
    return tuple(values)


def _entries(values: Iterable[CellEntry]) -> tuple[CellEntry, ...]:
    return tuple(values)


@attrs.frozen
class Accepted:
    """The request is carried out: with this memory mode, these disks, these mechanisms."""

    memory: MemoryMode
    disk: DiskResult
    mechanisms: tuple[Mechanism, ...] = attrs.field(converter=_mechanisms)
    state: SnapshotState

    @property
    def outcome(self) -> Outcome:
        """Always :attr:`Outcome.ACCEPTED`."""
        return Outcome.ACCEPTED


@attrs.frozen
class Rejected:
    """The request is refused: invalid or unsupported, with libvirt's error code and a reason."""

    outcome: Outcome = attrs.field(
        validator=attrs.validators.in_((Outcome.INVALID, Outcome.UNSUPPORTED))
    )
    error: str | None
    reason: str


Verdict = Accepted | Rejected


@attrs.frozen
class CellEntry:
    """A cell with its verdict and, for the 2012 plan, its row number."""

    cell: Cell
    verdict: Verdict
    row: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The object ``snaporacle table --format json`` prints for this cell."""
        verdict = self.verdict
        data = self.cell.as_json()
        data["outcome"] = verdict.outcome.value
        if isinstance(verdict, Accepted):
            data.update(
                memory_result=verdict.memory.value,
                disk_result=verdict.disk.value,
                mechanism=[m.value for m in verdict.mechanisms],
                row=self.row,
                error=None,
                reason=None,
            )
        else:
            data.update(
                memory_result=None,
                disk_result=None,
                mechanism=[],
                row=self.row,
                error=verdict.error,
                reason=verdict.reason,
            )
        return data


@attrs.frozen
class ProfileCapabilities:
    """What a profile supports beyond create: reverts and deletes by snapshot kind."""

    revert_internal: bool = True
    revert_external: bool = False
    delete_internal: bool = True
    delete_external: bool = False
    #: revert to a snapshot whose state is ``disk-snapshot`` (a running domain's DISK_ONLY one):
    #: refused up to libvirt 9.x, performed by 11.3 (the domain ends up shut off)
    revert_disk_only: bool = False
    #: the overlays of a revert to an external snapshot: "numbered" (FROZEN.revertN, nothing
    #: removed) or "by-second" (libvirt 11.3; see :mod:`.revert_by_second`)
    revert_overlay: str = attrs.field(
        default="numbered", validator=attrs.validators.in_(("numbered", "by-second"))
    )
    #: delete an external snapshot that has one child (its overlay is committed into the image
    #: below and the child's overlay put onto that image) and remove a leaf one that is not the
    #: current snapshot (its frozen images are unlinked): libvirt 11.3. Up to 9.x every non-leaf
    #: external snapshot, and every one whose overlay is not the disk's active image, is refused.
    delete_external_non_leaf: bool = False
    #: with ``delete_external_non_leaf``, a shut-off domain's overlays below the active image are
    #: found too (libvirt 11.3 starts QEMU to look); libvirt 9.0 looks only at the active image of
    #: a shut-off domain and refuses the rest ("could not find base disk source")
    delete_external_offline_chain: bool = False


@attrs.frozen
class Profile:
    """A complete spec profile: 64 cell entries, capabilities, rules and provenance."""

    name: str
    description: str
    entries: tuple[CellEntry, ...] = attrs.field(converter=_entries)
    capabilities: ProfileCapabilities
    mixed: Rejected
    nothing: Rejected
    partial_no: Rejected | None = None
    provenance: tuple[tuple[str, str], ...] = ()
    _index: dict[Cell, CellEntry] = attrs.field(init=False, eq=False, repr=False)
    _across_disks: dict[tuple[DomainColumn, Column, bool], Verdict | None] = attrs.field(
        init=False, eq=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_index", {entry.cell: entry for entry in self.entries})
        across: dict[tuple[DomainColumn, Column, bool], list[Verdict]] = {}
        for entry in self.entries:
            cell = entry.cell
            across.setdefault((cell.domain, cell.memory, cell.disk_only), []).append(entry.verdict)
        object.__setattr__(self, "_across_disks", {
            key: verdicts[0] if all(v == verdicts[0] for v in verdicts) else None
            for key, verdicts in across.items()
        })

    def entry(self, cell: Cell) -> CellEntry:
        """The entry of one cell (every profile has all 64)."""
        return self._index[cell]

    def verdict(self, cell: Cell) -> Verdict:
        """The verdict of one cell."""
        return self._index[cell].verdict

    def verdict_across_disks(
        self, domain: DomainColumn, memory: Column, disk_only: bool
    ) -> Verdict | None:
        """The verdict every disk column of a row shares, or ``None`` when they differ."""
        return self._across_disks[(domain, memory, disk_only)]

    def __iter__(self) -> Iterator[CellEntry]:
        return iter(self.entries)


def same_verdict(a: Verdict | None, b: Verdict | None, reasons: bool = False) -> bool:
    """Whether two verdicts agree: outcome, modes, mechanisms and state, or outcome and error
    code (a code only one side knows does not count); ``reasons`` compares messages too."""
    if isinstance(a, Rejected) and isinstance(b, Rejected):
        codes = a.error is None or b.error is None or a.error == b.error
        return a.outcome is b.outcome and codes and (not reasons or a.reason == b.reason)
    return a == b


def differing_cells(
    a: Profile, b: Profile, reasons: bool = False
) -> list[tuple[CellEntry, CellEntry]]:
    """The cells where two profiles disagree (:func:`same_verdict`), in table order."""
    return [
        (entry, b.entry(entry.cell))
        for entry in a
        if not same_verdict(entry.verdict, b.verdict(entry.cell), reasons)
    ]


_KEYS_ACCEPTED = {"memory_result", "disk_result", "mechanism", "state"}
_KEYS_REJECTED = {"error", "reason"}
_KEYS_CELL = {"domain", "memory", "disk", "disk_only", "outcome", "row"}


_E = TypeVar("_E", bound=enum.Enum)


def _enum_value(kind: type[_E], value: object, what: str, where: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        valid = ", ".join(repr(m.value) for m in kind)
        raise ProfileError(f"{where}: unknown {what} {value!r}; valid: {valid}") from None


def _rejected(data: Any, where: str) -> Rejected:
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: expected a table with outcome, error and reason")
    outcome = _enum_value(Outcome, data.get("outcome"), "outcome", where)
    if outcome is Outcome.ACCEPTED:
        raise ProfileError(f"{where}: a rule must reject ('invalid' or 'unsupported')")
    reason = data.get("reason")
    error = data.get("error")
    if not isinstance(reason, str) or not reason:
        raise ProfileError(f"{where}: a rejection needs a non-empty 'reason' string")
    if error is not None and not isinstance(error, str):
        raise ProfileError(f"{where}: 'error' must be a libvirt error code name (VIR_ERR_...)")
    return Rejected(outcome, error, reason)


def _given_cell(data: Mapping[str, Any]) -> str:
    """The cell as a ``[[cells]]`` table gives it, in :meth:`Cell.key` form, valid or not."""
    flag = data.get("disk_only")
    label = {True: "disk-only", False: "no-flag"}[flag] if isinstance(flag, bool) else f"{flag!r}"
    return f"{data.get('domain')}/memory={data.get('memory')}/disk={data.get('disk')}/{label}"


def _parse_entry(data: Any, where: str) -> CellEntry:
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: each [[cells]] entry must be a table")
    where = f"{where} (cell {_given_cell(data)})"
    known = _KEYS_CELL | _KEYS_ACCEPTED | _KEYS_REJECTED
    unknown = set(data) - known
    if unknown:
        valid = ", ".join(sorted(known))
        raise ProfileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; valid: {valid}")
    if not isinstance(data.get("disk_only"), bool):
        raise ProfileError(f"{where}: 'disk_only' must be true or false")
    cell = Cell(
        _enum_value(DomainColumn, data.get("domain"), "domain", where),
        _enum_value(Column, data.get("memory"), "memory", where),
        _enum_value(Column, data.get("disk"), "disk", where),
        data["disk_only"],
    )
    row = data.get("row")
    if row is not None and (not isinstance(row, int) or isinstance(row, bool)):
        raise ProfileError(f"{where}: 'row' must be a whole number")
    outcome = _enum_value(Outcome, data.get("outcome"), "outcome", where)
    if outcome is not Outcome.ACCEPTED:
        stray = _KEYS_ACCEPTED & set(data)
        if stray:
            raise ProfileError(f"{where}: a rejected cell has no {', '.join(sorted(stray))}")
        return CellEntry(cell, _rejected(data, where), row)
    stray = _KEYS_REJECTED & set(data)
    if stray:
        raise ProfileError(f"{where}: an accepted cell has no {', '.join(sorted(stray))}")
    mechanisms = data.get("mechanism")
    if not isinstance(mechanisms, list) or not mechanisms:
        raise ProfileError(f"{where}: an accepted cell needs a non-empty 'mechanism' list")
    verdict = Accepted(
        memory=_enum_value(MemoryMode, data.get("memory_result"), "memory_result", where),
        disk=_enum_value(DiskResult, data.get("disk_result"), "disk_result", where),
        mechanisms=tuple(_enum_value(Mechanism, m, "mechanism", where) for m in mechanisms),
        state=_enum_value(SnapshotState, data.get("state"), "state", where),
    )
    return CellEntry(cell, verdict, row)


def _toml_error_where(text: str, err: tomllib.TOMLDecodeError) -> str:
    """``:LINE`` of a TOML syntax error, and the ``[[cells]]`` table it falls in when it does."""
    found = re.search(r"at line (\d+)", str(err))
    if found is None:
        return ""
    line = int(found.group(1))
    headers = [number for number in _cell_lines(text) if number <= line]
    if not headers:
        return f":{line}"
    block = "\n".join(text.splitlines()[headers[-1] : line])
    key_value = r'^\s*(domain|memory|disk|disk_only)\s*=\s*"?([\w-]+)"?'
    pairs = re.findall(key_value, block, re.MULTILINE)
    given: dict[str, object] = dict(pairs)
    if given.get("disk_only") in ("true", "false"):
        given["disk_only"] = given["disk_only"] == "true"
    return f":{line} (in the [[cells]] table at line {headers[-1]}, cell {_given_cell(given)})"


def _cell_lines(text: str) -> list[int]:
    """The line number of each ``[[cells]]`` header, in order, for error messages."""
    return [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if re.match(r"\s*\[\[\s*cells\s*\]\]", line)
    ]


def parse_profile(text: str, source: str = "<profile>") -> Profile:
    """Parse and validate a profile document; ``source`` names it in every error.

    Raises :class:`ProfileError` naming the source, the line and the cell for a syntax error, a
    missing or repeated cell, an unknown key or value, or a malformed rule.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        where = _toml_error_where(text, err)
        raise ProfileError(f"{source}{where}: not valid TOML: {err}") from err
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ProfileError(f"{source}: the profile needs a 'name' string at the top")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ProfileError(f"{source}: 'description' must be a string")
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise ProfileError(f"{source}: no [[cells]] tables; a profile lists all 64 cells")
    lines = _cell_lines(text)
    entries: dict[Cell, CellEntry] = {}
    first_line: dict[Cell, int] = {}
    for index, raw in enumerate(cells):
        line = lines[index] if index < len(lines) else 0
        entry = _parse_entry(raw, f"{source}:{line}")
        if entry.cell in entries:
            raise ProfileError(
                f"{source}:{line}: cell {entry.cell.key()} is given twice "
                f"(first at line {first_line[entry.cell]}); keep one of them"
            )
        entries[entry.cell] = entry
        first_line[entry.cell] = line
    missing = [cell.key() for cell in ALL_CELLS if cell not in entries]
    if missing:
        more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
        shown = ", ".join(missing[:4]) + more
        end = len(text.splitlines())
        raise ProfileError(
            f"{source}:{end}: missing cell(s) {shown}; add a [[cells]] table for each"
        )
    rules = data.get("rules", {})
    if not isinstance(rules, dict) or "mixed" not in rules or "nothing" not in rules:
        raise ProfileError(f"{source}: [rules.mixed] and [rules.nothing] are required")
    unknown_rules = set(rules) - {"mixed", "nothing", "partial_no"}
    if unknown_rules:
        raise ProfileError(f"{source}: unknown rule(s) {', '.join(sorted(unknown_rules))}")
    caps = data.get("capabilities", {})
    fields = {f.name for f in attrs.fields(ProfileCapabilities)}
    if not isinstance(caps, dict) or set(caps) - fields:
        raise ProfileError(f"{source}: [capabilities] takes only {', '.join(sorted(fields))}")
    if not all(isinstance(v, bool) for k, v in caps.items() if k != "revert_overlay"):
        raise ProfileError(f"{source}: [capabilities] values must be true or false")
    if caps.get("revert_overlay", "numbered") not in ("numbered", "by-second"):
        raise ProfileError(f"{source}: [capabilities] revert_overlay is 'numbered' or 'by-second'")
    provenance = data.get("provenance", {})
    if not isinstance(provenance, dict):
        raise ProfileError(f"{source}: [provenance] must be a table of strings")
    return Profile(
        name=name,
        description=description,
        entries=tuple(entries[cell] for cell in ALL_CELLS),
        capabilities=ProfileCapabilities(**caps),
        mixed=_rejected(rules["mixed"], f"{source}: [rules.mixed]"),
        nothing=_rejected(rules["nothing"], f"{source}: [rules.nothing]"),
        partial_no=(
            _rejected(rules["partial_no"], f"{source}: [rules.partial_no]")
            if "partial_no" in rules
            else None
        ),
        provenance=tuple((str(k), str(v)) for k, v in provenance.items()),
    )


def _rule_table(rule: Rejected) -> dict[str, str]:
    table = {"outcome": rule.outcome.value}
    if rule.error is not None:
        table["error"] = rule.error
    table["reason"] = rule.reason
    return table


def _cell_table(entry: CellEntry) -> dict[str, Any]:
    table: dict[str, Any] = dict(entry.cell.as_json())
    verdict = entry.verdict
    table["outcome"] = verdict.outcome.value
    if isinstance(verdict, Accepted):
        table["memory_result"] = verdict.memory.value
        table["disk_result"] = verdict.disk.value
        table["mechanism"] = [m.value for m in verdict.mechanisms]
        table["state"] = verdict.state.value
    else:
        if verdict.error is not None:
            table["error"] = verdict.error
        table["reason"] = verdict.reason
    if entry.row is not None:
        table["row"] = entry.row
    return table


def format_profile(profile: Profile) -> str:
    """The profile as a TOML document that :func:`parse_profile` reads back to an equal value."""
    rules = {"mixed": _rule_table(profile.mixed), "nothing": _rule_table(profile.nothing)}
    if profile.partial_no is not None:
        rules["partial_no"] = _rule_table(profile.partial_no)
    document = {
        "name": profile.name,
        "description": profile.description,
        "provenance": dict(profile.provenance),
        "capabilities": attrs.asdict(profile.capabilities),
        "rules": rules,
        "cells": [_cell_table(entry) for entry in profile.entries],
    }
    return tomli_w.dumps(document)
