"""Known findings: divergences already kept as traces, which an exploration steps over.

A finding that the explorer can reach from many cells (a paused domain's second external memory
snapshot fails whatever its disks) cannot be left out with ``--exclude-cell`` without leaving
out all those cells. Instead, ``explore --known-finding TRACE`` replays each trace on the adapter
first: a trace that diverges there gives its *signature*, and an example whose divergence has
the same signature is dropped as a known finding (counted in the report) while the run goes on.
A trace that replays cleanly (fixed on this driver) is reported as such and matches nothing.

The signature is the operation kind and the first difference, with what changes from one trace
of the same finding to another written alike: the adapter's work directory as ``ROOT``, a file
named without a folder by its extension only (``'*.mem'``), list positions as ``[]`` and every
run of digits as ``N`` (snapshot names, node names, seconds). A difference between two lists
keeps only what one has and the other lacks, so that what other domains hold does not count.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from .adapters.protocol import Adapter
from .errors import CorpusError
from .lockstep import Divergence
from .minimize import replay_ops
from .model.profile import Profile
from .traces import load_trace


@attrs.frozen
class KnownFinding:
    """A finding's trace and the signature of its divergence on the adapter at hand (``None``
    when the trace replays cleanly there)."""

    name: str
    path: str
    signature: tuple[str, str] | None


_LISTS = re.compile(r"^(?P<key>[^:]+): expected (?P<expected>\[.*\]), actual (?P<actual>\[.*\])$")


def _normalized(text: str, root: str) -> str:
    text = text.replace(root, "ROOT") if root else text
    # a file is known by its kind (its extension), not by its name: the memory file of a
    # snapshot s3 of d0 (d0-s3.mem) and of a snapshot s1 named by its file (s1.mem) alike
    text = re.sub(r"'[^'/]*?(\.[A-Za-z]+)'", r"'*\1'", text)
    text = re.sub(r"\[\d+\]", "[]", text)
    return re.sub(r"\d+", "N", text)


def _list_difference(difference: str) -> str | None:
    """For a difference between two lists, what one has and the other lacks (so that what other
    domains or snapshots hold beside it does not count), else ``None``."""
    match = _LISTS.match(difference)
    if match is None:
        return None
    try:
        expected = ast.literal_eval(match["expected"])
        actual = ast.literal_eval(match["actual"])
        missing = [item for item in expected if item not in actual]
        extra = [item for item in actual if item not in expected]
    except (ValueError, SyntaxError, TypeError):
        return None
    return f"{match['key']}: missing {missing!r}, extra {extra!r}"


def divergence_signature(divergence: Divergence) -> tuple[str, str]:
    """What two divergences of the same finding share: operation kind and first difference, with
    the work directory, numbers and file names left out; for two lists, only what one has and
    the other lacks."""
    first = divergence.differences[0] if divergence.differences else ""
    text = _list_difference(first) or first
    return divergence.trace[-1].op.kind, _normalized(text, divergence.root.rstrip("/"))


def trace_paths(paths: Iterable[str | Path]) -> list[Path]:
    """The trace files named: files as given, folders by their ``*.json`` files, sorted."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found.extend(sorted(path.glob("*.json")))
        elif path.is_file():
            found.append(path)
        else:
            raise CorpusError(f"{path}: no such trace file or folder")
    return found


def load_known(adapter: Adapter, profile: Profile, paths: Sequence[Path]) -> list[KnownFinding]:
    """Replay each trace on ``adapter`` (reset before and after each) and keep the signature of
    its divergence."""
    known = []
    for path in paths:
        trace = load_trace(path, adapter.root)
        divergence = replay_ops(adapter, profile, list(trace.steps))
        signature = divergence_signature(divergence) if divergence is not None else None
        known.append(KnownFinding(path.stem, str(path), signature))
    adapter.reset()
    return known
