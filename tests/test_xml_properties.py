"""Property tests of the XML layer: format and parse are inverse, and the schema holds."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from snaporacle.errors import SnapshotXMLError
from snaporacle.model.defaults import with_defaults
from snaporacle.model.definition import MemorySpec, SnapshotDefinition, SnapshotDisk
from snaporacle.model.modes import DiskMode, DomainState, MemoryMode, SnapshotState
from snaporacle.model.snapshot_xml import (
    format_snapshot,
    parse_snapshot,
    validate_snapshot_xml,
)
from snaporacle.model.snapshot_xml_format import canonical_xml

# Every character XML 1.0 allows, minus surrogates; a few specials made likely.
_CHAR = st.one_of(
    st.sampled_from("&<>'\"\t\n\r /.-_ é→"),
    st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\ufffe\uffff",
        min_codepoint=0x20,
    ),
)
TEXT = st.text(_CHAR, min_size=1, max_size=20).filter(lambda s: s.strip())
NAME = TEXT.filter(lambda s: "/" not in s and not s.startswith("."))
PATH = st.builds(lambda tail: "/" + tail, st.text(_CHAR, max_size=20))
TAG = st.from_regex(r"[a-z][a-z0-9_-]{0,7}", fullmatch=True)
OFFLINE = {SnapshotState.SHUTOFF, SnapshotState.DISK_SNAPSHOT}


@st.composite
def _element(draw: st.DrawFn, tag: str | None = None, depth: int = 0) -> etree._Element:
    element = etree.Element(tag or draw(TAG))
    for key, value in draw(st.dictionaries(TAG, st.text(_CHAR, max_size=8), max_size=3)).items():
        element.set(key, value)
    if depth < 3 and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            element.append(draw(_element(depth=depth + 1)))
    else:
        element.text = draw(st.none() | TEXT)
    return element


@st.composite
def kept_domain(draw: st.DrawFn, root: str = "domain") -> str:
    """A domain definition as a definition keeps it: the canonical text of a random tree."""
    element = draw(_element(root))
    element.set("type", draw(st.sampled_from(["kvm", "qemu"])))
    if draw(st.booleans()):
        metadata = etree.SubElement(element, "metadata")
        uri = "https://example.org/ns"
        note = etree.SubElement(metadata, f"{{{uri}}}note", nsmap={"ex": uri})
        note.set("level", draw(st.text(_CHAR, max_size=6)))
        note.text = draw(st.none() | TEXT)
    return canonical_xml(element)


@st.composite
def disks(draw: st.DrawFn) -> SnapshotDisk:
    name = draw(TEXT)
    kind = draw(st.sampled_from(["bare", "file", "block", "driver-only"]))
    if kind == "bare":
        return SnapshotDisk(name=name, snapshot=draw(st.none() | st.sampled_from(DiskMode)))
    fmt = draw(st.none() | st.sampled_from(["qcow2", "qed", "raw"]))
    driver = None if fmt is None else canonical_xml(etree.Element("driver", type=fmt))
    if kind == "driver-only":
        fmt = fmt or "qcow2"
        driver = canonical_xml(etree.Element("driver", type=fmt))
        return SnapshotDisk(name=name, snapshot=DiskMode.EXTERNAL, type="file",
                            driver_type=fmt, driver_xml=driver)
    path = draw(PATH)
    source = etree.Element("source", {"file" if kind == "file" else "dev": path})
    return SnapshotDisk(
        name=name, snapshot=DiskMode.EXTERNAL, type=kind, source_file=path, driver_type=fmt,
        source_xml=canonical_xml(source), driver_xml=driver,
    )


def _memory(draw: st.DrawFn, offline: bool) -> MemorySpec:
    mode = MemoryMode.NO if offline else draw(st.sampled_from(MemoryMode))
    return MemorySpec(snapshot=mode, file=draw(PATH) if mode is MemoryMode.EXTERNAL else None)


@st.composite
def redefinitions(draw: st.DrawFn) -> SnapshotDefinition:
    """Definitions as libvirt's parser leaves a redefinition in its on-disk form."""
    state = draw(st.sampled_from([s for s in SnapshotState if s is not SnapshotState.NOSTATE]))
    offline = state in OFFLINE
    cookie = None
    if not offline and draw(st.booleans()):
        cookie = canonical_xml(draw(_element("cookie")))
    return SnapshotDefinition(
        name=draw(NAME),
        description=draw(st.none() | TEXT),
        state=state,
        parent=draw(st.none() | NAME),
        creation_time=draw(st.integers(1, 2**62)),
        memory=_memory(draw, offline),
        disks=draw(st.none() | st.lists(disks(), min_size=1, max_size=4)),
        domain_xml=draw(st.none() | kept_domain()),
        inactive_domain_xml=draw(st.none() | kept_domain("inactiveDomain")),
        cookie_xml=cookie,
        active=draw(st.booleans()),
    )


@st.composite
def new_definitions(draw: st.DrawFn) -> SnapshotDefinition:
    """Definitions of a new snapshot: no output-only elements, memory maybe absent."""
    memory = _memory(draw, offline=False) if draw(st.booleans()) else None
    return SnapshotDefinition(
        name=draw(st.none() | NAME),
        description=draw(st.none() | TEXT),
        memory=memory,
        disks=draw(st.none() | st.lists(disks(), min_size=1, max_size=4)),
    )


_SETTINGS: dict[str, Any] = {"max_examples": 100, "deadline": None,
                             "suppress_health_check": [HealthCheck.too_slow]}


@settings(**_SETTINGS)
@given(redefinitions())
def test_redefinition_round_trips(definition: SnapshotDefinition) -> None:
    text = format_snapshot(definition, internal=True)
    assert parse_snapshot(text, redefine=True, internal=True) == definition


@settings(**_SETTINGS)
@given(redefinitions())
def test_formatted_documents_match_the_schema(definition: SnapshotDefinition) -> None:
    validate_snapshot_xml(format_snapshot(definition, internal=True))
    validate_snapshot_xml(format_snapshot(definition, uuid="6f1c2a56-0b7e-4c43-9d55-1d2b8f0a9e11"))


@settings(**_SETTINGS)
@given(new_definitions())
def test_new_definition_round_trips(definition: SnapshotDefinition) -> None:
    text = format_snapshot(definition)
    validate_snapshot_xml(text)
    assert parse_snapshot(text) == definition


@settings(**_SETTINGS)
@given(new_definitions(), st.sampled_from(DomainState), st.booleans())
def test_output_always_has_memory(
    definition: SnapshotDefinition, state: DomainState, disk_only: bool
) -> None:
    offline = disk_only or not state.active
    saves_memory = definition.memory_mode in (MemoryMode.INTERNAL, MemoryMode.EXTERNAL)
    if offline and saves_memory:
        try:
            with_defaults(definition, state, disk_only)
        except SnapshotXMLError as err:
            assert "memory state cannot be saved" in str(err)
            return
        raise AssertionError("memory state was accepted for an offline or disk-only snapshot")
    completed = with_defaults(definition, state, disk_only)
    expected = definition.memory_mode or (MemoryMode.NO if offline else MemoryMode.INTERNAL)
    assert completed.memory_mode is expected
    text = format_snapshot(completed)
    assert f"<memory snapshot='{expected.value}'" in text
    validate_snapshot_xml(text)
