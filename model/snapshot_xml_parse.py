"""Reading ``<domainsnapshot>`` documents into :class:`SnapshotDefinition`, like libvirt does.

Two layers. :func:`read_document` turns untrusted bytes into an lxml element and nothing else:
the size is capped before parsing (:data:`MAX_DOCUMENT_BYTES`), a DOCTYPE is refused (so no
entity can be declared, let alone expanded or fetched), no entity is resolved, no DTD loaded, no
network used, and the nesting depth is capped (:data:`MAX_DEPTH`). :func:`parse_snapshot` then
applies the rules of libvirt's ``virDomainSnapshotDefParse`` (``src/conf/snapshot_conf.c``) and
of the QEMU driver's name check, and normalises the way libvirt's parser does (a ``file`` implies
external memory, a disk with a path or format is external and of type ``file`` by default), so
that formatting gives libvirt's output.

Every error is a :class:`SnapshotXMLError` whose ``error`` is the libvirt error code name and
whose message names the source and line.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import attrs
from lxml import etree

from .definition import MemorySpec, SnapshotDefinition, SnapshotDisk
from .errors import SchemaError, SnapshotXMLError
from .modes import DiskMode, MemoryMode, SnapshotState
from .snapshot_xml_format import canonical_xml, hardened_parser

#: Largest document accepted, in bytes (checked before parsing). A libvirt domain definition
#: with many devices is a few tens of KiB, so 1 MiB leaves room and bounds memory and time.
MAX_DOCUMENT_BYTES = 1024 * 1024
#: Deepest element nesting accepted (the root is depth 1). Domain definitions need about 8.
MAX_DEPTH = 64

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "domainsnapshot.rng"

XML_ERROR = "VIR_ERR_XML_ERROR"
XML_DETAIL = "VIR_ERR_XML_DETAIL"
INTERNAL_ERROR = "VIR_ERR_INTERNAL_ERROR"
CONFIG_UNSUPPORTED = "VIR_ERR_CONFIG_UNSUPPORTED"

# Anything that may come before the root element, other than a DOCTYPE.
_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
# The first element deeper than MAX_DEPTH, if any; XPath walks the tree in C.
_TOO_DEEP = etree.XPath("(" + "/*" * (MAX_DEPTH + 1) + ")[1]")

_OFFLINE_STATES = frozenset({SnapshotState.SHUTOFF, SnapshotState.DISK_SNAPSHOT})
#: libvirt's virStorageType values accepted for a snapshot disk (dir and volume are refused).
_DISK_TYPES = frozenset({"file", "block", "network", "nvme", "vhost-user", "vhost-vdpa"})
#: The ``<source>`` attribute holding the image path, by disk type.
_PATH_ATTRIBUTE = {"file": "file", "block": "dev", "network": "name", "vhost-user": "path",
                   "vhost-vdpa": "dev"}
#: libvirt's virStorageFileFormat names (``none`` excluded).
_DISK_FORMATS = frozenset({
    "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd", "ploop", "cow",
    "qcow", "qcow2", "qed", "vmdk",
})


def _error(source: str, line: int | None, message: str, code: str = XML_ERROR) -> SnapshotXMLError:
    where = f"{source}:{line}" if line else source
    return SnapshotXMLError(f"{where}: {message}", code)


def _line(element: etree._Element | None) -> int | None:
    """The source line of ``element`` when lxml knows it."""
    line = element.sourceline if element is not None else None
    return line if isinstance(line, int) else None


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _as_bytes(text: str | bytes, source: str) -> bytes:
    if isinstance(text, bytes):
        if len(text) > MAX_DOCUMENT_BYTES:
            raise _error(source, None, f"document is {len(text)} bytes, more than the limit of "
                         f"{MAX_DOCUMENT_BYTES}; a snapshot definition is far smaller")
        return text
    if len(text) > MAX_DOCUMENT_BYTES:
        raise _error(source, None, f"document is {len(text)} characters, more than the limit of "
                     f"{MAX_DOCUMENT_BYTES} bytes; a snapshot definition is far smaller")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise _error(source, None, f"document is not valid Unicode: {err}") from err
    if len(data) > MAX_DOCUMENT_BYTES:
        raise _error(source, None, f"document is {len(data)} bytes in UTF-8, more than the limit "
                     f"of {MAX_DOCUMENT_BYTES}; a snapshot definition is far smaller")
    return data


def _refuse_doctype(data: bytes, source: str) -> None:
    """Refuse a DOCTYPE before libxml2 sees it (UTF-8, ASCII-compatible or UTF-16 with a BOM)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = data.decode("utf-16", errors="replace").encode("utf-8", errors="replace")
    position = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while match := _PROLOG_ITEM.match(data, position):
        position = match.end()
    if data.startswith(b"<!DOCTYPE", position):
        line = data.count(b"\n", 0, position) + 1
        raise _error(source, line, "DOCTYPE declarations are not accepted (no DTD or entity may "
                     "be declared); remove the <!DOCTYPE ...> line")


