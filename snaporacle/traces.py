"""Traces on disk: a divergence (or any run of steps) as a JSON file that replays anywhere.

Format (``version`` 1)::

    {"version": 1, "adapter": "fake", "profile": "libvirt-current", "root": "/snaporacle-fake",
     "cell": {...} | null, "differences": [...],
     "steps": [{"op": {...op_to_json...}, "expected": {...}, "actual": {...}}, ...]}

Paths inside operations are written with the placeholder ``${ROOT}`` for the adapter's work
directory, so a trace recorded on one adapter replays on another.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import attrs

from .errors import CorpusError
from .lockstep import Divergence
from .model.ops import Op, op_from_json, op_to_json

ROOT_PLACEHOLDER = "${ROOT}"


@attrs.frozen
class Trace:
    """A replayable sequence of operations, with what was recorded for them."""

    steps: tuple[Op, ...]
    profile: str | None = None
    adapter: str | None = None
    expected: tuple[dict[str, Any], ...] = ()


def _swap(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_swap(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _swap(v, old, new) for k, v in value.items()}
    return value


def divergence_document(
    divergence: Divergence, adapter: str, profile: str, root: str
) -> dict[str, Any]:
    """The JSON document of a divergence, paths relative to ``${ROOT}``."""
    data = divergence.as_json()
    document = {
        "version": 1,
        "adapter": adapter,
        "profile": profile,
        "cell": data["cell"],
        "differences": data["differences"],
        "steps": data["trace"],
    }
    return _swap(document, root.rstrip("/"), ROOT_PLACEHOLDER)  # type: ignore[no-any-return]


def save_divergence(
    divergence: Divergence, folder: Path, adapter: str, profile: str, root: str
) -> Path:
    """Write a divergence as a trace file in ``folder``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    document = divergence_document(divergence, adapter, profile, root)
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    stem = re.sub(r"[^a-z0-9-]+", "-", f"{adapter}-{profile}-{divergence.trace[-1].op.kind}")
    number = 1
    while (path := folder / f"{stem}-{number}.json").exists():
        number += 1
    path.write_text(text, encoding="utf-8")
    return path


def load_trace(path: Path, root: str) -> Trace:
    """Read a trace file, putting ``root`` for ``${ROOT}``; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise CorpusError(f"{path}:{err.lineno}: not valid JSON: {err.msg}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise CorpusError(f"{path}: cannot read the trace: {err}") from err
    if not isinstance(data, dict) or data.get("version") != 1:
        raise CorpusError(f"{path}:1: not a snaporacle trace (needs \"version\": 1)")
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise CorpusError(f"{path}: a trace needs a non-empty \"steps\" list")
    ops = []
    for number, step in enumerate(steps, start=1):
        if not isinstance(step, dict) or not isinstance(step.get("op"), dict):
            raise CorpusError(f"{path}: step {number} needs an \"op\" object")
        try:
            ops.append(op_from_json(_swap(step["op"], ROOT_PLACEHOLDER, root.rstrip("/"))))
        except (ValueError, KeyError, TypeError) as err:
            raise CorpusError(f"{path}: step {number}: {err}") from err
    return Trace(
        steps=tuple(ops),
        profile=data.get("profile"),
        adapter=data.get("adapter"),
        expected=tuple(step.get("expected", {}) for step in steps),
    )


def trace_document(ops: list[Op], profile: str, root: str) -> dict[str, Any]:
    """A trace document for hand-written steps (no recorded results)."""
    document = {"version": 1, "profile": profile, "steps": [{"op": op_to_json(op)} for op in ops]}
    return _swap(document, root.rstrip("/"), ROOT_PLACEHOLDER)  # type: ignore[no-any-return]
