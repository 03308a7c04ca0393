"""``snaporacle decide``: ask the table oracle about one snapshot request.

The command builds a real request (a :class:`SnapshotDefinition` and the domain's disks) and runs
it through :func:`snaporacle.model.decide.decide`, so multi-disk requests follow the same rules as
everywhere else. The JSON object has the keys of ``snaporacle table --format json`` for the cell
the request fell in (``disk`` is null when explicit internal and external disks leave no cell),
plus ``state`` (the snapshot's ``<state>``) and ``disks`` (each disk's resolved mode).
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from ..model.decide import Decision, decide
from ..model.definition import DomainDisk, MemorySpec, SnapshotDefinition, SnapshotDisk
from ..model.modes import Column, CreateFlag, DiskMode, DomainState, MemoryMode
from ..model.profile import Cell, CellEntry, Profile
from ..profiles import load_profile
from ..render import print_table
from .table import HEADERS, entry_row

EPILOG = """\
examples:
  snaporacle decide --profile plan-1.0.1 --domain online --memory external --disk omit
  snaporacle decide --profile libvirt-current --domain offline --disk-only --format text
  snaporacle decide --profile libvirt-current --domain online --memory internal \\
      --disks vda=internal,vdb=no --defaults vdb=no

--disks names the domain's disks (vda, vdb, ...) with the mode each gets in <disks>; 'omit'
leaves a disk out of <disks>. --defaults sets a disk's own snapshot= in the domain definition.
Without --disks the domain has one disk, vda, and --disk gives its mode."""

_COLUMNS = [column.value for column in Column]
_DOMAINS = {
    "offline": DomainState.SHUTOFF,
    "online": DomainState.RUNNING,
    "paused": DomainState.PAUSED,
}
_DISK_NAME = re.compile(r"vd[a-z]\Z")
#: The ``file`` of an external memory request (the oracle does not look at it).
_MEMORY_FILE = "/var/lib/libvirt/qemu/snapshot/memory.save"


def _assignments(text: str, valid: list[str]) -> tuple[tuple[str, str], ...]:
    """``vda=internal,vdb=no`` as pairs; names are vda..vdz, each once; values from ``valid``."""
    pairs: list[tuple[str, str]] = []
    for item in text.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or not _DISK_NAME.match(name):
            raise argparse.ArgumentTypeError(
                f"{item.strip()!r} is not NAME=MODE with NAME one of vda, vdb, ... vdz"
            )
        if value not in valid:
            raise argparse.ArgumentTypeError(
                f"disk {name}: invalid mode {value!r} (choose from {', '.join(valid)})"
            )
        if name in dict(pairs):
            raise argparse.ArgumentTypeError(f"disk {name} is given twice")
        pairs.append((name, value))
    return tuple(pairs)


def _disk_modes(text: str) -> tuple[tuple[str, str], ...]:
    return _assignments(text, _COLUMNS)


def _disk_defaults(text: str) -> tuple[tuple[str, str], ...]:
    return _assignments(text, [mode.value for mode in DiskMode])


def register(subparsers: Any) -> None:
    """Add the ``decide`` command."""
    parser = subparsers.add_parser(
        "decide",
        help="the oracle's verdict for one snapshot request",
        description="Build one snapshot request and print what a profile says of it: accepted "
        "(with memory and disk modes and mechanisms) or rejected (with the error).",
        epilog=EPILOG,
    )
    parser.add_argument(
        "--profile",
        required=True,
        metavar="NAME|PATH",
        help="a shipped profile's name or a profile file",
    )
    parser.add_argument(
        "--domain",
        required=True,
        choices=tuple(_DOMAINS),
        help="the domain state (online = running)",
    )
    parser.add_argument(
        "--memory",
        choices=_COLUMNS,
        default="omit",
        help="<memory snapshot=...>, or omit for no <memory> (default: omit)",
    )
    disks = parser.add_mutually_exclusive_group()
    disks.add_argument(
        "--disk",
        choices=_COLUMNS,
        default="omit",
        help="the one disk's mode, or omit for no <disks> (default: omit)",
    )
    disks.add_argument(
        "--disks",
        type=_disk_modes,
        metavar="vda=MODE,vdb=MODE,...",
        help="several disks, each with a mode or omit",
    )
    parser.add_argument(
        "--defaults",
        type=_disk_defaults,
        default=(),
        metavar="vdb=MODE,...",
        help="disks' own snapshot= in the domain definition (no|internal|external)",
    )
    parser.add_argument("--disk-only", action="store_true", help="pass the DISK_ONLY flag")
    parser.add_argument(
        "--format",
        choices=("json", "text"),
        default="json",
        help="json (one object) or text (a table); default: json",
    )
    parser.set_defaults(run=run, parser=parser)


def build_request(
    memory: Column, disks: tuple[tuple[str, str], ...], defaults: tuple[tuple[str, str], ...]
) -> tuple[SnapshotDefinition, tuple[DomainDisk, ...]]:
    """The snapshot definition and the domain's disks for the command's arguments."""
    own = dict(defaults)
    domain_disks = tuple(
        DomainDisk(
            target=name,
            source=f"/var/lib/libvirt/images/{name}.qcow2",
            snapshot=DiskMode(own[name]) if name in own else None,
        )
        for name, _ in disks
    )
    listed = tuple(
        SnapshotDisk(name, DiskMode(mode)) for name, mode in disks if mode != Column.OMIT.value
    )
    if memory is Column.OMIT:
        memory_spec = None
    elif memory is Column.EXTERNAL:
        memory_spec = MemorySpec(MemoryMode.EXTERNAL, _MEMORY_FILE)
    else:
        memory_spec = MemorySpec(MemoryMode(memory.value))
    return SnapshotDefinition(memory=memory_spec, disks=listed or None), domain_disks


def decision_json(
    profile: Profile, state: DomainState, memory: Column, flags: CreateFlag, decision: Decision
) -> dict[str, Any]:
    """The object ``snaporacle decide`` prints for one decision."""
    disk_only = bool(flags & CreateFlag.DISK_ONLY)
    cell = decision.cell or Cell(state.column, memory, Column.OMIT, disk_only)
    row = profile.entry(decision.cell).row if decision.cell else None
    data = CellEntry(cell, decision.verdict, row).as_json()
    if decision.cell is None:
        data["disk"] = None
    data["state"] = decision.state.value if decision.accepted and decision.state else None
    data["disks"] = {name: mode.value for name, mode in decision.disks}
    return data


def run(args: argparse.Namespace) -> int:
    """Decide one request and print the verdict."""
    disks = args.disks if args.disks is not None else (("vda", args.disk),)
    names = {name for name, _ in disks}
    unknown = [name for name, _ in args.defaults if name not in names]
    if unknown:
        args.parser.error(
            f"--defaults names {', '.join(unknown)}, not a disk of the domain "
            f"({', '.join(sorted(names))})"
        )
    profile = load_profile(args.profile)
    state = _DOMAINS[args.domain]
    memory = Column(args.memory)
    flags = CreateFlag.DISK_ONLY if args.disk_only else CreateFlag(0)
    request, domain_disks = build_request(memory, disks, args.defaults)
    decision = decide(profile, state, request, flags, domain_disks)
    data = decision_json(profile, state, memory, flags, decision)
    if args.format == "json":
        print(json.dumps(data, indent=2))
        return 0
    disks_text = " ".join(f"{name}={mode}" for name, mode in data["disks"].items())
    rows = [[*entry_row(data), data["state"] or "", disks_text]]
    print_table([*HEADERS, "state", "disks"], rows, title=f"{profile.name}, {args.domain} domain")
    return 0
