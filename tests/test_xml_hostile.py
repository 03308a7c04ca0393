"""Hostile documents: each is refused with a clear SnapshotXMLError, quickly and in little memory.

None of them may reach the file system or the network. The tests build each document in memory
(or in tmp_path) and are quick by construction: every refusal happens before or during one
bounded libxml2 parse. Memory is checked with tracemalloc (Python allocations only; libxml2's
own are bounded by its limits, which stay on).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from snaporacle.errors import SnapshotXMLError
from snaporacle.model.snapshot_xml import MAX_DEPTH, MAX_DOCUMENT_BYTES, parse_snapshot


def _laughs(levels: int = 9) -> str:
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, levels + 1):
        entities.append(f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">')
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n' + "\n".join(entities) + "\n]>\n"
        f"<domainsnapshot><name>&lol{levels};</name></domainsnapshot>\n"
    )


def _refused(document: str | bytes) -> SnapshotXMLError:
    """The error ``document`` earns; the refusal itself may allocate only a few MiB."""
    tracemalloc.start()
    try:
        with pytest.raises(SnapshotXMLError) as caught:
            parse_snapshot(document, source="hostile.xml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024
    assert caught.value.error == "VIR_ERR_XML_ERROR"
    assert str(caught.value).startswith("hostile.xml")
    assert "\n" not in str(caught.value)
    return caught.value


def test_billion_laughs_is_refused_as_doctype() -> None:
    assert "DOCTYPE" in str(_refused(_laughs()))


def test_billion_laughs_behind_a_comment_is_refused() -> None:
    document = _laughs().replace('<?xml version="1.0"?>\n', "<!-- innocent -->\n")
    assert "DOCTYPE" in str(_refused(document))


def test_doctype_in_utf16_is_refused() -> None:
    document = _laughs().replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
    assert "DOCTYPE" in str(_refused(document.encode("utf-16")))


def test_a_50_mb_document_is_refused_before_parsing() -> None:
    filler = b"x" * (50 * 1024 * 1024)
    error = _refused(b"<domainsnapshot><description>" + filler + b"</description></domainsnapshot>")
    assert f"limit of {MAX_DOCUMENT_BYTES}" in str(error)


def test_a_str_over_the_limit_is_refused_before_encoding() -> None:
    error = _refused("<domainsnapshot>" + " " * MAX_DOCUMENT_BYTES + "</domainsnapshot>")
    assert "limit" in str(error)


def test_just_under_the_limit_is_read() -> None:
    head, tail = "<domainsnapshot><description>", "</description></domainsnapshot>"
    filler = "x" * (MAX_DOCUMENT_BYTES - len(head) - len(tail))
    assert parse_snapshot(head + filler + tail).description == filler


def test_10000_deep_nesting_is_refused() -> None:
    document = "<domainsnapshot>" + "<a>" * 10_000 + "</a>" * 10_000 + "</domainsnapshot>"
    assert "depth" in str(_refused(document)).lower()


def test_nesting_past_our_own_limit_is_refused_with_its_line() -> None:
    inner = "<a>" * MAX_DEPTH + "</a>" * MAX_DEPTH
    document = f"<domainsnapshot>\n<domain type='kvm'>\n{inner}\n</domain>\n</domainsnapshot>"
    error = _refused(document)
    assert f"more than {MAX_DEPTH} deep" in str(error) and "hostile.xml:3:" in str(error)


def test_nesting_at_the_limit_is_read() -> None:
    inner = "<a>" * (MAX_DEPTH - 2) + "</a>" * (MAX_DEPTH - 2)
    document = f"<domainsnapshot><name>s</name><state>running</state>" \
        f"<creationTime>1</creationTime><domain type='kvm'>{inner}</domain></domainsnapshot>"
    assert parse_snapshot(document, redefine=True).domain_xml is not None


def test_external_entity_never_reads_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    document = (
        f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        "<domainsnapshot><name>&x;</name></domainsnapshot>"
    )
    error = _refused(document)
    assert "TOP-SECRET" not in str(error) and "DOCTYPE" in str(error)


def test_external_entity_in_utf16_never_reads_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    document = (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        "<domainsnapshot><description>&x;</description></domainsnapshot>"
    )
    error = _refused(document.encode("utf-16"))
    assert "TOP-SECRET" not in str(error)


def test_undeclared_entity_is_a_parse_error() -> None:
    error = _refused("<domainsnapshot><name>&x;</name></domainsnapshot>")
    assert "Entity 'x' not defined" in str(error)


def test_invalid_utf8_is_refused_with_its_line() -> None:
    error = _refused(b"<domainsnapshot>\n  <name>\xff\xfe</name>\n</domainsnapshot>")
    assert "hostile.xml:2:" in str(error) and "encoding" in str(error)


def test_lone_surrogate_in_a_str_is_refused() -> None:
    assert "Unicode" in str(_refused("<domainsnapshot><name>\ud800</name></domainsnapshot>"))


@pytest.mark.parametrize("document", ["", "   ", b"\x00\x01", "<domainsnapshot>"])
def test_garbage_is_a_parse_error(document: str | bytes) -> None:
    assert "not well-formed" in str(_refused(document))


def test_declared_encoding_of_bytes_is_honoured() -> None:
    document = '<?xml version="1.0" encoding="ISO-8859-1"?><domainsnapshot><name>café</name>' \
        "</domainsnapshot>"
    assert parse_snapshot(document.encode("latin-1")).name == "café"
    assert parse_snapshot(document).name == "café"
