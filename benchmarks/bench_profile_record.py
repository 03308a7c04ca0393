"""Seconds to record the 64 cells (plus rules and capabilities) against libvirt, per driver.

For each URI (``qemu:///embed``, and ``test:///default`` as a baseline) it times, in one process:

* ``open``: making the adapter (connection, embed root);
* ``record #1``: the first :func:`snaporacle.recorder.record_profile`; on the QEMU driver this
  includes probing QEMU's capabilities unless a previous process left them in the cache;
* ``reset #N``: after each round, destroying its running domain and removing its files;
* ``record #2..N``: the same again, with the driver warm;
* ``close``: closing the connection and removing the work directory.

``plan-1.0.1`` is the reference profile, as for ``snaporacle profile record``.

Run it as a script::

    python benchmarks/bench_profile_record.py [--rounds 3] [--uri qemu:///embed ...]
"""

from __future__ import annotations

import argparse
import datetime
import time

from snaporacle.adapters.libvirt import LibvirtAdapter
from snaporacle.profiles import load_profile
from snaporacle.recorder import record_profile


def bench(uri: str, rounds: int) -> list[tuple[str, float]]:
    """(step, seconds) for opening, each recording round and closing an adapter on ``uri``."""
    date = datetime.date.today().isoformat()
    reference = load_profile("plan-1.0.1")
    start = time.perf_counter()
    adapter = LibvirtAdapter(uri)
    timings = [("open", time.perf_counter() - start)]
    try:
        for round_ in range(1, rounds + 1):
            start = time.perf_counter()
            record_profile(adapter, name="bench", date=date, reference=reference)
            timings.append((f"record #{round_}", time.perf_counter() - start))
            start = time.perf_counter()
            adapter.reset()
            timings.append((f"reset #{round_}", time.perf_counter() - start))
    finally:
        start = time.perf_counter()
        adapter.close()
        timings.append(("close", time.perf_counter() - start))
    return timings


def main() -> None:
    """Time every URI and print one line per step."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3, help="recordings per URI (default 3)")
    parser.add_argument("--uri", action="append",
                        help="a libvirt URI (repeatable; default: qemu:///embed, test:///default)")
    args = parser.parse_args()
    for uri in args.uri or ["qemu:///embed", "test:///default"]:
        print(f"{uri}: 64 cells, rules and capabilities")
        for step, seconds in bench(uri, args.rounds):
            print(f"  {step:<10} {seconds:7.2f} s")


if __name__ == "__main__":
    main()
