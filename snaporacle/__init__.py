"""snaporacle: a simulation and test oracle for libvirt domain snapshots.

The public API, importable from ``snaporacle`` itself (everything else is private)::

    from snaporacle import FakeAdapter, explore, load_profile

    result = explore(FakeAdapter(), load_profile("libvirt-current"), examples=50, seed=1)
    assert not result.divergences

- adapters: :class:`Adapter` (the protocol), :class:`Capabilities`, :func:`load_adapter`,
  :class:`FakeAdapter` (the embedded default), :func:`check_adapter` (the conformance kit);
- the model: :func:`load_profile`, :class:`Profile`, :func:`decide`, :func:`prepare` (the plan of
  one operation), :func:`apply` (the transition), the operations (:class:`CreateSnapshot`...),
  their flags and :class:`Result`, :class:`Observation`;
- running: :func:`explore`, :class:`SnapshotMachine` (the Hypothesis state machine to subclass),
  :func:`load_known` (known findings an exploration steps over), :func:`replay`,
  :class:`Divergence`;
- errors: :class:`SnaporacleError` and its tree (:mod:`snaporacle.errors`).

Names load on first use, so ``import snaporacle`` stays cheap (the pytest plugin imports it in
every test run).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Adapter": "snaporacle.adapters.protocol",
    "Capabilities": "snaporacle.adapters.protocol",
    "load_adapter": "snaporacle.adapters.registry",
    "FakeAdapter": "snaporacle.adapters.fake",
    "check_adapter": "snaporacle.conformance",
    "load_profile": "snaporacle.profiles",
    "Profile": "snaporacle.model.profile",
    "Cell": "snaporacle.model.profile",
    "decide": "snaporacle.model.decide",
    "prepare": "snaporacle.model.prepare",
    "apply": "snaporacle.model.transition",
    "Observation": "snaporacle.model.observation",
    "Aspect": "snaporacle.model.observation",
    "Result": "snaporacle.model.ops",
    "Op": "snaporacle.model.ops",
    "DefineDomain": "snaporacle.model.ops",
    "StartDomain": "snaporacle.model.ops",
    "PauseDomain": "snaporacle.model.ops",
    "ResumeDomain": "snaporacle.model.ops",
    "DestroyDomain": "snaporacle.model.ops",
    "WriteData": "snaporacle.model.ops",
    "CreateSnapshot": "snaporacle.model.ops",
    "RevertSnapshot": "snaporacle.model.ops",
    "DeleteSnapshot": "snaporacle.model.ops",
    "ListSnapshots": "snaporacle.model.ops",
    "CurrentSnapshot": "snaporacle.model.ops",
    "DumpSnapshotXML": "snaporacle.model.ops",
    "CreateFlag": "snaporacle.model.modes",
    "RevertFlag": "snaporacle.model.modes",
    "DeleteFlag": "snaporacle.model.modes",
    "Outcome": "snaporacle.model.modes",
    "DomainState": "snaporacle.model.modes",
    "explore": "snaporacle.explorer",
    "SnapshotMachine": "snaporacle.explorer",
    "replay": "snaporacle.corpus_replay",
    "load_known": "snaporacle.known",
    "Divergence": "snaporacle.lockstep",
    "SnaporacleError": "snaporacle.errors",
}

__all__ = [
    "Adapter",
    "Aspect",
    "Capabilities",
    "Cell",
    "CreateFlag",
    "CreateSnapshot",
    "CurrentSnapshot",
    "DefineDomain",
    "DeleteFlag",
    "DeleteSnapshot",
    "DestroyDomain",
    "Divergence",
    "DomainState",
    "DumpSnapshotXML",
    "FakeAdapter",
    "ListSnapshots",
    "Observation",
    "Op",
    "Outcome",
    "PauseDomain",
    "Profile",
    "Result",
    "ResumeDomain",
    "RevertFlag",
    "RevertSnapshot",
    "SnaporacleError",
    "SnapshotMachine",
    "StartDomain",
    "WriteData",
    "apply",
    "check_adapter",
    "decide",
    "explore",
    "load_adapter",
    "load_known",
    "load_profile",
    "prepare",
    "replay",
]

if TYPE_CHECKING:
    from .adapters.fake import FakeAdapter
    from .adapters.protocol import Adapter, Capabilities
    from .adapters.registry import load_adapter
    from .conformance import check_adapter
    from .corpus_replay import replay
    from .errors import SnaporacleError
    from .explorer import SnapshotMachine, explore
    from .known import load_known
    from .lockstep import Divergence
    from .model.decide import decide
    from .model.modes import CreateFlag, DeleteFlag, DomainState, Outcome, RevertFlag
    from .model.observation import Aspect, Observation
    from .model.ops import (
        CreateSnapshot,
        CurrentSnapshot,
        DefineDomain,
        DeleteSnapshot,
        DestroyDomain,
        DumpSnapshotXML,
        ListSnapshots,
        Op,
        PauseDomain,
        Result,
        ResumeDomain,
        RevertSnapshot,
        StartDomain,
        WriteData,
    )
    from .model.prepare import prepare
    from .model.profile import Cell, Profile
    from .model.transition import apply
    from .profiles import load_profile


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'snaporacle' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
