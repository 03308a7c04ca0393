"""Writing ``<domainsnapshot>`` documents the way libvirt does.

libvirt writes its XML by hand: two-space indentation, attributes in single quotes, ``<>&'"``
escaped in text and attributes, a fixed element order (SPEC.md section 6), empty elements
self-closed. One exception: a domain's ``<metadata>`` is dumped by libxml2 itself, so it and its
descendants get double quotes and namespace declarations before the attributes.

Subtrees snaporacle keeps without interpreting them (``<domain>``, ``<inactiveDomain>``,
``<cookie>``, a disk's ``<source>`` and ``<driver>``) are held in a definition as the text this
module writes for them at depth 0 (:func:`canonical_xml`), and are read again and re-indented to
their depth when the snapshot is formatted, so multi-line text inside them stays exact.

The hardened lxml parser is built here too (:func:`hardened_parser`), because re-reading a kept
subtree needs it as much as reading a whole document does.
"""

from __future__ import annotations

import enum

from lxml import etree

from .definition import SnapshotDefinition, SnapshotDisk
from .errors import SnapshotXMLError
from .modes import SnapshotState


class QuoteStyle(enum.Enum):
    """Who writes an element: libvirt's own formatter or libxml2's ``xmlNodeDump``."""

    LIBVIRT = "'"
    LIBXML = '"'


