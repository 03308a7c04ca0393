"""The conformance kit: the whole adapter contract in one call, for adapter authors.

In the spirit of trio's ``check_*`` helpers, :func:`check_adapter` takes a *factory* (an adapter
class, or any callable that makes a fresh adapter) and checks, each on a fresh adapter:

- the protocol: a ``name``, an absolute ``root``, ``capabilities`` naming a loadable profile;
- ``reset()`` gives an empty world, also after work was done;
- ``apply`` never raises: hostile and invalid operations come back as a refused result;
- every one of the 64 table cells behaves as the profile says (each as a short trace in lockstep
  with the model), and a seeded exploration finds no divergence;
- ``close()`` can be called twice, and any other use afterwards raises
  :class:`~snaporacle.errors.AdapterError`.

A broken promise raises :class:`~snaporacle.errors.ConformanceError` saying which and how, or the
:class:`~snaporacle.lockstep.Divergence` with the minimal trace.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .adapters.protocol import Adapter
from .errors import AdapterError, ConformanceError, SnaporacleError
from .explorer import Coverage, explore, sweep_cells
from .model.modes import CreateFlag, DeleteFlag, Outcome, RevertFlag
from .model.ops import (
    CreateSnapshot,
    DefineDomain,
    DeleteSnapshot,
    ListSnapshots,
    Op,
    RevertSnapshot,
    StartDomain,
    WriteData,
)
from .model.profile import ALL_CELLS, Profile
from .profiles import load_profile
from .reporting import NullReporter
from .requests import domain_spec

AdapterFactory = Callable[[], Adapter]


@contextmanager
def _fresh(factory: AdapterFactory) -> Iterator[Adapter]:
    adapter = factory()
    if not isinstance(adapter, Adapter):
        raise ConformanceError(
            f"{adapter!r} does not implement the Adapter protocol (name, root, capabilities, "
            "apply, observe, reset, close)"
        )
    try:
        yield adapter
    finally:
        adapter.close()


def _hostile_ops(root: str) -> list[Op]:
    """Operations every driver must refuse with a result, not an exception."""
    domain = domain_spec(root)
    return [
        ListSnapshots("no-such-domain"),
        DefineDomain(domain),
        CreateSnapshot(domain.name, "<domainsnapshot><name>x", CreateFlag(0)),
        CreateSnapshot(domain.name, '<!DOCTYPE d [<!ENTITY e "e">]><domainsnapshot/>'),
        CreateSnapshot(domain.name, "<domainsnapshot/>", CreateFlag.CURRENT),
        RevertSnapshot(domain.name, "missing", RevertFlag.RUNNING | RevertFlag.PAUSED),
        DeleteSnapshot(domain.name, "missing", DeleteFlag.CHILDREN | DeleteFlag.CHILDREN_ONLY),
        WriteData(domain.name, "no-such-disk", 0, 1),
        WriteData(domain.name, domain.disks[0].target, 10**6, 1),
        StartDomain(domain.name),
        StartDomain(domain.name),
    ]


def _check_protocol(adapter: Adapter) -> Profile:
    if not isinstance(adapter.name, str) or not adapter.name:
        raise ConformanceError(f"adapter {adapter!r} has no name")
    if not isinstance(adapter.root, str) or not os.path.isabs(adapter.root):
        raise ConformanceError(f"adapter {adapter.name}: root {adapter.root!r} is not absolute")
    try:
        return load_profile(adapter.capabilities.profile)
    except SnaporacleError as err:
        raise ConformanceError(
            f"adapter {adapter.name}: its capabilities name a profile that cannot be loaded: {err}"
        ) from err


def _check_empty(adapter: Adapter, when: str) -> None:
    seen = adapter.observe()
    if seen.domains or seen.memory_files:
        raise ConformanceError(f"adapter {adapter.name}: {when} left {seen}")


def _check_apply_never_raises(adapter: Adapter) -> None:
    started: set[str] = set()
    for op in _hostile_ops(adapter.root):
        try:
            result = adapter.apply(op)
        except Exception as err:
            raise ConformanceError(
                f"adapter {adapter.name}: apply({op!r}) raised {type(err).__name__}: {err}; "
                "a refusal or failure must come back as a Result"
            ) from err
        accepted = result.outcome is Outcome.ACCEPTED
        if op.kind in ("list", "create", "revert", "delete") and accepted:
            raise ConformanceError(f"adapter {adapter.name}: accepted the invalid {op!r}")
        if isinstance(op, StartDomain) and accepted:
            if op.domain in started:
                raise ConformanceError(
                    f"adapter {adapter.name}: started domain {op.domain} again while it runs; "
                    "libvirt refuses it (VIR_ERR_OPERATION_INVALID 'domain is already running')"
                )
            started.add(op.domain)


def _check_closed(adapter: Adapter) -> None:
    adapter.close()
    try:
        adapter.close()
    except Exception as err:
        raise ConformanceError(
            f"adapter {adapter.name}: a second close() raised {type(err).__name__}: {err}"
        ) from err
    for use, call in (
        ("apply", lambda: adapter.apply(ListSnapshots("d0"))),
        ("observe", adapter.observe),
        ("reset", adapter.reset),
    ):
        try:
            call()
        except AdapterError:
            continue
        except Exception as err:
            raise ConformanceError(
                f"adapter {adapter.name}: {use}() after close() raised {type(err).__name__}: "
                f"{err}; it must raise AdapterError"
            ) from err
        raise ConformanceError(
            f"adapter {adapter.name}: {use}() after close() worked; it must raise AdapterError"
        )


def check_adapter(
    factory: AdapterFactory,
    profile: Profile | None = None,
    examples: int = 30,
    steps: int = 20,
    seed: int = 0,
) -> None:
    """Run the whole contract against adapters made by ``factory``; see the module docstring."""
    with _fresh(factory) as adapter:
        own = _check_protocol(adapter)
        chosen = profile or own
        adapter.reset()
        _check_empty(adapter, "reset()")
        _check_apply_never_raises(adapter)
        adapter.reset()
        _check_empty(adapter, "reset() after work")
    with _fresh(factory) as adapter:
        found = sweep_cells(adapter, chosen, list(ALL_CELLS), Coverage(), NullReporter())
        if found is not None:
            raise found
        result = explore(adapter, chosen, examples=examples, steps=steps, seed=seed, sweep=False)
        if result.divergences:
            raise result.divergences[0]
    with _fresh(factory) as adapter:
        _check_closed(adapter)