def read_document(text: str | bytes, source: str = "<xml>") -> etree._Element:
    """The root element of an untrusted XML document, or :class:`SnapshotXMLError`.

    Hostile input (oversized, a DOCTYPE or entity, too deep, not well-formed, invalid UTF-8)
    fails fast with bounded memory and never reaches the file system or the network.
    """
    data = _as_bytes(text, source)
    _refuse_doctype(data, source)
    parser = hardened_parser(force_utf8=isinstance(text, str))
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        line = err.lineno if err.lineno else None
        raise _error(source, line, f"not well-formed XML: {_one_line(err.msg or str(err))}"
                     ) from err
    except ValueError as err:  # e.g. an encoding declaration lxml cannot honour
        raise _error(source, None, f"cannot read the document: {err}") from err
    if root is None:
        raise _error(source, None, "the document is empty; give a <domainsnapshot> element")
    docinfo = root.getroottree().docinfo
    dtds = (docinfo.internalDTD, docinfo.externalDTD)
    if getattr(docinfo, "doctype", "") or any(dtd is not None for dtd in dtds):
        raise _error(source, 1, "DOCTYPE declarations are not accepted (no DTD or entity may be "
                     "declared); remove the <!DOCTYPE ...> line")
    too_deep = _TOO_DEEP(root)
    if isinstance(too_deep, list) and too_deep:
        first = too_deep[0]
        line = _line(first) if isinstance(first, etree._Element) else None
        raise _error(source, line, f"elements are nested more than {MAX_DEPTH} deep; a snapshot "
                     "definition needs far fewer levels")
    return root


@functools.cache
def _schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMA_PATH), hardened_parser()))


def validate_element(root: etree._Element, source: str = "<xml>") -> None:
    """Check ``root`` against snaporacle's RelaxNG schema; raise :class:`SchemaError` if not."""
    schema = _schema()
    if schema.validate(root):
        return
    error = schema.error_log.last_error
    line = error.line if error is not None else _line(root)
    message = _one_line(error.message) if error is not None else "does not match"
    raise SchemaError(f"{source}:{line}: not a valid <domainsnapshot> (schema "
                      f"{SCHEMA_PATH.name}): {message}", "VIR_ERR_XML_INVALID_SCHEMA")


def _string(root: etree._Element, path: str) -> tuple[str | None, int | None]:
    """XPath ``string(path)`` and the line of the element; ``None`` for absent or empty."""
    element = root.find(path)
    if element is None:
        return None, None
    value = "".join(str(piece) for piece in element.itertext())
    return (value or None), _line(element)


def _enum_attr(element: etree._Element, name: str, values: tuple[str, ...],
               source: str) -> str | None:
    value = element.get(name)
    if value is None:
        return None
    if value not in values:
        raise _error(source, _line(element),
                     f"invalid value {value!r} for attribute {name!r} of <{element.tag}>; "
                     f"use one of {', '.join(values)}")
    return value


