"""The findings as data (``corpus/findings.toml``) and each finding's trace drawn step by step.

A finding names its minimal trace in ``corpus/traces/`` and, per libvirt version and driver,
whether it holds there (see the comment at the top of the file for the format). :func:`draw_steps`
runs the trace through the model, following the profile the trace names, for the expected result
of every step; the actual results come from a recorded run: the trace's own (a divergence saved
by ``snaporacle explore``) or the ``observed`` file of a version.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import attrs

from ..errors import CorpusError
from ..model.ops import Op, Result, op_to_json
from ..model.transition import apply
from ..model.world import World
from ..profiles import load_profile
from ..traces import ROOT_PLACEHOLDER, load_trace

#: The work directory the model runs a finding's trace in; shown as ``${ROOT}``.
DRAW_ROOT = "/snaporacle-report"

_VERSION_KEYS = {"libvirt", "driver", "holds", "note", "observed"}
_FINDING_KEYS = {"id", "title", "trace", "impact", "versions"}


@attrs.frozen
class FindingVersion:
    """Whether a finding holds on one libvirt version and driver."""

    libvirt: str
    driver: str
    holds: bool
    note: str | None = None
    observed: str | None = None


@attrs.frozen
class Finding:
    """One finding: its title, why it matters, its trace and the versions it was checked on."""

    id: str
    title: str
    trace: str
    impact: str
    versions: tuple[FindingVersion, ...]


@attrs.frozen
class DrawnStep:
    """One step of a finding's trace: the operation, the model's result and the observed one."""

    number: int
    op: dict[str, Any]
    expected: dict[str, Any]
    actual: dict[str, Any] | None
    #: why there is no actual result, when there is none
    missing: str = ""


def _text(data: dict[str, Any], key: str, where: str, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise CorpusError(f"{where}: '{key}' must be a non-empty string")
    return value


def _version(data: Any, where: str) -> FindingVersion:
    if not isinstance(data, dict):
        raise CorpusError(f"{where}: each [[findings.versions]] entry must be a table")
    unknown = set(data) - _VERSION_KEYS
    if unknown:
        raise CorpusError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"valid: {', '.join(sorted(_VERSION_KEYS))}"
        )
    if not isinstance(data.get("holds"), bool):
        raise CorpusError(f"{where}: 'holds' must be true or false")
    return FindingVersion(
        libvirt=str(_text(data, "libvirt", where)),
        driver=str(_text(data, "driver", where)),
        holds=data["holds"],
        note=_text(data, "note", where, required=False),
        observed=_text(data, "observed", where, required=False),
    )


def parse_findings(text: str, source: str = "<findings>") -> tuple[Finding, ...]:
    """Parse a findings file; errors name the file and the finding."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CorpusError(f"{source}: not valid TOML: {err}") from err
    entries = data.get("findings")
    if not isinstance(entries, list) or not entries:
        raise CorpusError(f"{source}: no [[findings]] tables")
    findings: list[Finding] = []
    for number, entry in enumerate(entries, start=1):
        where = f"{source}: finding {number}"
        if not isinstance(entry, dict):
            raise CorpusError(f"{where}: must be a table")
        where = f"{source}: finding {entry.get('id', number)!s}"
        unknown = set(entry) - _FINDING_KEYS
        if unknown:
            raise CorpusError(
                f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                f"valid: {', '.join(sorted(_FINDING_KEYS))}"
            )
        texts = {key: str(_text(entry, key, where)) for key in ("id", "title", "trace", "impact")}
        versions = entry.get("versions")
        if not isinstance(versions, list) or not versions:
            raise CorpusError(f"{where}: needs at least one [[findings.versions]] table")
        findings.append(
            Finding(
                **texts,
                versions=tuple(_version(v, f"{where}, version {i}") for i, v in
                               enumerate(versions, start=1)),
            )
        )
    ids = [finding.id for finding in findings]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise CorpusError(f"{source}: finding id(s) {', '.join(repeated)} given twice")
    return tuple(findings)


def load_findings(path: Path) -> tuple[Finding, ...]:
    """Read a findings file (see :func:`parse_findings`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CorpusError(f"{path}: cannot read the findings: {err}") from err
    return parse_findings(text, str(path))


def _shown(value: Any) -> Any:
    """``value`` with the drawing root written as ``${ROOT}``."""
    if isinstance(value, str):
        return value.replace(DRAW_ROOT, ROOT_PLACEHOLDER)
    if isinstance(value, list):
        return [_shown(v) for v in value]
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items()}
    return value


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file holding an object; errors name the file and line."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CorpusError(f"{path}:{err.lineno}: not valid JSON: {err.msg}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise CorpusError(f"{path}: cannot read the file: {err}") from err
    if not isinstance(data, dict):
        raise CorpusError(f"{path}:1: not a snaporacle trace (an object with \"steps\")")
    return data


def model_results(ops: tuple[Op, ...], profile_name: str) -> list[Result]:
    """The model's result for each operation, run from an empty world under ``profile_name``."""
    profile = load_profile(profile_name)
    world = World(root=DRAW_ROOT)
    results = []
    for op in ops:
        world, result = apply(world, op, profile)
        results.append(result)
    return results


@attrs.frozen
class DrawnTrace:
    """A trace ready to draw: its steps, the profile it ran under and the differences seen."""

    path: str
    profile: str
    steps: tuple[DrawnStep, ...]
    differences: tuple[str, ...]
    observed_on: str | None


def draw_trace(path: Path, recorded: Path | None = None, observed_on: str | None = None) -> DrawnTrace:
    """A trace step by step: the model's expected result and, where recorded, the actual one.

    The actual results come from ``recorded`` (an observed run in the trace format) or else from
    the trace file itself when it was saved with them.
    """
    trace = load_trace(path, DRAW_ROOT)
    profile = trace.profile or "libvirt-current"
    expected = model_results(trace.steps, profile)
    source = read_json_object(recorded) if recorded is not None else read_json_object(path)
    recorded_steps = source.get("steps", [])
    actuals: list[dict[str, Any] | None] = [
        step.get("actual") if isinstance(step, dict) else None for step in recorded_steps
    ]
    stopped = f"not run: the replay stopped at step {len(actuals)}" if actuals else "not recorded"
    steps = tuple(
        DrawnStep(
            number=number,
            op=_shown(op_to_json(op)),
            expected=_shown(result.as_json()),
            actual=actuals[number - 1] if number <= len(actuals) else None,
            missing="" if number <= len(actuals) else stopped,
        )
        for number, (op, result) in enumerate(zip(trace.steps, expected, strict=True), start=1)
    )
    differences = source.get("differences") or []
    has_actual = any(step.actual is not None for step in steps)
    return DrawnTrace(
        path=path.name,
        profile=profile,
        steps=steps,
        differences=tuple(str(d) for d in differences),
        observed_on=observed_on if has_actual else None,
    )
