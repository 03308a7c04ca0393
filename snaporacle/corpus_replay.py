"""Replaying the corpus against an adapter: traces, profile cells and XML cases.

- A trace (``*.json``) runs step by step in lockstep with the model (the profile given, else the
  one the trace names); a difference is a divergence.
- A profile file (``*.toml`` with ``[[cells]]``) runs every cell as a short trace against the
  adapter with the model following that profile.
- An XML manifest (``*.toml`` with ``[[cases]]``) checks snaporacle's own parser and formatter
  case by case; no adapter is involved in those.

:func:`replay_all` goes on past a file that cannot be replayed (malformed, missing, or a process
under the adapter that died): that file's outcome carries the ``error`` and counts as failed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs

from . import interrupts
from .adapters.protocol import Adapter
from .corpus_xml import CaseMode, XmlCase, load_manifest
from .errors import CorpusError, EnvironmentFailure, SnaporacleError, SnapshotXMLError
from .explorer import Coverage, sweep_cells
from .lockstep import Divergence, Lockstep, Step
from .model.profile import ALL_CELLS, Profile, parse_profile
from .model.snapshot_xml import reformat_snapshot
from .profiles import corpus_path, load_profile
from .reporting import NullReporter
from .traces import load_trace


@attrs.frozen
class ReplayOutcome:
    """The result of replaying one file."""

    path: Path
    kind: str
    checked: int
    divergence: Divergence | None = None
    problems: tuple[str, ...] = ()
    #: a trace's steps as run, with the expected and actual result of each, and its profile
    steps: tuple[Step, ...] = ()
    profile: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when nothing diverged and the file could be replayed."""
        return self.divergence is None and not self.problems and self.error is None


def replay_all(
    adapter: Adapter, paths: list[Path], profile: Profile | None
) -> Iterator[ReplayOutcome]:
    """Replay every file of ``paths`` (folders searched), one outcome each, bad files included.

    A file that cannot be replayed gives an outcome with its ``error`` (the message names it);
    after a process under the adapter failed, the adapter is reset before the next file.
    """
    for given in paths:
        try:
            files = list(corpus_files([given]))
        except CorpusError as err:
            yield ReplayOutcome(given, "file", 0, error=str(err))
            continue
        for path in files:
            interrupts.check()
            try:
                yield replay_file(adapter, path, profile)
            except EnvironmentFailure as err:
                yield ReplayOutcome(path, _guess(path), 0, error=f"environment failure: {err}")
            except SnaporacleError as err:
                message = str(err)
                yield ReplayOutcome(
                    path, _guess(path), 0,
                    error=message if str(path) in message else f"{path}: {message}",
                )


def corpus_files(paths: list[Path]) -> Iterator[Path]:
    """The replayable files in ``paths`` (folders are searched recursively), sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.suffix in (".json", ".toml") and p.is_file()
            )
        elif path.is_file():
            yield path
        else:
            raise CorpusError(f"{path}: no such file or folder")


def _guess(path: Path) -> str:
    """The kind of a file that could not be read: by its name."""
    return "trace" if path.suffix == ".json" else "file"


def _kind(path: Path) -> str:
    if path.suffix == ".json":
        return "trace"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as err:
        raise CorpusError(f"{path}: not a readable TOML file: {err}") from err
    if "cells" in data:
        return "profile"
    if "cases" in data:
        return "xml"
    if "findings" in data:
        return "findings"
    raise CorpusError(
        f"{path}: neither a profile ([[cells]]), an XML manifest ([[cases]]) nor a findings file "
        "([[findings]])"
    )


def replay_file(adapter: Adapter, path: Path, profile: Profile | None) -> ReplayOutcome:
    """Replay one corpus file against ``adapter``."""
    kind = _kind(path)
    if kind == "trace":
        trace = load_trace(path, adapter.root)
        chosen = profile or load_profile(trace.profile or adapter.capabilities.profile)
        lockstep = Lockstep(adapter, chosen)
        lockstep.reset()
        try:
            for op in trace.steps:
                lockstep.step(op)
        except Divergence as divergence:
            return ReplayOutcome(path, kind, len(lockstep.trace), divergence,
                                 steps=tuple(lockstep.trace), profile=chosen.name)
        return ReplayOutcome(path, kind, len(trace.steps), steps=tuple(lockstep.trace),
                             profile=chosen.name)
    if kind == "profile":
        cells_profile = parse_profile(path.read_text(encoding="utf-8"), str(path))
        found = sweep_cells(adapter, cells_profile, list(ALL_CELLS), Coverage(), NullReporter())
        return ReplayOutcome(path, kind, len(ALL_CELLS), found)
    if kind == "findings":
        return _check_findings(path)
    cases = load_manifest(path)
    problems = [f"{case.name}: {p}" for case in cases if (p := check_xml_case(case))]
    return ReplayOutcome(path, kind, len(cases), None, tuple(problems))


def _check_findings(path: Path) -> ReplayOutcome:
    """A findings file (``corpus/findings.toml``) names traces: each must be in ``traces/``
    beside it (the traces themselves replay as traces)."""
    findings = tomllib.loads(path.read_text(encoding="utf-8")).get("findings", [])
    problems = []
    for finding in findings:
        trace = finding.get("trace") if isinstance(finding, dict) else None
        if not isinstance(trace, str) or not (path.parent / "traces" / trace).is_file():
            problems.append(f"finding {finding.get('id') if isinstance(finding, dict) else finding!r}:"
                            f" no trace {trace!r} in {path.parent / 'traces'}")
    return ReplayOutcome(path, "findings", len(findings), None, tuple(problems))


def replay(
    adapter: Adapter, paths: Sequence[str | Path], profile: Profile | None = None
) -> list[ReplayOutcome]:
    """Replay every corpus file under ``paths`` against ``adapter``, in order. A path may also
    name a shipped profile or a part of the shipped corpus (``"libvirt-current"``, ``"traces"``)."""
    found = [corpus_path(str(path)) for path in paths]
    return [replay_file(adapter, path, profile) for path in corpus_files(found)]


def check_xml_case(case: XmlCase) -> str | None:
    """What is wrong with snaporacle's answer to one XML case, or ``None``."""
    data = case.input.read_bytes()
    try:
        output = reformat_snapshot(data, case.options, source=case.input.name)
    except SnapshotXMLError as err:
        if case.mode is CaseMode.ERROR and err.error == case.error:
            return None
        return f"unexpected error {err.error}: {err}"
    if case.mode is CaseMode.ERROR:
        return f"expected error {case.error}, got a document"
    assert case.expect is not None
    if output != case.expect.read_text(encoding="utf-8"):
        return f"output differs from {case.expect.name}"
    return None
