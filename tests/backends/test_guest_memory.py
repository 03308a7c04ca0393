"""Guest RAM on the monitor, the same over the fakes and over real QEMU: a fresh launch is
zeroed, savevm/loadvm and migrate/-incoming carry the RAM, and a quit loses it."""

from __future__ import annotations

import pytest

from snaporacle.errors import BackendError

from .conftest import Backends

BLOCKS = (0, 1, 2, 15)


def test_ram_starts_zeroed_and_round_trips(be: Backends) -> None:
    monitor = be.launch(("vda", be.disk("a.qcow2"), "qcow2"))
    assert monitor.read_memory(BLOCKS) == dict.fromkeys(BLOCKS, 0)
    monitor.write_memory(1, 0x11)
    monitor.write_memory(15, 0xFF)
    assert monitor.read_memory(BLOCKS) == {0: 0, 1: 0x11, 2: 0, 15: 0xFF}
    with pytest.raises(BackendError, match="out of range"):
        monitor.write_memory(16, 1)
    monitor.quit()
    again = be.launch(("vda", be.path("a.qcow2"), "qcow2"))
    assert again.read_memory(BLOCKS) == dict.fromkeys(BLOCKS, 0)  # a cold start


def test_savevm_and_loadvm_carry_the_ram(be: Backends) -> None:
    monitor = be.launch(("vda", be.disk("a.qcow2"), "qcow2"))
    monitor.write_memory(0, 5)
    monitor.savevm("s1")
    monitor.write_memory(0, 6)
    monitor.write_memory(2, 6)
    monitor.stop()
    monitor.loadvm("s1")
    assert monitor.read_memory(BLOCKS) == {0: 5, 1: 0, 2: 0, 15: 0}
    assert monitor.status() == "paused"


def test_migrate_and_incoming_carry_the_ram(be: Backends) -> None:
    disk = be.disk("a.qcow2")
    monitor = be.launch(("vda", disk, "qcow2"))
    monitor.write_memory(2, 0x42)
    monitor.stop()
    monitor.migrate_to_file(be.path("m.mem"))
    monitor.cont()
    monitor.write_memory(2, 0x43)
    monitor.quit()
    restored = be.launch(("vda", disk, "qcow2"), paused=True, incoming=be.path("m.mem"))
    assert restored.read_memory(BLOCKS) == {0: 0, 1: 0, 2: 0x42, 15: 0}
