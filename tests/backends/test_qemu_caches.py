"""The answers the real backends keep: given again while nothing they depend on changed, and
never after it changed."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from snaporacle.adapters.libvirt import _shared_read
from snaporacle.adapters.qemu import images

from .conftest import Backends


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The verbs of the qemu-img/qemu-io runs made from here on."""
    made: list[str] = []
    real_run = images.run

    def counted(verb: str, argv: Any, timeout: float | None = None) -> str:
        made.append(verb)
        return real_run(verb, argv, timeout)

    monkeypatch.setattr(images, "run", counted)
    return made


def test_the_chain_is_kept_across_guest_writes_and_read_again_after_a_new_tag(
    real: Backends, runs: list[str]
) -> None:
    base = real.disk("a.qcow2")
    first = real.images.info_chain(base)
    real.images.write(base, "qcow2", 1, 7)
    assert real.images.info_chain(base) == first  # a guest write: no qemu-img info again
    assert runs.count("info_chain") == 1
    real.images.snapshot_create(base, "s1")
    assert real.images.info_chain(base)[0].tags == ("s1",)
    real.images.snapshot_delete(base, "s1")
    real.images.snapshot_create(base, "s2")  # same count of tags, another name
    assert real.images.info_chain(base)[0].tags == ("s2",)
    assert runs.count("info_chain") == 3


def test_the_chain_is_read_again_when_an_image_is_replaced(real: Backends) -> None:
    top = real.disk("top.qcow2")
    assert real.images.info_chain(top)[0].backing is None
    base = real.disk("base.qcow2")
    real.images.remove(top)
    real.images.create(top, "qcow2", backing=base, backing_fmt="qcow2")
    assert [info.path for info in real.images.info_chain(top)] == [top, base]


def test_guest_data_is_read_again_after_a_write(real: Backends, runs: list[str]) -> None:
    base = real.disk("a.qcow2")
    real.images.info_chain(base)
    assert real.images.read(base, "qcow2")[2] == 0
    assert real.images.read(base, "qcow2")[2] == 0
    assert runs.count("read") == 1
    real.images.write(base, "qcow2", 2, 9)
    real.images.info_chain(base)
    assert real.images.read(base, "qcow2")[2] == 9


def test_a_running_disk_is_read_again_after_any_command_but_a_query(real: Backends) -> None:
    monitor = real.launch(("vda", real.disk("a.qcow2"), "qcow2"))
    assert monitor.read("vda")[0] == 0
    monitor.status()
    kept = monitor._disk_data  # type: ignore[attr-defined]
    assert "vda" in kept  # a query keeps the answer
    monitor.write("vda", 0, 5)
    assert "vda" not in kept
    assert monitor.read("vda")[0] == 5
    monitor.savevm("s1")
    assert "vda" not in kept


def test_a_shared_read_is_not_kept_for_a_file_changed_just_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = str(tmp_path / "a.raw")
    reads: list[str] = []
    monkeypatch.setattr(_shared_read, "read_shared",
                        lambda path, fmt: (reads.append(path), (len(reads),))[1])
    reader = _shared_read.SharedReader()
    Path(image).write_bytes(b"\0" * 1024)
    assert reader.read(image, "raw", [image]) == (1,)
    assert reader.read(image, "raw", [image]) == (2,)  # changed this very moment: not kept
    time.sleep(_shared_read.SETTLED * 2)
    assert reader.read(image, "raw", [image]) == (3,)
    assert reader.read(image, "raw", [image]) == (3,)  # settled and unchanged: kept
    Path(image).write_bytes(b"\1" * 1024)
    assert reader.read(image, "raw", [image]) == (4,)  # changed: read again
    os.remove(image)
    assert reader.read(image, "raw", [image]) == (5,)  # gone: nothing kept holds
