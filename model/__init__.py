"""The pure model: the table as profiles, the snapshot XML, the world, plans and transitions.

Nothing here does I/O or imports anything of snaporacle outside ``model/`` (an import-linter
contract in CI keeps it so). The flow of one operation: :func:`prepare` (every libvirt rule, in
libvirt's order) gives a plan or a :class:`Refusal`; :func:`apply` carries the plan out on a
:class:`World`; :func:`observe` says what a user of a driver in that world would see.
"""

from .decide import Decision, decide
from .definition import DomainDisk, DomainSpec, SnapshotDefinition
from .modes import (
    Column,
    CreateFlag,
    DeleteFlag,
    DiskMode,
    DomainColumn,
    DomainState,
    Mechanism,
    MemoryMode,
    Outcome,
    RevertFlag,
    SnapshotState,
)
from .observation import Aspect, Observation
from .ops import OP_TYPES, Op, Result, op_from_json, op_to_json
from .plan import Plan, Refusal, View, WorldView, cell_reached
from .prepare import prepare
from .profile import ALL_CELLS, Accepted, Cell, Profile, Rejected, format_profile, parse_profile
from .snapshot_xml import format_snapshot, parse_snapshot
from .transition import Transition, apply, step
from .world import World, observe

__all__ = [
    "ALL_CELLS",
    "OP_TYPES",
    "Accepted",
    "Aspect",
    "Cell",
    "Column",
    "CreateFlag",
    "Decision",
    "DeleteFlag",
    "DiskMode",
    "DomainColumn",
    "DomainDisk",
    "DomainSpec",
    "DomainState",
    "Mechanism",
    "MemoryMode",
    "Observation",
    "Op",
    "Outcome",
    "Plan",
    "Profile",
    "Refusal",
    "Rejected",
    "Result",
    "RevertFlag",
    "SnapshotDefinition",
    "SnapshotState",
    "Transition",
    "View",
    "World",
    "WorldView",
    "apply",
    "cell_reached",
    "decide",
    "format_profile",
    "format_snapshot",
    "observe",
    "op_from_json",
    "op_to_json",
    "parse_profile",
    "parse_snapshot",
    "prepare",
    "step",
]
