"""The ``<domainsnapshot>`` XML corpus: ``corpus/xml/manifest.toml`` and the cases it lists.

Each ``[[cases]]`` table of the manifest is one case::

    [[cases]]
    name = "memory-external"            # unique; letters, digits, '-' and '_'
    about = "what the case covers"       # required
    input = "in/memory-external.xml"    # relative to the manifest
    expect = "out/memory-external.xml"  # the output, byte for byte; or, for a refused input:
    error = "VIR_ERR_XML_ERROR"          # the libvirt error code name, and
    message = "require a filename"       # a fragment of the message
    redefine = false                     # the options of FormatOptions, all optional
    internal = false
    validate = false
    state = "running"                    # running | paused | shutoff: apply the defaults
    disk_only = false
    creation_time = 1700000000
    uuid = "..."

:func:`load_manifest` rejects a bad manifest with :class:`CorpusError` naming the file and the
line of the case, and checks that every file it names exists.
"""

from __future__ import annotations

import enum
import re
import tomllib
from pathlib import Path
from typing import Any

import attrs

from .errors import CorpusError
from .model.modes import DomainState
from .model.snapshot_xml import FormatOptions

#: The shipped XML corpus.
XML_CORPUS_DIR = Path(__file__).parent / "corpus" / "xml"
MANIFEST_PATH = XML_CORPUS_DIR / "manifest.toml"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_OPTION_TYPES: dict[str, type] = {
    "redefine": bool,
    "internal": bool,
    "validate": bool,
    "disk_only": bool,
    "creation_time": int,
    "uuid": str,
    "state": str,
}
_KEYS = {"name", "about", "input", "expect", "error", "message", *_OPTION_TYPES}


class CaseMode(enum.Enum):
    """What a case checks: the formatted output, or the error the input earns."""

    OUTPUT = "output"
    ERROR = "error"


@attrs.frozen
class XmlCase:
    """One corpus case, with its files resolved against the manifest's folder."""

    name: str
    about: str
    line: int
    input: Path
    options: FormatOptions
    mode: CaseMode
    expect: Path | None = None
    error: str | None = None
    message: str | None = None


def _case_lines(text: str) -> list[int]:
    """The line of each ``[[cases]]`` header, in order."""
    return [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if re.match(r"\s*\[\[\s*cases\s*\]\]", line)
    ]


def _file(raw: dict[str, Any], key: str, folder: Path, where: str) -> Path:
    value = raw[key]
    if not isinstance(value, str) or Path(value).is_absolute() or ".." in Path(value).parts:
        raise CorpusError(f"{where}: {key} must be a relative path inside the corpus folder, "
                          f"not {value!r}")
    path = folder / value
    if not path.is_file():
        raise CorpusError(f"{where}: {key} file {value!r} does not exist; add it or fix the path")
    return path


def _options(raw: dict[str, Any], where: str) -> FormatOptions:
    values: dict[str, Any] = {}
    for key, kind in _OPTION_TYPES.items():
        if key not in raw:
            continue
        value = raw[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise CorpusError(f"{where}: {key} must be a {kind.__name__}, not {value!r}")
        values[key] = value
    if "state" in values:
        try:
            values["domain_state"] = DomainState(values.pop("state"))
        except ValueError:
            valid = ", ".join(state.value for state in DomainState)
            raise CorpusError(f"{where}: state must be one of {valid}, not "
                              f"{raw['state']!r}") from None
    return FormatOptions(**values)


def _case(raw: Any, folder: Path, where: str, line: int) -> XmlCase:
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: a case must be a table")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise CorpusError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: "
                          f"{', '.join(sorted(_KEYS))}")
    for key in ("name", "about", "input"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise CorpusError(f"{where}: {key} is required and must be a non-empty string")
    if not _NAME.fullmatch(raw["name"]):
        raise CorpusError(f"{where}: name {raw['name']!r} must be letters, digits, '-' and '_'")
    has_expect = "expect" in raw
    has_error = "error" in raw or "message" in raw
    if has_expect == has_error:
        raise CorpusError(f"{where}: case {raw['name']!r} needs either expect (an output file) "
                          "or error and message (a refused input), not both or neither")
    common = {
        "name": raw["name"],
        "about": raw["about"],
        "line": line,
        "input": _file(raw, "input", folder, where),
        "options": _options(raw, where),
    }
    if has_expect:
        return XmlCase(**common, mode=CaseMode.OUTPUT, expect=_file(raw, "expect", folder, where))
    for key in ("error", "message"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise CorpusError(f"{where}: {key} is required for an error case and must be a "
                              "non-empty string")
    if not raw["error"].startswith("VIR_ERR_"):
        raise CorpusError(f"{where}: error must be a libvirt error code name such as "
                          f"VIR_ERR_XML_ERROR, not {raw['error']!r}")
    return XmlCase(**common, mode=CaseMode.ERROR, error=raw["error"], message=raw["message"])


def load_manifest(path: Path = MANIFEST_PATH) -> tuple[XmlCase, ...]:
    """The cases of an XML corpus manifest; :class:`CorpusError` names the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CorpusError(f"{path}: cannot read the manifest: {err}") from err
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CorpusError(f"{path}: not valid TOML: {err}") from err
    extra = sorted(set(data) - {"cases"})
    if extra:
        raise CorpusError(f"{path}: unknown top-level key(s) {', '.join(extra)}; the manifest "
                          "holds only [[cases]] tables")
    raw_cases = data.get("cases")
    if not isinstance(raw_cases, list) or not raw_cases:
        raise CorpusError(f"{path}: no [[cases]] tables; add at least one case")
    lines = _case_lines(text)
    cases: list[XmlCase] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_cases):
        line = lines[index] if index < len(lines) else 0
        case = _case(raw, path.parent, f"{path}:{line}", line)
        if case.name in seen:
            raise CorpusError(f"{path}:{line}: case name {case.name!r} is already used at line "
                              f"{seen[case.name]}")
        seen[case.name] = line
        cases.append(case)
    return tuple(cases)
