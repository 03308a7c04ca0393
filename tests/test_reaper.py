"""The child subreaper reaps a daemonised QEMU at once and leaves everyone else's children."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from snaporacle import reaper

# the child: new session, forks a grandchild that execs "qemu-test", prints its pid and leaves
DAEMONIZE = """
import os, sys
os.setsid()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "0.2"])
print(pid, flush=True)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_CHILD_SUBREAPER is Linux")
def test_an_orphaned_qemu_is_reaped_and_our_own_children_are_not(tmp_path: Path) -> None:
    fake_qemu = tmp_path / "qemu-test"
    fake_qemu.symlink_to("/bin/sleep")
    assert reaper.enable()
    own = subprocess.Popen([str(fake_qemu), "0.3"])  # same session: ours to wait for
    child = subprocess.run([sys.executable, "-c", DAEMONIZE, str(fake_qemu)],
                           capture_output=True, text=True, check=True)
    orphan = int(child.stdout.strip())
    for _ in range(300):
        if orphan in reaper.reaped():
            break
        time.sleep(0.01)
    assert orphan in reaper.reaped()
    assert not os.path.exists(f"/proc/{orphan}")
    assert own.wait(timeout=10) == 0  # not stolen: subprocess still gets its exit status
    assert own.pid not in reaper.reaped()
