"""Fixtures of the backend contract suite: the same tests over the fakes and over real QEMU."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from snaporacle.errors import ComponentMissing
from snaporacle.fakes import FakeImageTool, FakeLauncher
from snaporacle.reference.backend import DiskAttachment, ImageTool, Launcher, Monitor


@attrs.define
class Backends:
    """One image tool and launcher sharing a work directory."""

    kind: str
    root: str
    images: ImageTool
    launcher: Launcher

    def path(self, name: str) -> str:
        """An absolute path under the work directory."""
        return os.path.join(self.root, name)

    def disk(self, name: str, fmt: str = "qcow2", **kwargs: Any) -> str:
        """Create an image and return its path."""
        path = self.path(name)
        self.images.create(path, fmt, **kwargs)
        return path

    def launch(self, *disks: tuple[str, str, str], **kwargs: Any) -> Monitor:
        """Start a domain ``dom`` with (target, path, format) disks."""
        attachments = [DiskAttachment(t, p, f) for t, p, f in disks]
        return self.launcher.launch(kwargs.pop("name", "dom"), attachments, **kwargs)


def real_backends(root: str) -> Backends:
    """The real QEMU backends, or a skip naming the Debian package to install."""
    from snaporacle.adapters.qemu import QemuImageTool, QemuLauncher

    try:
        return Backends("real", root, QemuImageTool(root), QemuLauncher(root))
    except ComponentMissing as err:
        pytest.skip(str(err))


@pytest.fixture
def real(tmp_path: Path) -> Iterator[Backends]:
    """Real backends only."""
    root = tmp_path / "work"
    root.mkdir()
    backends = real_backends(str(root))
    yield backends
    backends.launcher.close()


@pytest.fixture(params=["fake", "real"])
def be(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backends]:
    """The backends under test, each in a fresh work directory."""
    root = str(tmp_path / "work")
    if request.param == "fake":
        images = FakeImageTool(root)
        backends = Backends("fake", root, images, FakeLauncher(images))
    else:
        os.makedirs(root)
        backends = real_backends(root)
    yield backends
    backends.launcher.close()


def _qemu_pids_under(base: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().decode(errors="replace")
        except OSError:
            continue
        if "qemu-system" in cmdline and base in cmdline:
            pids.append(int(entry))
    return pids


@pytest.fixture(scope="session", autouse=True)
def no_qemu_left(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the session, no QEMU started with a path of this session's temp dir runs on."""
    base = str(tmp_path_factory.getbasetemp())
    yield
    left = _qemu_pids_under(base)
    assert not left, f"QEMU processes left running by the tests: {left}"