_ESCAPE_TEXT = {
    QuoteStyle.LIBVIRT: str.maketrans(
        {"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&apos;", '"': "&quot;", "\r": "&#13;"}
    ),
    QuoteStyle.LIBXML: str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}),
}
# Newlines and tabs in an attribute are written as references: a parser turns raw ones to spaces.
_ESCAPE_ATTR = {
    QuoteStyle.LIBVIRT: str.maketrans(
        {
            "&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&apos;", '"': "&quot;",
            "\n": "&#10;", "\r": "&#13;", "\t": "&#9;",
        }
    ),
    QuoteStyle.LIBXML: str.maketrans(
        {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
         "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
    ),
}

_XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"
#: Root elements whose ``<metadata>`` child libvirt dumps with libxml2.
_DOMAIN_ROOTS = frozenset({"domain", "inactiveDomain"})


def hardened_parser(*, force_utf8: bool = False) -> etree.XMLParser:
    """An lxml parser that never touches the file system or network and drops blank text.

    No entity is resolved, no DTD loaded, libxml2's own size and depth limits stay on, and
    comments and processing instructions are dropped (libvirt's formatter drops them too).
    ``force_utf8`` ignores an encoding declaration (for text that was a ``str``).
    """
    return etree.XMLParser(
        encoding="utf-8" if force_utf8 else None,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        remove_blank_text=True,
    )


def escape_text(value: str, style: QuoteStyle = QuoteStyle.LIBVIRT) -> str:
    """``value`` escaped for element content."""
    return value.translate(_ESCAPE_TEXT[style])


def escape_attr(value: str, style: QuoteStyle = QuoteStyle.LIBVIRT) -> str:
    """``value`` escaped for an attribute quoted in ``style``."""
    return value.translate(_ESCAPE_ATTR[style])


def _qualified(name: str, nsmap: dict[str | None, str], *, attribute: bool) -> str:
    """``prefix:local`` for a Clark name ``{uri}local``, by the prefixes in scope."""
    if not name.startswith("{"):
        return name
    uri, local = name[1:].split("}", 1)
    if uri == _XML_NAMESPACE:
        return f"xml:{local}"
    prefixes = [p for p, u in nsmap.items() if u == uri and (p is not None or not attribute)]
    prefix = min(prefixes, key=lambda p: (p is None, p or "")) if prefixes else None
    return f"{prefix}:{local}" if prefix else local


def _start_tag(
    element: etree._Element,
    inherited: dict[str | None, str],
    style: QuoteStyle,
    nsmap: dict[str | None, str] | None,
) -> str:
    """``<name attr='v' xmlns:p='u'`` without the closing bracket (``nsmap=None``: no namespace
    anywhere in the subtree, so names need no prefix lookup)."""
    quote = style.value
    if nsmap is None:
        attrs = [f" {key!s}={quote}{escape_attr(str(val), style)}{quote}"
                 for key, val in element.items()]
        return f"<{element.tag}{''.join(attrs)}"
    attrs = [
        f" {_qualified(str(key), nsmap, attribute=True)}={quote}"
        f"{escape_attr(str(val), style)}{quote}"
        for key, val in element.items()
    ]
    decls = [
        f" {'xmlns:' + prefix if prefix else 'xmlns'}={quote}{escape_attr(uri, style)}{quote}"
        for prefix, uri in nsmap.items()
        if inherited.get(prefix) != uri
    ]
    parts = decls + attrs if style is QuoteStyle.LIBXML else attrs + decls
    return f"<{_qualified(str(element.tag), nsmap, attribute=False)}{''.join(parts)}"


def _inline(element: etree._Element, inherited: dict[str | None, str], style: QuoteStyle) -> str:
    """An element with mixed content, written without indentation, as libxml2 does."""
    nsmap = dict(element.nsmap)
    name = _qualified(str(element.tag), nsmap, attribute=False)
    body = [escape_text(element.text or "", style)]
    for child in element:
        body.append(_inline(child, nsmap, style))
        body.append(escape_text(child.tail or "", style))
    content = "".join(body)
    start = _start_tag(element, inherited, style, nsmap)
    return f"{start}>{content}</{name}>" if content else f"{start}/>"


def _has_text(text: str | None) -> bool:
    return bool(text and not text.isspace())


# True when an element of the subtree (or the subtree's root) has a namespace in scope.
_NAMESPACED = etree.XPath("boolean(descendant-or-self::*/namespace::*[name() != 'xml'])")


def _write(
    out: list[str],
    element: etree._Element,
    depth: int,
    style: QuoteStyle,
    inherited: dict[str | None, str],
    namespaced: bool,
) -> None:
    indent = "  " * depth
    children = list(element)
    if children and (_has_text(element.text) or any(_has_text(c.tail) for c in children)):
        out.append(f"{indent}{_inline(element, inherited, style)}\n")
        return
    nsmap = dict(element.nsmap) if namespaced else None
    start = _start_tag(element, inherited, style, nsmap)
    name = element.tag if nsmap is None else _qualified(str(element.tag), nsmap, attribute=False)
    if not children:
        text = element.text
        out.append(f"{indent}{start}>{escape_text(text, style)}</{name}>\n"
                   if text else f"{indent}{start}/>\n")
        return
    out.append(f"{indent}{start}>\n")
    scope = nsmap or {}
    libxml_children = style is QuoteStyle.LIBVIRT and depth == 0 and element.tag in _DOMAIN_ROOTS
    for child in children:
        child_style = style
        if libxml_children and child.tag == "metadata":
            child_style = QuoteStyle.LIBXML
        _write(out, child, depth + 1, child_style, scope, namespaced)
    out.append(f"{indent}</{name}>\n")


def write_element(out: list[str], element: etree._Element, depth: int) -> None:
    """Append ``element`` to ``out`` as lines (each ending in a newline) indented at ``depth``.

    The element's own namespace declarations include every namespace in scope, so the text
    stands on its own. A ``<metadata>`` child of a ``<domain>``/``<inactiveDomain>`` written at
    depth 0 is written in libxml2's style.
    """
    _write(out, element, depth, QuoteStyle.LIBVIRT, {}, bool(_NAMESPACED(element)))


def canonical_xml(element: etree._Element) -> str:
    """The text a definition keeps for a subtree: ``element`` written at depth 0, no final newline.

    The root declares every namespace in scope, so the text stands on its own.
    """
    out: list[str] = []
    write_element(out, element, 0)
    return "".join(out).rstrip("\n")


def _reindent(out: list[str], fragment: str, depth: int, what: str) -> None:
    """Re-read a kept subtree and append it at ``depth``."""
    try:
        element = etree.fromstring(fragment.encode("utf-8"), hardened_parser(force_utf8=True))
    except (etree.XMLSyntaxError, UnicodeEncodeError) as err:
        raise SnapshotXMLError(
            f"the definition's {what} is not well-formed XML ({err}); give one XML element"
        ) from err
    # Re-written at depth 0 first: the domain-root rule for <metadata> keys on that depth.
    lines: list[str] = []
    write_element(lines, element, 0)
    out.extend("  " * depth + line for line in lines)


def _text_element(out: list[str], depth: int, name: str, value: str | None) -> None:
    if value is not None:
        out.append(f"{'  ' * depth}<{name}>{escape_text(value)}</{name}>\n")


def _format_disk(out: list[str], disk: SnapshotDisk) -> None:
    attrs = f" name='{escape_attr(disk.name)}'"
    if disk.snapshot is not None:
        attrs += f" snapshot='{disk.snapshot.value}'"
    source = disk.source_xml
    if source is None and disk.source_file is not None:
        key = "dev" if disk.type == "block" else "file"
        source = f"<source {key}='{escape_attr(disk.source_file)}'/>"
    driver = disk.driver_xml
    if driver is None and disk.driver_type is not None:
        driver = f"<driver type='{escape_attr(disk.driver_type)}'/>"
    disk_type = disk.type
    if disk_type is None and (source is not None or driver is not None):
        disk_type = "file"
    if disk_type is not None:
        attrs += f" type='{escape_attr(disk_type)}'"
    if source is None and driver is None:
        out.append(f"    <disk{attrs}/>\n")
        return
    out.append(f"    <disk{attrs}>\n")
    if driver is not None:
        _reindent(out, driver, 3, f"disk {disk.name!r} <driver>")
    if source is not None:
        _reindent(out, source, 3, f"disk {disk.name!r} <source>")
    out.append("    </disk>\n")


def format_snapshot(
    definition: SnapshotDefinition, *, internal: bool = False, uuid: str | None = None
) -> str:
    """The ``<domainsnapshot>`` document for ``definition``, as libvirt formats it.

    ``internal`` adds libvirt's ``<active>`` marker (its on-disk metadata form; ``active=None``
    counts as not current). ``uuid`` is the domain's: when the definition has no ``<domain>``,
    ``<domain><uuid>UUID</uuid></domain>`` is written, as libvirt does. A ``<memory>`` without a
    mode and file, a ``<state>`` of ``nostate``, a creation time of 0 and an empty ``<disks>``
    are left out, as libvirt leaves them out. Raises :class:`SnapshotXMLError` when a kept
    subtree of the definition is not well-formed.
    """
    out = ["<domainsnapshot>\n"]
    _text_element(out, 1, "name", definition.name)
    _text_element(out, 1, "description", definition.description)
    if definition.state is not None and definition.state is not SnapshotState.NOSTATE:
        out.append(f"  <state>{definition.state.value}</state>\n")
    if definition.parent is not None:
        out.append("  <parent>\n")
        _text_element(out, 2, "name", definition.parent)
        out.append("  </parent>\n")
    if definition.creation_time:
        out.append(f"  <creationTime>{definition.creation_time}</creationTime>\n")
    mode = definition.memory_mode
    if mode is not None:
        memory_file = definition.memory.file if definition.memory is not None else None
        file_attr = "" if memory_file is None else f" file='{escape_attr(memory_file)}'"
        out.append(f"  <memory snapshot='{mode.value}'{file_attr}/>\n")
    if definition.disks:
        out.append("  <disks>\n")
        for disk in definition.disks:
            _format_disk(out, disk)
        out.append("  </disks>\n")
    if definition.domain_xml is not None:
        _reindent(out, definition.domain_xml, 1, "<domain>")
    elif uuid is not None:
        out.append(f"  <domain>\n    <uuid>{escape_text(uuid)}</uuid>\n  </domain>\n")
    if definition.inactive_domain_xml is not None:
        _reindent(out, definition.inactive_domain_xml, 1, "<inactiveDomain>")
    if definition.cookie_xml is not None:
        _reindent(out, definition.cookie_xml, 1, "<cookie>")
    if internal:
        out.append(f"  <active>{1 if definition.active else 0}</active>\n")
    out.append("</domainsnapshot>\n")
    return "".join(out)