def _memory(root: etree._Element, *, redefine: bool, offline: bool,
            source: str) -> MemorySpec | None:
    element = root.find("memory")
    line = _line(element)
    mode: MemoryMode | None = None
    file: str | None = None
    if element is not None:
        file = element.get("file")
        value = _enum_attr(element, "snapshot", ("no", "internal", "external", "manual"), source)
        if value == "manual":
            raise _error(source, line, "'manual' memory snapshot mode not supported; use no, "
                         "internal or external")
        mode = MemoryMode(value) if value else None
    if mode is None:
        if file is not None:
            mode = MemoryMode.EXTERNAL
        elif redefine:
            mode = MemoryMode.NO if offline else MemoryMode.INTERNAL
    if file is not None and mode is not MemoryMode.EXTERNAL:
        raise _error(source, line, f"memory filename {file!r} requires external snapshot; set "
                     "snapshot='external' or drop the file attribute")
    if file is None and mode is MemoryMode.EXTERNAL:
        raise _error(source, line, "external memory snapshots require a filename; add "
                     "file='/absolute/path' to <memory>")
    if offline and mode in (MemoryMode.INTERNAL, MemoryMode.EXTERNAL):
        raise _error(source, line, "memory state cannot be saved with offline or disk-only "
                     "snapshot; use <memory snapshot='no'/>")
    if file is not None and not file.startswith("/"):
        raise _error(source, line, f"memory snapshot file path ({file}) must be absolute; give "
                     "a path starting with '/'")
    return None if mode is None else MemorySpec(snapshot=mode, file=file)


def _kept(element: etree._Element | None) -> str | None:
    """The kept text of an optional ``<source>``/``<driver>``; ``None`` when it says nothing."""
    if element is None or (not element.attrib and len(element) == 0 and not element.text):
        return None
    return canonical_xml(element)


def _disk(element: etree._Element, source: str) -> SnapshotDisk:
    line = _line(element)
    name = element.get("name")
    if name is None:
        raise _error(source, line, "missing name from disk snapshot element; add name='vda' "
                     "(a target) or an absolute source path", INTERNAL_ERROR)
    value = _enum_attr(element, "snapshot", ("no", "internal", "external", "manual"), source)
    if value == "manual":
        raise _error(source, line, f"disk {name!r}: snapshot mode 'manual' is not modelled by "
                     "snaporacle; use no, internal or external", CONFIG_UNSUPPORTED)
    mode = DiskMode(value) if value else None
    given_type = element.get("type")
    if given_type in ("dir", "volume"):
        raise _error(source, line, f"unsupported disk snapshot type '{given_type}'")
    if given_type is not None and given_type not in _DISK_TYPES:
        raise _error(source, line, f"invalid value {given_type!r} for attribute 'type' of "
                     f"<disk>; use one of {', '.join(sorted(_DISK_TYPES))}")
    disk_type = given_type or "file"
    src = element.find("source")
    driver = element.find("driver")
    path_key = _PATH_ATTRIBUTE.get(disk_type)
    path = (src.get(path_key) or None) if src is not None and path_key else None
    fmt = (driver.get("type") or None) if driver is not None else None
    if fmt is not None and fmt not in _DISK_FORMATS:
        raise _error(source, _line(driver) or line,
                     f"unknown disk snapshot driver '{fmt}'; use qcow2 or qed",
                     CONFIG_UNSUPPORTED)
    if path is not None and disk_type in ("file", "block") and not path.startswith("/"):
        raise _error(source, _line(src) or line,
                     f"disk snapshot image path '{path}' must be absolute; give a "
                     "path starting with '/'")
    if mode is None and (path is not None or fmt is not None):
        mode = DiskMode.EXTERNAL
    if path is not None and mode is not DiskMode.EXTERNAL:
        raise _error(source, line, f"file '{path}' for disk '{name}' requires use of external "
                     "snapshot mode", CONFIG_UNSUPPORTED)
    if path is None and fmt is None:
        return SnapshotDisk(name=name, snapshot=mode)
    return SnapshotDisk(
        name=name,
        snapshot=mode,
        type=disk_type,
        source_file=path if disk_type in ("file", "block") else None,
        driver_type=fmt,
        source_xml=_kept(src),
        driver_xml=_kept(driver),
    )


