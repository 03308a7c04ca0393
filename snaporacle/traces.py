"""Traces on disk: a divergence (or any run of steps) as a JSON file that replays anywhere.

Format (``version`` 1)::

    {"version": 1, "adapter": "fake", "profile": "libvirt-current", "root": "/snaporacle-fake",
     "cell": {...} | null, "differences": [...],
     "steps": [{"op": {...op_to_json...}, "expected": {...}, "actual": {...}}, ...]}

Paths inside operations are written with the placeholder ``${ROOT}`` for the adapter's work
directory, so a trace recorded on one adapter replays on another.

:func:`load_trace` refuses a bad file with :class:`~snaporacle.errors.CorpusError` naming the file
and, for a bad step, its number: malformed or too deeply nested JSON, an unknown operation, a
field of the wrong type (a ``block`` given as a string), a NUL byte in any text.
"""

from __future__ import annotations

import enum
import json
import re
import types
import typing
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
    except RecursionError:
        raise CorpusError(f"{path}: JSON nested too deeply to be a trace") from None
    except (OSError, UnicodeDecodeError) as err:
        raise CorpusError(f"{path}: cannot read the trace: {err}") from err
    if not isinstance(data, dict) or data.get("version") != 1:
        raise CorpusError(f"{path}:1: not a snaporacle trace (needs \"version\": 1)")
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise CorpusError(f"{path}: a trace needs a non-empty \"steps\" list")
    for key in ("profile", "adapter"):
        if not isinstance(data.get(key), (str, type(None))):
            raise CorpusError(f"{path}: \"{key}\" must be a name (a string)")
    ops = []
    for number, step in enumerate(steps, start=1):
        if not isinstance(step, dict) or not isinstance(step.get("op"), dict):
            raise CorpusError(f"{path}: step {number} needs an \"op\" object")
        kind = step["op"].get("op")
        try:
            op = op_from_json(_swap(step["op"], ROOT_PLACEHOLDER, root.rstrip("/")))
            problems = _field_problems(op, kind)
        except KeyError as err:
            raise CorpusError(f"{path}: step {number}: {kind}: the field {err} is missing") from err
        except (TypeError, AttributeError) as err:
            raise CorpusError(f"{path}: step {number}: {kind}: a malformed field: {err}") from err
        except ValueError as err:
            raise CorpusError(f"{path}: step {number}: {err}") from err
        except RecursionError:
            raise CorpusError(f"{path}: step {number}: nested too deeply") from None
        if problems:
            raise CorpusError(f"{path}: step {number}: {problems[0]}")
        ops.append(op)
    return Trace(
        steps=tuple(ops),
        profile=data.get("profile"),
        adapter=data.get("adapter"),
        expected=tuple(step.get("expected", {}) for step in steps),
    )


def _field_problems(value: object, where: str) -> list[str]:
    """What in an operation (an attrs value, checked field by field) is not of its declared type."""
    if not attrs.has(type(value)):
        return []
    problems = []
    cls: Any = type(value)
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        item = getattr(value, field.name)
        label = f"{where}: field {field.name!r}"
        if not _is(item, hints.get(field.name, object)):
            problems.append(f"{label} is {item!r}, not {_name(hints[field.name])}")
        elif isinstance(item, str) and "\0" in item:
            problems.append(f"{label} contains a NUL byte, which no path or XML can hold")
        else:
            for inner in item if isinstance(item, tuple) else (item,):
                problems += _field_problems(inner, label)
    return problems


def _is(value: object, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_is(value, arg) for arg in typing.get_args(hint))
    if origin is tuple:
        element = typing.get_args(hint)[0]
        return isinstance(value, tuple) and all(_is(v, element) for v in value)
    if hint is type(None):
        return value is None
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return isinstance(value, hint)
    if hint in (str, bool, float) or (isinstance(hint, type) and attrs.has(hint)):
        return isinstance(value, hint)
    return True  # a type the trace format never carries: nothing to check


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", str(hint))


def trace_document(ops: list[Op], profile: str, root: str) -> dict[str, Any]:
    """A trace document for hand-written steps (no recorded results)."""
    document = {"version": 1, "profile": profile, "steps": [{"op": op_to_json(op)} for op in ops]}
    return _swap(document, root.rstrip("/"), ROOT_PLACEHOLDER)  # type: ignore[no-any-return]
