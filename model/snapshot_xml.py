"""The ``<domainsnapshot>`` XML layer: parse, format, validate, and the whole round trip.

:func:`parse_snapshot` (in :mod:`.snapshot_xml_parse`) reads untrusted XML into a
:class:`SnapshotDefinition` under libvirt's rules; :func:`format_snapshot` (in
:mod:`.snapshot_xml_format`) writes one the way libvirt does; :func:`validate_snapshot_xml`
checks a document against snaporacle's RelaxNG schema (``schema/domainsnapshot.rng``).
:func:`reformat_snapshot` chains them as libvirt does for a snapshot it creates or redefines,
with the defaults of :mod:`.defaults`: it is what ``snaporacle xml format``, the XML corpus and
the libvirt conformance test run.
"""

from __future__ import annotations

import attrs

from .defaults import snapshot_state, with_creation_time, with_defaults
from .definition import SnapshotDefinition
from .modes import DomainState, SnapshotState
from .snapshot_xml_format import format_snapshot
from .snapshot_xml_parse import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    SCHEMA_PATH,
    parse_snapshot,
    read_document,
    validate_element,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "SCHEMA_PATH",
    "FormatOptions",
    "apply_options",
    "format_snapshot",
    "parse_snapshot",
    "reformat_snapshot",
    "validate_snapshot_xml",
]


def validate_snapshot_xml(text: str | bytes, source: str = "<xml>") -> None:
    """Check a document against snaporacle's RelaxNG schema.

    Raises :class:`SchemaError` with the line of the first mismatch, or
    :class:`SnapshotXMLError` when the document cannot even be read safely.
    """
    validate_element(read_document(text, source), source)


@attrs.frozen
class FormatOptions:
    """How :func:`reformat_snapshot` treats a document.

    ``redefine``, ``internal`` and ``validate`` are :func:`parse_snapshot`'s. ``domain_state``
    applies :func:`with_defaults` for that state and records it as the snapshot's ``<state>``
    (``disk-snapshot`` for a disk-only snapshot of an active domain); ``disk_only`` without a
    state assumes a running domain. ``running`` sets ``<state>running</state>`` alone, as
    libvirt's own round-trip test does. ``creation_time`` stamps a new snapshot (and names it
    when it has no name); ``uuid`` is the domain's, written as ``<domain><uuid>`` when the
    definition has no ``<domain>``.
    """

    redefine: bool = False
    internal: bool = False
    validate: bool = False
    domain_state: DomainState | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.instance_of(DomainState)),
    )
    disk_only: bool = False
    running: bool = False
    creation_time: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(int))
    )
    uuid: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(str))
    )


def apply_options(
    definition: SnapshotDefinition, options: FormatOptions, *, source: str = "<xml>"
) -> SnapshotDefinition:
    """The definition after the creation time, defaults and state that ``options`` ask for.

    Raises :class:`SnapshotXMLError` naming ``source`` when the defaults refuse the memory.
    """
    if options.creation_time is not None:
        definition = with_creation_time(definition, options.creation_time)
    state = options.domain_state
    if state is None and options.disk_only:
        state = DomainState.RUNNING
    if state is not None:
        definition = with_defaults(definition, state, options.disk_only, source=source)
        definition = attrs.evolve(definition, state=snapshot_state(state, options.disk_only))
    if options.running:
        definition = attrs.evolve(definition, state=SnapshotState.RUNNING)
    return definition


def reformat_snapshot(
    text: str | bytes, options: FormatOptions | None = None, *, source: str = "<xml>"
) -> str:
    """Parse, complete and format a document as libvirt would store it; see :class:`FormatOptions`.

    Raises :class:`SnapshotXMLError` (or :class:`SchemaError`) for a document libvirt refuses.
    """
    options = FormatOptions() if options is None else options
    definition = parse_snapshot(
        text,
        redefine=options.redefine,
        internal=options.internal,
        validate=options.validate,
        source=source,
    )
    return format_snapshot(
        apply_options(definition, options, source=source),
        internal=options.internal,
        uuid=options.uuid,
    )
