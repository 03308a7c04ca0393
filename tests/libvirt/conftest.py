"""Fixtures of the libvirt adapter tests: the test driver and the embedded QEMU driver.

Nothing is skipped where libvirt-python, the QEMU driver and QEMU are installed (CI installs
them); elsewhere a test skips naming the package to install.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from snaporacle.adapters.libvirt import LibvirtAdapter
from snaporacle.errors import ComponentMissing
from snaporacle.model.definition import DomainDisk, DomainSpec


def qemu_processes(root: str) -> list[int]:
    """The pids of running QEMU processes whose command line names a path under ``root``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "qemu-system" in cmdline and root in cmdline:
            found.append(int(entry.name))
    return found


def domain(name: str = "dom", disks: tuple[str, ...] = ("vda",)) -> DomainSpec:
    """A domain spec with qcow2 disks named after it, relative to the work directory."""
    images: tuple[DomainDisk, ...] = tuple(
        DomainDisk(target, f"{name}-{target}.qcow2") for target in disks
    )
    return DomainSpec(
        name=name,
        uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        disks=images,  # type: ignore[arg-type]
    )


def _adapter(uri: str, workdir: Path) -> LibvirtAdapter:
    try:
        return LibvirtAdapter(uri, workdir=workdir)
    except ComponentMissing as err:
        pytest.skip(str(err))


@pytest.fixture
def test_driver(tmp_path: Path) -> Iterator[LibvirtAdapter]:
    """The adapter on libvirt's test driver, in a fresh work directory."""
    adapter = _adapter("test:///default", tmp_path / "work")
    yield adapter
    adapter.close()


@pytest.fixture
def embed(tmp_path: Path) -> Iterator[LibvirtAdapter]:
    """The adapter on the embedded QEMU driver; no QEMU process or file may outlive it."""
    adapter = _adapter("qemu:///embed", tmp_path / "work")
    root = adapter.root
    yield adapter
    adapter.close()
    assert qemu_processes(root) == [], "a QEMU process outlived the adapter"
    assert os.listdir(root) == []
