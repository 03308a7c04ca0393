"""Operations per second of each real backend verb (qemu-img, qemu-io, QEMU over QMP) and its fake.

Run: ``python benchmarks/bench_backends.py [--real-ops 20] [--fake-ops 2000]``. Each verb runs a
fixed number of times on each side, in a fresh temporary work directory, and the table shows
both rates and how many times faster the fake is.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from snaporacle.adapters.qemu import QemuImageTool, QemuLauncher
from snaporacle.errors import ComponentMissing
from snaporacle.fakes import FakeImageTool, FakeLauncher
from snaporacle.reference.backend import DiskAttachment, ImageTool, Launcher, Monitor, SnapshotAction

Setup = Callable[["Bench", int], Any]
Op = Callable[["Bench", Any, int], object]


class Bench:
    """One side's backends in a work directory, with a base image and a running domain."""

    def __init__(self, root: str, images: ImageTool, launcher: Launcher) -> None:
        self.root = root
        self.images = images
        self.launcher = launcher
        self.base = self.path("base.qcow2")
        images.create(self.base, "qcow2")
        images.write(self.base, "qcow2", 0, 1)
        self.top = self.path("top.qcow2")
        images.create(self.top, "qcow2", backing=self.base, backing_fmt="qcow2")
        self._monitor: Monitor | None = None

    def path(self, name: str) -> str:
        """A path under the work directory."""
        return os.path.join(self.root, name)

    def monitor(self) -> Monitor:
        """A running domain on its own disk (started once, on first use)."""
        if self._monitor is None:
            disk = self.path("running.qcow2")
            self.images.create(disk, "qcow2")
            self._monitor = self.launcher.launch("bench", [DiskAttachment("vda", disk, "qcow2")])
        return self._monitor

    def close(self) -> None:
        """Stop every QEMU."""
        self.launcher.close()


def _tags(bench: Bench, count: int) -> None:
    for i in range(count):
        bench.images.snapshot_create(bench.base, f"t{i}")


def _vm_tags(bench: Bench, count: int) -> Monitor:
    monitor = bench.monitor()
    for i in range(count):
        monitor.savevm(f"v{i}")
    return monitor


def _migrate(bench: Bench, _state: Any, i: int) -> None:
    monitor = bench.monitor()
    monitor.migrate_to_file(bench.path(f"mem{i}"))
    monitor.cont()


def _launch(bench: Bench, _state: Any, i: int) -> None:
    disk = DiskAttachment("vda", bench.base, "qcow2")
    bench.launcher.launch(f"l{i}", [disk]).quit()


def verbs() -> list[tuple[str, Setup, Op]]:
    """(name, setup, op) for every verb; setup gets how many times op will run."""
    none: Setup = lambda _b, _n: None  # noqa: E731
    monitor: Setup = lambda b, _n: b.monitor()  # noqa: E731
    return [
        ("img create", none, lambda b, _s, _i: b.images.create(b.path("new.qcow2"), "qcow2")),
        ("img create -b", none, lambda b, _s, _i: b.images.create(
            b.path("ov.qcow2"), "qcow2", backing=b.base, backing_fmt="qcow2")),
        ("img snapshot -c", none, lambda b, _s, i: b.images.snapshot_create(b.top, f"c{i}")),
        ("img snapshot -a", lambda b, _n: b.images.snapshot_create(b.base, "a"),
         lambda b, _s, _i: b.images.snapshot_apply(b.base, "a")),
        ("img snapshot -d", _tags,
         lambda b, _s, i: b.images.snapshot_delete(b.base, f"t{i}")),
        ("img snapshot list", none, lambda b, _s, _i: b.images.snapshot_list(b.base)),
        ("img info chain", none, lambda b, _s, _i: b.images.info_chain(b.top)),
        ("img commit", none, lambda b, _s, _i: b.images.commit(b.top)),
        ("io write", none, lambda b, _s, i: b.images.write(b.top, "qcow2", i % 16, 1 + i % 255)),
        ("io read (16 blocks)", none, lambda b, _s, _i: b.images.read(b.top, "qcow2")),
        ("launch + quit", none, _launch),
        ("qmp status", monitor, lambda b, m, _i: m.status()),
        ("qmp stop + cont", monitor, lambda b, m, _i: (m.stop(), m.cont())),
        ("hmp savevm", monitor, lambda b, m, _i: m.savevm("s")),
        ("hmp loadvm", lambda b, _n: _vm_tags(b, 1), lambda b, m, _i: m.loadvm("v0")),
        ("hmp delvm", _vm_tags, lambda b, m, i: m.delvm(f"v{i}")),
        ("migrate to file + cont", monitor, _migrate),
        ("transaction", monitor,
         lambda b, m, i: m.transaction([SnapshotAction("vda", b.path(f"o{i}.qcow2"))])),
        ("query chain", monitor, lambda b, m, _i: m.chain("vda")),
        ("hmp qemu-io write", monitor,
         lambda b, m, i: m.write("vda", i % 16, 1 + i % 255)),
        ("hmp qemu-io read (16)", monitor, lambda b, m, _i: m.read("vda")),
    ]


def rate(make: Callable[[str], Bench], setup: Setup, op: Op, count: int) -> float:
    """Operations per second of ``op`` run ``count`` times on fresh backends."""
    with tempfile.TemporaryDirectory(prefix="snapbench-") as root:
        bench = make(root)
        try:
            state = setup(bench, count)
            start = time.perf_counter()
            for i in range(count):
                op(bench, state, i)
            return count / (time.perf_counter() - start)
        finally:
            bench.close()


def _real(root: str) -> Bench:
    return Bench(root, QemuImageTool(root), QemuLauncher(root))


def _fake(root: str) -> Bench:
    images = FakeImageTool(root)
    return Bench(root, images, FakeLauncher(images))


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every verb on both sides and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-ops", type=int, default=20, help="runs of each real verb")
    parser.add_argument("--fake-ops", type=int, default=2000, help="runs of each fake verb")
    args = parser.parse_args(argv)
    try:
        QemuImageTool(tempfile.gettempdir())
        QemuLauncher(tempfile.gettempdir())
    except ComponentMissing as err:
        print(f"skipped: {err}", file=sys.stderr)
        return 1
    print(f"{'verb':<24} {'real ops/s':>11} {'fake ops/s':>12} {'fake/real':>10}")
    for name, setup, op in verbs():
        real = rate(_real, setup, op, args.real_ops)
        fake = rate(_fake, setup, op, args.fake_ops)
        print(f"{name:<24} {real:>11.1f} {fake:>12.0f} {fake / real:>9.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
