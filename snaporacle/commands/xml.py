"""``snaporacle xml``: read ``<domainsnapshot>`` documents and write them the way libvirt does."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import SnapshotXMLError
from ..model.modes import DomainState
from ..model.snapshot_xml import MAX_DOCUMENT_BYTES, FormatOptions, reformat_snapshot

_EPILOG = """\
examples:
  snaporacle xml format corpus/xml/in/memory-external.xml --state running --creation-time 1700000000
  snaporacle xml format corpus/xml/in/internal-active.xml --redefine --internal
  cat corpus/xml/in/disk-internal.xml | snaporacle xml format - --disk-only

With --state (or --disk-only) the <memory> default of a new snapshot is filled in for that
domain state, and the state is recorded as the snapshot's <state>. Invalid input ends with
status 1 and one line on stderr naming the file, line and problem.
"""


def _read(path: str) -> bytes:
    """The document's bytes; one byte more than the size limit, so an oversized file is refused
    without reading all of it."""
    limit = MAX_DOCUMENT_BYTES + 1
    try:
        if path == "-":
            return sys.stdin.buffer.read(limit)
        with Path(path).open("rb") as handle:
            return handle.read(limit)
    except OSError as err:
        raise SnapshotXMLError(f"{path}: cannot read the file: {err.strerror or err}") from err


def _run_format(args: argparse.Namespace) -> int:
    options = FormatOptions(
        redefine=args.redefine,
        internal=args.internal,
        validate=args.validate,
        domain_state=DomainState(args.state) if args.state else None,
        disk_only=args.disk_only,
        creation_time=args.creation_time,
        uuid=args.uuid,
    )
    source = "<stdin>" if args.file == "-" else args.file
    sys.stdout.write(reformat_snapshot(_read(args.file), options, source=source))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``snaporacle xml`` and its ``format`` sub-command."""
    parser = subparsers.add_parser(
        "xml",
        help="parse and format <domainsnapshot> XML as libvirt does",
        description="Parse and format <domainsnapshot> XML as libvirt does.",
        epilog=_EPILOG,
    )
    verbs = parser.add_subparsers(dest="verb", required=True)
    fmt = verbs.add_parser(
        "format",
        help="print a snapshot document as libvirt would store it",
        description="Parse FILE with libvirt's snapshot rules and print it formatted as "
        "libvirt formats it.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fmt.add_argument("file", metavar="FILE", help="the <domainsnapshot> document ('-' = stdin)")
    fmt.add_argument("--redefine", action="store_true",
                     help="parse as a redefinition: name, state and creationTime are required and "
                     "the output-only elements are kept")
    fmt.add_argument("--internal", action="store_true",
                     help="libvirt's on-disk form: read and write the <active> marker")
    fmt.add_argument("--state", choices=[state.value for state in DomainState],
                     help="the domain's state: fill in the <memory> default and record <state>")
    fmt.add_argument("--disk-only", action="store_true",
                     help="a disk-only snapshot (memory 'no'; state 'running' unless --state)")
    fmt.add_argument("--creation-time", type=int, metavar="N",
                     help="stamp the snapshot with creation time N (seconds), and name it N "
                     "when it has no name")
    fmt.add_argument("--uuid", metavar="U",
                     help="the domain's uuid, written as <domain><uuid> when there is no <domain>")
    fmt.add_argument("--validate", action="store_true",
                     help="check the document against snaporacle's RelaxNG schema first")
    fmt.set_defaults(run=_run_format)