def _redefined(root: etree._Element, source: str) -> dict[str, Any]:
    """The output-only elements a redefinition carries, checked as libvirt does."""
    value, line = _string(root, "creationTime")
    if value is None or not re.fullmatch(r"\s*[-+]?\d+\s*", value):
        raise _error(source, line or _line(root), "missing creationTime from existing "
                     "snapshot; a redefinition needs <creationTime>SECONDS</creationTime>",
                     INTERNAL_ERROR)
    creation_time = int(value)
    state_text, line = _string(root, "state")
    if state_text is None:
        raise _error(source, _line(root), "missing state from existing snapshot; a "
                     "redefinition needs <state>running|paused|shutoff|disk-snapshot</state>")
    try:
        state = SnapshotState(state_text)
    except ValueError:
        state = SnapshotState.NOSTATE
    if state is SnapshotState.NOSTATE:
        raise _error(source, line, f"Invalid state '{state_text}' in domain snapshot XML",
                     CONFIG_UNSUPPORTED)
    domain = root.find("domain")
    # A <domain> without type is the old <domain><uuid> form; libvirt drops it and writes the
    # domain's own uuid back instead.
    domain_xml = canonical_xml(domain) if domain is not None and domain.get("type") else None
    inactive = root.find("inactiveDomain")
    cookie = root.find("cookie")
    offline = state in _OFFLINE_STATES
    return {
        "creation_time": creation_time,
        "parent": _string(root, "parent/name")[0],
        "state": state,
        "domain_xml": domain_xml,
        "inactive_domain_xml": canonical_xml(inactive) if inactive is not None else None,
        "cookie_xml": canonical_xml(cookie) if cookie is not None and not offline else None,
    }


def _active(root: etree._Element, source: str) -> bool:
    value, line = _string(root, "active")
    if value is None or not re.fullmatch(r"\s*[-+]?\d+\s*", value):
        raise _error(source, line or _line(root), "Could not find 'active' element; "
                     "libvirt's internal form needs <active>0</active> or <active>1</active>",
                     INTERNAL_ERROR)
    return int(value) != 0


def _check_name(name: str | None, line: int | None, source: str) -> None:
    if name is None:
        return
    if "/" in name:
        raise _error(source, line, f"invalid snapshot name '{name}': name can't contain '/'",
                     XML_DETAIL)
    if name.startswith("."):
        raise _error(source, line, f"invalid snapshot name '{name}': name can't start with '.'",
                     XML_DETAIL)


def parse_snapshot(
    text: str | bytes,
    *,
    redefine: bool = False,
    internal: bool = False,
    validate: bool = False,
    source: str = "<xml>",
) -> SnapshotDefinition:
    """Parse a ``<domainsnapshot>`` document as libvirt's snapshot parser does.

    ``redefine`` (``VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE``) requires a name, state and creation
    time and keeps the output-only elements (state, parent, creationTime, domain,
    inactiveDomain, cookie); without it they are ignored. ``internal`` reads libvirt's on-disk
    form, whose ``<active>`` marker is then required. ``validate`` checks the document against
    snaporacle's RelaxNG schema first (``VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE``). ``source``
    names the document in error messages. Raises :class:`SnapshotXMLError` (or its subclass
    :class:`SchemaError`) saying what is wrong and on which line.
    """
    root = read_document(text, source)
    if validate:
        validate_element(root, source)
    if root.tag != "domainsnapshot":
        raise _error(source, _line(root), f"the root element is <{root.tag}>; a snapshot "
                     "definition is a <domainsnapshot> element")
    name, name_line = _string(root, "name")
    if name is None and redefine:
        raise _error(source, _line(root), "a redefined snapshot must have a name; add "
                     "<name>...</name>")
    fields: dict[str, Any] = _redefined(root, source) if redefine else {}
    offline = fields.get("state") in _OFFLINE_STATES
    memory = _memory(root, redefine=redefine, offline=offline, source=source)
    disks_element = root.find("disks")
    disks = None
    if disks_element is not None:
        disks = tuple(_disk(child, source) for child in disks_element)
    if internal:
        fields["active"] = _active(root, source)
    _check_name(name, name_line, source)
    definition = SnapshotDefinition(
        name=name, description=_string(root, "description")[0], memory=memory, disks=disks
    )
    return attrs.evolve(definition, **fields)
