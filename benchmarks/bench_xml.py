"""Throughput of snaporacle's XML layer against plain lxml, in one run.

For the same documents (snaporacle's XML corpus outputs, plus libvirt's round-trip data when the
shared folder beside the repository is there), it times

* snaporacle: ``parse_snapshot(validate=True)`` (hardened read, RelaxNG validation, libvirt's
  rules) followed by ``format_snapshot``;
* lxml: ``etree.fromstring`` and ``etree.tostring`` with a default parser.

and prints documents per second for both and their ratio. Run it as a script::

    python benchmarks/bench_xml.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from snaporacle.corpus_xml import CaseMode, load_manifest
from snaporacle.errors import SnapshotXMLError
from snaporacle.model.snapshot_xml import format_snapshot, parse_snapshot


def _documents() -> list[tuple[bytes, bool]]:
    """(document, redefine) pairs that parse; redefinitions are those with a <state>."""
    paths = [case.expect for case in load_manifest() if case.mode is CaseMode.OUTPUT]
    shared = Path(os.environ.get("SNAPORACLE_SHARED_DIR")
                  or Path(__file__).resolve().parents[2] / "shared")
    conformance = shared / "conformance" / "libvirt-xml2xml" / "out"
    paths += sorted(conformance.glob("*.xml")) if conformance.is_dir() else []
    documents = []
    for path in paths:
        if path is None:
            continue
        data = path.read_bytes()
        for redefine in (True, False):
            try:
                parse_snapshot(data, redefine=redefine, validate=True)
            except SnapshotXMLError:
                continue
            documents.append((data, redefine))
            break
    return documents


def _rate(work: Callable[[], None], count: int, seconds: float) -> float:
    """Documents per second of ``work`` (which handles ``count`` documents) over ``seconds``."""
    work()  # warm up: schema compiled, caches filled
    rounds, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        work()
        rounds += 1
    return rounds * count / elapsed


def main() -> None:
    """Measure and print both rates and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    documents = _documents()
    size = sum(len(data) for data, _ in documents)

    def snaporacle_round() -> None:
        for data, redefine in documents:
            format_snapshot(parse_snapshot(data, redefine=redefine, validate=True))

    def lxml_round() -> None:
        for data, _ in documents:
            etree.tostring(etree.fromstring(data))

    ours = _rate(snaporacle_round, len(documents), args.seconds)
    plain = _rate(lxml_round, len(documents), args.seconds)
    print(f"{len(documents)} documents, {size} bytes in all")
    print(f"snaporacle parse+validate+format: {ours:10.0f} docs/s")
    print(f"lxml parse+serialise:             {plain:10.0f} docs/s")
    print(f"ratio (lxml / snaporacle):        {plain / ours:10.1f}x")


if __name__ == "__main__":
    main()
