"""Behaviours of real QEMU 7.2 that the real backends handle, one test each."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from snaporacle.adapters.qemu import QemuImageTool, QemuLauncher
from snaporacle.errors import BackendError, ComponentMissing, EnvironmentFailure, StepTimeout
from snaporacle.reference.backend import DiskAttachment

from .conftest import Backends


def test_hmp_errors_in_successful_replies_become_backend_errors(real: Backends) -> None:
    monitor = real.launch(("vda", real.disk("a.raw", "raw"), "raw"))
    with pytest.raises(BackendError, match=r"savevm: Device .* does not support snapshots"):
        monitor.savevm("s")


def test_a_failed_loadvm_does_not_leave_qemu_in_restore_vm(real: Backends) -> None:
    monitor = real.launch(("vda", real.disk("a.qcow2"), "qcow2"))
    with pytest.raises(BackendError, match="does not exist"):
        monitor.loadvm("missing")
    qmp = monitor._qmp  # type: ignore[attr-defined]
    assert qmp.execute("query-status")["status"] == "running"
    monitor.migrate_to_file(real.path("mem"))
    assert monitor.proc.poll() is None  # type: ignore[attr-defined]


def test_a_guest_write_after_migrate_is_refused_and_qemu_survives(real: Backends) -> None:
    monitor = real.launch(("vda", real.disk("a.qcow2"), "qcow2"))
    monitor.migrate_to_file(real.path("mem"))
    with pytest.raises(BackendError, match="cont first"):
        monitor.write("vda", 0, 1)
    monitor.cont()
    monitor.write("vda", 0, 1)
    assert monitor.read("vda")[0] == 1


def test_qemu_dying_mid_operation_is_an_environment_failure_naming_the_operation(
    real: Backends,
) -> None:
    monitor = real.launch(("vda", real.disk("a.qcow2"), "qcow2"))
    os.kill(monitor.proc.pid, signal.SIGKILL)  # type: ignore[attr-defined]
    monitor.proc.wait()  # type: ignore[attr-defined]
    died = r"savevm: QEMU of domain dom died \(killed by SIGKILL"
    with pytest.raises(EnvironmentFailure, match=died):
        monitor.savevm("s")
    monitor.quit()


def test_a_hung_qemu_is_a_step_timeout_naming_the_step_and_is_killed_at_quit(
    tmp_path: Path,
) -> None:
    root = tmp_path / "work"
    root.mkdir()
    launcher = QemuLauncher(str(root), qmp_timeout=0.5)
    images = QemuImageTool(str(root))
    disk = str(root / "a.qcow2")
    images.create(disk, "qcow2")
    monitor = launcher.launch("dom", [DiskAttachment("vda", disk, "qcow2")])
    proc = monitor.proc  # type: ignore[attr-defined]
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        with pytest.raises(StepTimeout, match=r"savevm: QEMU of domain dom gave no answer to QMP"):
            monitor.savevm("s")
        launcher.close()
        assert proc.poll() is not None
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_a_qemu_that_cannot_start_is_reported_and_reaped(real: Backends) -> None:
    raw = real.disk("a.raw", "raw")
    with pytest.raises(BackendError, match="launch: QEMU for domain dom did not start"):
        real.launch(("vda", raw, "qcow2"))
    assert real.launcher.monitors == []  # type: ignore[attr-defined]


def test_close_stops_every_qemu(real: Backends) -> None:
    first = real.launch(("vda", real.disk("a.qcow2"), "qcow2"), name="one")
    second = real.launch(("vda", real.disk("b.qcow2"), "qcow2"), name="two")
    real.launcher.close()
    assert first.proc.poll() is not None  # type: ignore[attr-defined]
    assert second.proc.poll() is not None  # type: ignore[attr-defined]


def test_qemu_run_files_stay_out_of_the_file_list(real: Backends) -> None:
    a = real.disk("a.qcow2")
    monitor = real.launch(("vda", a, "qcow2"))
    assert os.listdir(real.path(".qemu"))
    assert real.images.files() == (a,)
    monitor.quit()
    assert os.listdir(real.path(".qemu")) == []


def test_paths_with_spaces_and_quotes_work(real: Backends) -> None:
    odd = real.disk("it's a disk.qcow2")
    monitor = real.launch(("vda", odd, "qcow2"))
    monitor.savevm('tag with "quotes"')
    monitor.migrate_to_file(real.path("mem 'x'"))
    monitor.quit()
    assert real.images.snapshot_list(odd) == ('tag with "quotes"',)
    restored = real.launcher.launch("dom", [DiskAttachment("vda", odd, "qcow2")],
                                    incoming=real.path("mem 'x'"))
    assert restored.status() == "running"


@pytest.mark.parametrize(("make", "package"), [
    (QemuImageTool, "qemu-utils"),
    (QemuLauncher, "qemu-system-x86"),
])
def test_a_missing_tool_names_its_debian_package(
    make: type, package: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ComponentMissing, match=package):
        make(str(tmp_path))
