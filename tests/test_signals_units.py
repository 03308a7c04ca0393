"""The pieces under clean stops: signal handling, step time limits, work directories."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import attrs
import pytest

from snaporacle import interrupts, workdirs
from snaporacle.adapters.fake import FakeAdapter
from snaporacle.adapters.qemu.process import run
from snaporacle.cli import main
from snaporacle.errors import AdapterError, EnvironmentFailure, Interrupted, StepTimeout
from snaporacle.model.ops import ListSnapshots, Op, Result

# -- one-shot tools ----------------------------------------------------------------------------


def test_a_tool_that_hangs_is_killed_and_named_as_a_step_timeout() -> None:
    with pytest.raises(StepTimeout, match=r"^snapshot_create: sleep gave no answer within 0.2 s"):
        run("snapshot_create", ["sleep", "30"], timeout=0.2)


def test_a_tool_killed_by_a_signal_is_an_environment_failure() -> None:
    with pytest.raises(EnvironmentFailure, match=r"^commit: sh was killed by SIGKILL: bye"):
        run("commit", ["sh", "-c", "echo bye >&2; kill -9 $$"])


# -- signals -----------------------------------------------------------------------------------


def test_a_signal_stops_the_run_at_the_next_step() -> None:
    with interrupts.stop_on_signals():
        interrupts.check()
        os.kill(os.getpid(), signal.SIGTERM)
        with pytest.raises(Interrupted) as stop:
            interrupts.check()
        assert stop.value.name == "SIGTERM"
        interrupts.check()  # raised once: the clean-up is not interrupted again
        os.kill(os.getpid(), signal.SIGINT)  # a second signal changes nothing
        interrupts.check()
    assert interrupts.received() == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_a_step_that_does_not_come_back_is_cut_short_after_the_grace_period() -> None:
    started = time.monotonic()
    with interrupts.stop_on_signals(), interrupts.interruptible():
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(Interrupted):
            time.sleep(60)  # a hung step
    assert time.monotonic() - started < 60


def test_outside_a_run_a_signal_is_only_recorded() -> None:
    with interrupts.stop_on_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(interrupts.GRACE + 0.3)  # no alarm outside interruptible()
        assert interrupts.received() == signal.SIGTERM
    interrupts.check()  # after the command, a recorded signal stops nothing else


# -- work directories --------------------------------------------------------------------------


@pytest.fixture
def tmpdir_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tempfile`` makes its directories under ``tmp_path``."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_the_work_dir_of_a_dead_process_is_swept_and_a_live_one_is_not(tmpdir_here: Path) -> None:
    code = "import os, snaporacle.workdirs as w; w.make_workdir('qemu'); os._exit(0)"
    env = dict(os.environ, TMPDIR=str(tmpdir_here))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    [stale] = list(tmpdir_here.glob("snaporacle-qemu-*"))
    by_hand = tmpdir_here / "snaporacle-qemu-mine"
    by_hand.mkdir()
    mine = workdirs.make_workdir("qemu")
    assert not stale.exists()
    assert by_hand.exists() and os.path.isdir(mine)
    assert workdirs.sweep_stale() == []
    workdirs.remove_workdir(mine)
    assert not os.path.exists(mine)


def test_a_failed_libvirt_connection_leaves_no_work_dir(tmpdir_here: Path) -> None:
    pytest.importorskip("libvirt", reason="libvirt-python (pip install libvirt-python)")
    from snaporacle.adapters.libvirt import LibvirtAdapter

    with pytest.raises(AdapterError):
        LibvirtAdapter(uri="test:///no/such/node.xml")
    assert list(tmpdir_here.glob("snaporacle-*")) == []


# -- a stop in the middle of shrinking keeps the divergence found ----------------------------


class TermOnBugAdapter(FakeAdapter):
    """Lists a snapshot that does not exist (a bug), and gets SIGTERM the first time it does."""

    sent = False

    def apply(self, op: Op) -> Result:
        result = super().apply(op)
        if not isinstance(op, ListSnapshots):
            return result
        if not TermOnBugAdapter.sent:
            TermOnBugAdapter.sent = True
            os.kill(os.getpid(), signal.SIGTERM)
        return attrs.evolve(result, value=("ghost",))


def test_a_divergence_found_before_the_stop_is_saved_and_the_exit_status_is_143(
    tmp_path: Path,
) -> None:
    TermOnBugAdapter.sent = False
    traces, report = tmp_path / "traces", tmp_path / "report.json"
    status = main(["explore", "--adapter", f"{__name__}:TermOnBugAdapter", "--examples", "400",
                   "--steps", "25", "--seed", "1", "--no-sweep", "--save-traces", str(traces),
                   "--report-json", str(report)])
    assert TermOnBugAdapter.sent
    assert status == 128 + signal.SIGTERM
    data = json.loads(report.read_text())
    assert data["interrupted"] == "SIGTERM" and len(data["divergences"]) == 1
    [saved] = traces.glob("*.json")
    assert data["traces"] == [str(saved)]
    assert main(["replay", str(saved), "--adapter", f"{__name__}:TermOnBugAdapter"]) == 1
    assert main(["replay", str(saved), "--adapter", "fake"]) == 0
