"""The one protocol the explorer drives, and what an adapter declares about itself.

An adapter carries out :mod:`~snaporacle.model.ops` operations on a real or simulated driver and
reports what a user of that driver could see. It declares, in :class:`Capabilities`, the aspects it
can observe, the operations and flags it supports, and the profile it claims to follow; the
explorer only draws what is supported and only compares what is observable.

An adapter class is made with keyword arguments only, each optional, and must accept all three
(use what applies, refuse with :class:`~snaporacle.errors.AdapterError` what cannot apply):

- ``uri``: the driver URI (``--uri``; e.g. ``qemu:///embed``), ``None`` for the adapter's own;
- ``profile``: the profile name or path it is checked against (``--profile``), ``None`` for its
  own default;
- ``workdir``: the work directory every path lies under, ``None`` for a fresh temporary one that
  ``close()`` removes.

:func:`snaporacle.check_adapter` runs the whole contract on an adapter class or factory.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs

from ..model.modes import CreateFlag, DeleteFlag, RevertFlag
from ..model.observation import ALL_ASPECTS, Aspect, Observation
from ..model.ops import OP_TYPES, Op, Result


@attrs.frozen
class Capabilities:
    """What an adapter can do and see.

    ``profile`` names the profile it claims (a name in ``corpus/profiles`` or a path).
    ``max_disks`` bounds the disks per domain the explorer defines; ``online`` is false for an
    adapter that cannot run domains.
    """

    profile: str
    aspects: frozenset[Aspect] = ALL_ASPECTS
    ops: frozenset[str] = frozenset(OP_TYPES)
    create_flags: CreateFlag = CreateFlag(~0 & 1023)
    revert_flags: RevertFlag = RevertFlag.RUNNING | RevertFlag.PAUSED | RevertFlag.FORCE
    delete_flags: DeleteFlag = DeleteFlag(7)
    max_disks: int = 2
    online: bool = True


@runtime_checkable
class Adapter(Protocol):
    """A driver under test.

    ``root`` is the absolute work directory every path of the adapter lies under; the explorer
    writes the paths it puts into snapshot XML below it.
    """

    name: str
    root: str
    capabilities: Capabilities

    def apply(self, op: Op) -> Result:
        """Carry out one operation; a refusal or a failure is a :class:`Result`, never an
        exception (only use after ``close()`` raises, an :class:`~snaporacle.errors.AdapterError`)."""
        ...

    def observe(self) -> Observation:
        """Everything the adapter can see now (aspects outside its declaration may be empty)."""
        ...

    def reset(self) -> None:
        """Back to an empty world: no domains, no files, no processes."""

    def close(self) -> None:
        """Release every resource (processes, connections, the work directory). Closing twice
        is allowed; any other call afterwards raises :class:`~snaporacle.errors.AdapterError`."""
