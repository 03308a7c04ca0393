"""How fast ``snaporacle explore --adapter qemu`` stops on SIGINT/SIGTERM, in steps of the same run.

Run: ``python benchmarks/bench_stop.py [--rounds 2] [--run-seconds 3]``. Each round starts an
exploration on real QEMU in a fresh ``TMPDIR``, lets it run, sends the signal and times the exit.
The baseline is the same run's own mean step time (report ``seconds`` / ``steps_run``), so the
figure reads "a stop costs N steps". A ``hung`` round stops QEMU with SIGSTOP first, so the step
in progress never comes back and is cut short after the grace period.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def qemu_pids(base: str) -> list[int]:
    """The QEMU processes whose command line names a path under ``base``."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if entry.isdigit() and "qemu-system" in cmdline and base in cmdline:
            pids.append(int(entry))
    return pids


def _waiting(pid: int) -> bool:
    """Whether the process sleeps in poll/select (a QMP call), 50 ms from now."""
    time.sleep(0.05)
    try:
        wchan = Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False
    return "poll" in wchan or "select" in wchan


def one_round(signum: signal.Signals, hung: bool, run_seconds: float) -> dict[str, object]:
    """One exploration stopped by ``signum``; its figures."""
    tmp = tempfile.mkdtemp(prefix="bench-stop-")
    report = os.path.join(tmp, "report.json")
    argv = [sys.executable, "-m", "snaporacle", "explore", "--adapter", "qemu", "--seed", "1",
            "--examples", "1000", "--steps", "10", "--report-json", report]
    proc = subprocess.Popen(argv, cwd=tmp, env=dict(os.environ, TMPDIR=tmp),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not qemu_pids(tmp):
            time.sleep(0.05)
        time.sleep(run_seconds)
        while hung and not all(_waiting(proc.pid) for _ in range(10)):
            for pid in qemu_pids(tmp):  # until the run waits on a stopped QEMU
                os.kill(pid, signal.SIGSTOP)
        start = time.perf_counter()
        proc.send_signal(signum)
        proc.wait()
        stop = time.perf_counter() - start
        data = json.loads(Path(report).read_text())
        step = data["seconds"] / max(1, data["steps_run"])
        return {"signal": signum.name + (" hung" if hung else ""), "status": proc.returncode,
                "stop_s": round(stop, 3), "step_s": round(step, 3),
                "stop_in_steps": round(stop / step, 1), "left": len(qemu_pids(tmp))}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in qemu_pids(tmp):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    """Print one line per round."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--run-seconds", type=float, default=3.0)
    args = parser.parse_args()
    print(f"{'signal':12} {'status':>6} {'stop s':>7} {'step s':>7} {'stop/step':>9} {'qemu left':>9}")
    for _ in range(args.rounds):
        for signum, hung in ((signal.SIGINT, False), (signal.SIGTERM, False),
                             (signal.SIGTERM, True)):
            row = one_round(signum, hung, args.run_seconds)
            print(f"{row['signal']:12} {row['status']:>6} {row['stop_s']:>7} {row['step_s']:>7} "
                  f"{row['stop_in_steps']:>9} {row['left']:>9}")


if __name__ == "__main__":
    main()
