"""``snaporacle profile``: measure a profile against an adapter, or compare two profiles."""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import attrs

from ..adapters.registry import load_adapter
from ..errors import ProfileError
from ..model.profile import (
    Accepted,
    Profile,
    ProfileCapabilities,
    Verdict,
    differing_cells,
    format_profile,
    same_verdict,
)
from ..profiles import load_profile
from ..sweep import record_profile

_EPILOG = """\
examples:
  snaporacle profile record --adapter fake --name fake-measured --date 2026-01-01 --out fake.toml
  snaporacle profile record --adapter libvirt --uri test:///default --name libvirt-test --out t.toml
  snaporacle profile diff libvirt-current fake.toml   # exits 1: disks recorded as resolved
  snaporacle profile diff plan-1.0.1 libvirt-current --reasons   # exits 1: they differ

On the real QEMU driver: --adapter libvirt --uri qemu:///embed (libvirt's QEMU driver in this
process, as root).

'record' runs all 64 cells, the rules and the capabilities against the adapter and writes a
profile that --profile PATH accepts. 'diff' lists the cells (and rules, capabilities) where two
profiles disagree, side by side; it exits 1 when they differ, 0 when they agree.
"""


def recording_name(adapter: object) -> str:
    """The default name of a recording: the driver and version the adapter measures
    (``measured_name()``, e.g. ``libvirt-11.3-qemu-embed``), else the profile it claims."""
    measured = getattr(adapter, "measured_name", None)
    if callable(measured):
        return str(measured())
    return str(adapter.capabilities.profile)  # type: ignore[attr-defined]


def _run_record(args: argparse.Namespace) -> int:
    adapter = load_adapter(args.adapter, uri=args.uri, workdir=args.workdir)
    try:
        profile = record_profile(
            adapter,
            name=args.name or recording_name(adapter),
            date=args.date or datetime.date.today().isoformat(),
            description=args.description,
            reference=load_profile(args.reference) if args.reference else None,
        )
    finally:
        adapter.close()
    text = format_profile(profile)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as err:
            raise ProfileError(f"{args.out}: cannot write the profile: {err}") from err
        print(f"wrote {args.out}: profile {profile.name}, 64 cells", file=sys.stderr)
    return 0


def describe(verdict: Verdict | None, reasons: bool = True) -> str:
    """One line for a verdict: the modes and mechanisms, or the outcome, code (and reason)."""
    if verdict is None:
        return "(no rule)"
    if isinstance(verdict, Accepted):
        mechanisms = " + ".join(m.value for m in verdict.mechanisms)
        return (
            f"accepted memory={verdict.memory.value} disk={verdict.disk.value} via {mechanisms}"
            f" ({verdict.state.value})"
        )
    line = f"{verdict.outcome.value} {verdict.error or ''}".rstrip()
    return f"{line}: {verdict.reason}" if reasons else line


def differences(a: Profile, b: Profile, reasons: bool = False) -> list[tuple[str, str, str]]:
    """Where two profiles disagree: (what, A's side, B's side) for cells, rules, capabilities.

    Rejections compare by outcome and error code; ``reasons`` compares their messages too.
    """
    rows = [
        (left.cell.key(), describe(left.verdict), describe(right.verdict))
        for left, right in differing_cells(a, b, reasons)
    ]
    for rule in ("mixed", "nothing", "partial_no"):
        left_rule, right_rule = getattr(a, rule), getattr(b, rule)
        if not same_verdict(left_rule, right_rule, reasons):
            rows.append((f"rules.{rule}", describe(left_rule), describe(right_rule)))
    for field in (f.name for f in attrs.fields(ProfileCapabilities)):
        left_cap, right_cap = getattr(a.capabilities, field), getattr(b.capabilities, field)
        if left_cap != right_cap:
            rows.append((f"capabilities.{field}", str(left_cap), str(right_cap)))
    return rows


def _run_diff(args: argparse.Namespace) -> int:
    a, b = load_profile(args.a), load_profile(args.b)
    rows = differences(a, b, args.reasons)
    if not rows:
        print(f"{a.name} and {b.name} agree on all 64 cells, the rules and the capabilities")
        return 0
    for what, left, right in rows:
        print(what)
        print(f"  {a.name}: {left}")
        print(f"  {b.name}: {right}")
    print(f"{len(rows)} difference(s) between {a.name} and {b.name}")
    return 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``snaporacle profile`` with its ``record`` and ``diff`` sub-commands."""
    parser = subparsers.add_parser(
        "profile",
        help="measure a profile against an adapter, or diff two profiles",
        description="Measure a profile against an adapter, or compare two profiles.",
        epilog=_EPILOG,
    )
    verbs = parser.add_subparsers(dest="verb", required=True)
    record = verbs.add_parser(
        "record",
        help="sweep the 64 cells against an adapter and write the measured profile",
        description="Sweep the 64 cells, the rules and the capabilities against an adapter and "
        "write what it does as a profile.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    record.add_argument("--adapter", required=True,
                        help="a registered adapter name (fake, qemu, libvirt...) or "
                        "package.module:Class")
    record.add_argument("--uri", help="the adapter's URI (libvirt: test:///default, "
                        "qemu:///embed, qemu:///embed?root=DIR, ...)")
    record.add_argument("--workdir", help="the adapter's work directory (default: a new "
                        "temporary one)")
    record.add_argument("--out", required=True, metavar="FILE",
                        help="where to write the profile ('-' = stdout)")
    record.add_argument("--name", help="the profile's name (default: the driver and version "
                        "measured, e.g. libvirt-11.3-qemu-embed)")
    record.add_argument("--description", help="the profile's description")
    record.add_argument("--date", help="the date recorded in the provenance (default: today)")
    record.add_argument("--reference", default="plan-1.0.1", metavar="PROFILE",
                        help="lends each cell its plan row and stands in for a rule the "
                        "driver does not refuse (default: plan-1.0.1; '' for none)")
    record.set_defaults(run=_run_record)
    diff = verbs.add_parser(
        "diff",
        help="list the cells where two profiles differ, side by side",
        description="List the cells, rules and capabilities where two profiles differ.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    diff.add_argument("a", metavar="A", help="a profile name or file")
    diff.add_argument("b", metavar="B", help="a profile name or file")
    diff.add_argument("--reasons", action="store_true",
                      help="also compare the messages of refusals (default: outcome and code)")
    diff.set_defaults(run=_run_diff)
