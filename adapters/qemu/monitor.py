"""Real QEMU processes and their QMP monitors: one ``qemu-system-x86_64`` per running domain.

Each QEMU runs ``-machine pc,accel=tcg -nodefaults -display none`` with no guest OS; each disk is
a ``-blockdev`` file node plus a qcow2/raw format node and an ``ide-hd`` device whose id is the
target name. QMP runs over one end of a socket pair handed to QEMU (no socket file, no path
length limit). HMP commands go through ``human-monitor-command``.

Known behaviours of QEMU 7.2 this module handles:

- HMP errors come back as successful replies whose text starts with ``Error:``; they become
  BackendError. HMP ``qemu-io`` prints its results on QEMU's stdout, not in the reply, so QEMU runs
  under ``stdbuf -oL`` with stdout in ``root/.qemu/NAME.out``, read after each command.
- After ``migrate`` to a file the VM is in ``postmigrate`` with inactive disks until ``cont``:
  savevm/loadvm/delvm fail there, and a guest write would make QEMU abort, so it is refused.
- A failed ``loadvm`` leaves the VM in ``restore-vm``, where a later migrate aborts QEMU; the
  monitor resumes it at once (``cont``, then ``stop`` if it was not running) before reporting.
- A QEMU killed under the driver (by a signal: killed, out of memory, crashed), or whose QMP
  channel breaks, gives an EnvironmentFailure naming the verb, how QEMU ended and its last stderr:
  a fault of the machine, not of the driver. A QEMU that exits by itself with an error (a bad
  migration stream) gives a BackendError. A QMP command with no answer within the launcher's
  ``qmp_timeout``, or a migration or block job that does not finish, gives a StepTimeout.
- Tags longer than 255 bytes are refused before QEMU sees them (QEMU would cut them silently).

Guest RAM is a shared file, ``-object memory-backend-file,...,mem-path=root/.qemu/NAME.ram,
share=on``: a host write into the file is what the guest sees, and savevm/loadvm and migrate
carry it. RAM is written and read through the file (``pwrite``/``pread`` at the block's
guest-physical address, :mod:`snaporacle.model.memory`); the launcher removes the file before
each start, so that a cold start gets zeroed RAM.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from qemu.qmp import ExecuteError, QMPError

from ...errors import BackendError, EnvironmentFailure, SnaporacleError, StepTimeout
from ...model.memory import (
    MEMORY_BLOCK_SIZE,
    MEMORY_MIB,
    block_pattern,
    memory_address,
    write_problem,
)
from ...reference.backend import BLOCK_SIZE, Call, DiskAttachment, SnapshotAction, check_tag
from ...reference.sandbox import inside
from .images import RUN_DIR, parse_dump
from .process import QMP_TIMEOUT, Qmp, binary, exit_text, start, stop

T = TypeVar("T")

POLL = 0.01

#: QMP commands that change nothing the guest reads from its disks.
QUERIES = frozenset({"query-status", "query-named-block-nodes", "query-migrate", "query-jobs"})
MIGRATE_TIMEOUT = 60.0


def _hmp_string(text: str) -> str:
    """A double-quoted HMP string argument."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class QemuMonitor:
    """The QMP monitor of one running QEMU."""

    def __init__(
        self, name: str, proc: subprocess.Popen[bytes], qmp: Qmp, nodes: dict[str, str],
        out: str, err: str, sizes: dict[str, int], ram: str,
    ) -> None:
        self.name = name
        self.ram = ram
        self.calls: list[Call] = []
        self.proc = proc
        self._qmp = qmp
        self._nodes = nodes
        self._sizes = sizes
        self._out = out
        self._err = err
        self._out_pos = 0
        self._serial = 0
        self._quit = False
        self._root = os.path.dirname(os.path.dirname(out))
        # what read() last gave per disk, kept until any command that may change it is sent
        self._disk_data: dict[str, tuple[int, ...]] = {}

    # -- plumbing -----------------------------------------------------------------------------

    def _died(self, verb: str, command: str, err: BaseException | None = None) -> SnaporacleError:
        """The error for a QEMU that no longer answers: quit, hung, or dead under us."""
        if self._quit:
            return BackendError(f"{verb}: domain {self.name} is not running (its QEMU was quit)")
        if isinstance(err, TimeoutError):
            return StepTimeout(
                f"{verb}: QEMU of domain {self.name} gave no answer to QMP {command} within "
                f"{self._qmp.timeout:g} s; it is hung (it will be killed at reset)"
            )
        try:  # the channel closes as QEMU dies, a moment before the process can be reaped
            self.proc.wait(1.0)
        except subprocess.TimeoutExpired:
            return EnvironmentFailure(
                f"{verb}: the QMP channel of domain {self.name} broke while QEMU runs on: {err}"
            )
        stop(self.proc, grace=2.0)
        tail = _tail(self._err)
        # QEMU that exits by itself has refused what it was given (a bad migration stream...);
        # one killed by a signal was killed, ran out of memory or crashed
        kind = EnvironmentFailure if self.proc.returncode < 0 else BackendError
        return kind(
            f"{verb}: QEMU of domain {self.name} died ({exit_text(self.proc.returncode)})"
            + (f": {tail}" if tail else "")
        )

    def _execute(
        self, verb: str, command: str, arguments: dict[str, object] | None = None,
    ) -> Any:
        return self._send(verb, command, lambda: self._qmp.execute(command, arguments),
                          keeps_disks=command in QUERIES)

    def _execute_all(
        self, verb: str, command: str, argument_list: Sequence[dict[str, object]],
        keeps_disks: bool = False,
    ) -> list[Any]:
        """:meth:`_execute` of one command with several arguments, all sent at once."""
        return self._send(verb, command, lambda: self._qmp.execute_all(command, argument_list),
                          keeps_disks)

    def _send(self, verb: str, command: str, call: Callable[[], T], keeps_disks: bool) -> T:
        if not keeps_disks:
            self._disk_data.clear()  # the command may change what the guest reads
        if self.proc.poll() is not None:
            raise self._died(verb, command)
        try:
            return call()
        except ExecuteError as err:
            raise BackendError(f"{verb}: {err} (QMP {command})") from err
        except (QMPError, OSError, EOFError, TimeoutError) as err:
            raise self._died(verb, command, err) from err

    def _hmp(self, verb: str, line: str) -> str:
        reply = str(self._execute(verb, "human-monitor-command", {"command-line": line}))
        if reply.startswith("Error:"):
            raise BackendError(f"{verb}: {reply[len('Error:'):].strip()} (HMP {line})")
        return reply

    def _qemu_io(
        self, verb: str, target: str, commands: Sequence[str], keeps_disks: bool = False,
    ) -> str:
        """Run HMP ``qemu-io`` commands on a disk; their output as QEMU printed it on stdout."""
        self._out_pos = os.path.getsize(self._out)  # skip what other commands printed
        lines: list[dict[str, object]] = [
            {"command-line": f"qemu-io -d {target} {_hmp_string(c)}"} for c in commands
        ]
        replies = self._execute_all(verb, "human-monitor-command", lines, keeps_disks)
        for line, reply in zip(lines, map(str, replies), strict=True):
            if reply.startswith("Error:"):
                raise BackendError(f"{verb}: {reply[len('Error:'):].strip()} "
                                   f"(HMP {line['command-line']})")
            if reply.strip():
                raise BackendError(f"{verb}: qemu-io on {target}: {reply.strip()}")
        with open(self._out, encoding="utf-8", errors="replace") as out:
            out.seek(self._out_pos)
            text = out.read()
            self._out_pos = out.tell()
        return text

    def _start(self, verb: str, *args: str) -> None:
        self.calls.append(Call(verb, args))

    def _node(self, verb: str, target: str) -> str:
        if target not in self._nodes:
            raise BackendError(f"{verb}: domain {self.name} has no disk {target!r}")
        return self._nodes[target]

    # -- the Monitor protocol -----------------------------------------------------------------

    def status(self) -> str:
        """``query-status``."""
        self._start("status")
        return self._status("status")

    def _status(self, verb: str) -> str:
        status = str(self._execute(verb, "query-status")["status"])
        return "paused" if status == "prelaunch" else status  # prelaunch: started with -S

    def stop(self) -> None:
        """``stop``."""
        self._start("stop")
        self._execute("stop", "stop")

    def cont(self) -> None:
        """``cont`` (also reactivates the disks after a migrate)."""
        self._start("cont")
        self._execute("cont", "cont")

    def savevm(self, tag: str) -> None:
        """HMP ``savevm``."""
        self._start("savevm", tag)
        check_tag("savevm", tag)
        self._hmp("savevm", f"savevm {_hmp_string(tag)}")

    def snapshot_save(self, tag: str) -> None:
        """QMP ``snapshot-save`` job (as libvirt 11.3 runs it): every disk's node, VM state on
        the first; the job fails when a disk already holds ``tag``."""
        self._start("snapshot_save", tag)
        check_tag("snapshot_save", tag)
        nodes = [self._node("snapshot_save", target) for target in self._nodes]
        job = f"snapshot-save-{self._serial}"
        self._serial += 1
        self._execute("snapshot_save", "snapshot-save", {
            "job-id": job, "tag": tag, "vmstate": nodes[0], "devices": nodes,
        })
        self._finish_job("snapshot_save", job, MIGRATE_TIMEOUT)

    def _finish_job(self, verb: str, job: str, timeout: float) -> None:
        """Wait for a job that ends by itself, dismiss it, and raise its error if it failed."""
        deadline = time.monotonic() + timeout
        while True:
            jobs = {j["id"]: j for j in self._execute(verb, "query-jobs")}
            found = jobs.get(job)
            if found is None:
                raise BackendError(f"{verb}: job {job} vanished")
            if found.get("status") == "concluded":
                self._execute(verb, "job-dismiss", {"id": job})
                if found.get("error"):
                    raise BackendError(f"{verb}: {found['error']}")
                return
            if time.monotonic() > deadline:
                raise StepTimeout(f"{verb}: job {job} did not finish within {timeout:g} s")
            time.sleep(POLL)

    def loadvm(self, tag: str) -> None:
        """HMP ``loadvm``; on failure the VM gets back its run state before the error is raised."""
        self._start("loadvm", tag)
        check_tag("loadvm", tag)
        was = self._status("loadvm")
        try:
            self._hmp("loadvm", f"loadvm {_hmp_string(tag)}")
        except BackendError:
            if self._status("loadvm") == "restore-vm":
                self._execute("loadvm", "cont")
                if was != "running":
                    self._execute("loadvm", "stop")
            raise

    def delvm(self, tag: str) -> None:
        """HMP ``delvm``."""
        self._start("delvm", tag)
        check_tag("delvm", tag)
        self._hmp("delvm", f"delvm {_hmp_string(tag)}")

    def migrate_to_file(self, path: str) -> None:
        """``migrate exec:cat>path`` and wait for it; the VM ends in postmigrate."""
        self._start("migrate_to_file", path)
        path = inside(self._root, path, "migrate_to_file")
        self._execute("migrate_to_file", "migrate-set-parameters", {"max-bandwidth": 1 << 40})
        self._execute("migrate_to_file", "migrate", {"uri": f"exec:cat > {shlex.quote(path)}"})
        deadline = time.monotonic() + MIGRATE_TIMEOUT
        while True:
            info = self._execute("migrate_to_file", "query-migrate")
            if info.get("status") == "completed":
                return
            if info.get("status") in ("failed", "cancelled"):
                raise BackendError(
                    f"migrate_to_file: migration to {path} failed: "
                    f"{info.get('error-desc', 'no reason given')}; check the directory exists"
                )
            if time.monotonic() > deadline:
                raise StepTimeout(
                    f"migrate_to_file: migration of domain {self.name} to {path} did not finish "
                    f"within {MIGRATE_TIMEOUT:g} s"
                )
            time.sleep(POLL)

    def transaction(self, actions: Sequence[SnapshotAction]) -> None:
        """``transaction`` of blockdev-snapshot-sync, one action per disk."""
        self._start("transaction", *(f"{a.target}={a.overlay}" for a in actions))
        overlays = [inside(self._root, a.overlay, "transaction") for a in actions]
        new = dict(self._nodes)
        steps = []
        for action, overlay in zip(actions, overlays, strict=True):
            self._serial += 1
            node = f"n{self._serial}"
            steps.append({"type": "blockdev-snapshot-sync", "data": {
                "node-name": new.get(action.target) or self._node("transaction", action.target),
                "snapshot-file": overlay, "snapshot-node-name": node, "format": action.format,
            }})
            new[action.target] = node
        self._execute("transaction", "transaction", {"actions": steps})
        self._nodes = new

    def commit(self, target: str, top: str | None = None) -> None:
        """``block-commit`` of one overlay into its backing node. The active image (``top``
        ``None``): ``job-complete`` once the job is ready, so the disk pivots onto the backing
        image. An image inside the chain: the job ends by itself, and QEMU writes the backing
        image's name into the header of the image above."""
        self._start("commit", target, *([top] if top else []))
        active = self._node("commit", target)
        node = active if top is None else self._node_of("commit", inside(self._root, top, "commit"))
        base = self._backing_node("commit", node)
        job = f"commit-{target}-{self._serial}"
        self._serial += 1
        arguments: dict[str, object] = {"job-id": job, "device": active, "auto-dismiss": False}
        if top is not None:
            arguments.update({"top-node": node, "base-node": base})
        self._execute("commit", "block-commit", arguments)
        deadline = time.monotonic() + MIGRATE_TIMEOUT
        completing = False
        while True:
            jobs = {j["id"]: j for j in self._execute("commit", "query-jobs")}
            status = jobs.get(job, {}).get("status")
            if status == "ready" and not completing:
                self._execute("commit", "job-complete", {"id": job})
                completing = True
            elif status == "concluded":
                error = jobs[job].get("error")
                self._execute("commit", "job-dismiss", {"id": job})
                if error:
                    raise BackendError(f"commit: block-commit of disk {target} failed: {error}")
                break
            elif status is None:
                raise BackendError(f"commit: block-commit job of disk {target} vanished")
            if time.monotonic() > deadline:
                raise StepTimeout(
                    f"commit: block-commit of disk {target} did not finish within "
                    f"{MIGRATE_TIMEOUT:g} s"
                )
            time.sleep(POLL)
        if top is None:
            self._nodes[target] = base

    def _node_of(self, verb: str, path: str) -> str:
        """The format node that holds the image ``path``."""
        for entry in self._execute(verb, "query-named-block-nodes", {"flat": True}):
            if entry.get("drv") != "file" and entry.get("image", {}).get("filename") == path:
                return str(entry["node-name"])
        raise BackendError(f"{verb}: no node holds the image {path}")

    def _backing_node(self, verb: str, node: str) -> str:
        """The node name of ``node``'s backing image (its format node)."""
        for entry in self._execute(verb, "query-named-block-nodes", {"flat": True}):
            if entry.get("node-name") == node:
                backing = entry.get("backing_file")
                break
        else:
            raise BackendError(f"{verb}: node {node} is gone from QEMU")
        if not backing:
            raise BackendError(f"{verb}: node {node} has no backing image to commit into")
        for entry in self._execute(verb, "query-named-block-nodes", {"flat": True}):
            image = entry.get("image", {})
            if entry.get("drv") != "file" and image.get("filename") == backing:
                return str(entry["node-name"])
        raise BackendError(f"{verb}: no node holds the backing image {backing}")

    def chain(self, target: str) -> tuple[str, ...]:
        """The device's image paths, active first (``query-named-block-nodes``)."""
        self._start("chain", target)
        node = self._node("chain", target)
        for entry in self._execute("chain", "query-named-block-nodes", {"flat": False}):
            if entry.get("node-name") == node:
                image, paths = entry["image"], []
                while image is not None:
                    paths.append(str(image["filename"]))
                    image = image.get("backing-image")
                return tuple(paths)
        raise BackendError(f"chain: node {node} of disk {target} is gone from QEMU")

    def write(self, target: str, block: int, pattern: int) -> None:
        """HMP ``qemu-io -d TARGET "write -P ..."``; refused while the disks are inactive."""
        self._start("write", target, str(block), str(pattern))
        self._node("write", target)
        if not 1 <= pattern <= 255:
            raise BackendError(f"write: pattern {pattern} is not in 1..255")
        if not 0 <= block < self._sizes[target] // BLOCK_SIZE:
            raise BackendError(f"write: block {block} is outside disk {target}")
        if self._status("write") == "postmigrate":
            raise BackendError(
                f"write: disks of {self.name} are inactive after migrate (QEMU would abort); "
                "cont first"
            )
        out = self._qemu_io("write", target,
                            [f"write -P {pattern} {block * BLOCK_SIZE} {BLOCK_SIZE}"])
        if not out.startswith("wrote "):
            raise BackendError(f"write: qemu-io on {target}: {out.strip()}")

    def read(self, target: str) -> tuple[int, ...]:
        """The first byte of every block of the running disk, one HMP ``qemu-io read`` each.

        The answer is kept and given again until a command other than a query (:data:`QUERIES`)
        is sent to this QEMU: only commands change what its guest reads, as the guest runs no
        code that writes (no OS; a block written by the explorer holds one byte pattern, so a
        disk never has a boot signature). That saves most reads of an observation.
        """
        self._start("read", target)
        self._node("read", target)
        kept = self._disk_data.get(target)
        if kept is not None and self.proc.poll() is None:  # a dead QEMU is reported as before
            return kept
        blocks = self._sizes[target] // BLOCK_SIZE
        commands = [f"read -v {block * BLOCK_SIZE} 1" for block in range(blocks)]
        data = parse_dump("read", self._qemu_io("read", target, commands, keeps_disks=True), blocks)
        self._disk_data[target] = data
        return data

    def write_memory(self, block: int, pattern: int) -> None:
        """Fill one guest RAM block through the shared RAM file."""
        self._start("write_memory", str(block), str(pattern))
        problem = write_problem(block, pattern)
        if problem is not None:
            raise BackendError(f"write_memory: {problem}")
        if self.proc.poll() is not None:
            raise self._died("write_memory", "pwrite")
        fd = os.open(self.ram, os.O_RDWR)
        try:
            os.pwrite(fd, bytes([pattern]) * MEMORY_BLOCK_SIZE, memory_address(block))
        finally:
            os.close(fd)

    def read_memory(self, blocks: Sequence[int]) -> dict[int, int]:
        """The pattern of each of ``blocks`` of guest RAM, read from the shared RAM file."""
        self._start("read_memory", *map(str, blocks))
        if self.proc.poll() is not None:
            raise self._died("read_memory", "pread")
        fd = os.open(self.ram, os.O_RDONLY)
        try:
            return {
                block: block_pattern(os.pread(fd, MEMORY_BLOCK_SIZE, memory_address(block)))
                for block in blocks
            }
        finally:
            os.close(fd)

    def quit(self) -> None:
        """``quit`` and wait for the process; kill it if it lingers. Quitting twice is harmless."""
        self.calls.append(Call("quit"))
        self._quit = True
        if self.proc.poll() is None:
            try:
                self._qmp.execute("quit")
            except Exception:  # a hung or broken QEMU: nothing left to ask it
                self.proc.kill()
        self._qmp.close()
        stop(self.proc)
        for path in (self._out, self._err, self.ram):
            if os.path.exists(path):
                os.remove(path)


def _tail(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as err:
            return " ".join(err.read().strip().splitlines()[-3:])
    except OSError:
        return ""


class QemuLauncher:
    """Starts one ``qemu-system-x86_64`` per domain, with files under ``root``."""

    def __init__(self, root: str, memory_mib: int = MEMORY_MIB, qmp_timeout: float = QMP_TIMEOUT) -> None:
        self.root = os.path.normpath(root)
        self.calls: list[Call] = []
        self.monitors: list[QemuMonitor] = []
        self._memory = memory_mib
        self._qmp_timeout = qmp_timeout
        self._qemu = binary("qemu-system-x86_64")
        self._stdbuf = binary("stdbuf")

    def launch(
        self, name: str, disks: Sequence[DiskAttachment], paused: bool = False,
        incoming: str | None = None,
    ) -> QemuMonitor:
        """Start QEMU for a domain; ``incoming`` restores a memory file written by migrate."""
        args = [name, *(f"{d.target}={d.path}:{d.format}" for d in disks)]
        args += (["paused"] if paused else []) + ([f"incoming={incoming}"] if incoming else [])
        self.calls.append(Call("launch", tuple(args)))
        paths = [inside(self.root, d.path, "launch") for d in disks]
        if incoming is not None:
            incoming = inside(self.root, incoming, "launch")
        if any(m.name == name and m.proc.poll() is None for m in self.monitors):
            raise BackendError(f"launch: domain {name} is already running; quit it first")
        if len({d.target for d in disks}) != len(disks) or len(disks) > 4:
            raise BackendError("launch: give at most 4 disks, each target once")
        run_dir = os.path.join(self.root, RUN_DIR)
        os.makedirs(run_dir, exist_ok=True)
        out, err, ram = (os.path.join(run_dir, f"{name}.{ext}") for ext in ("out", "err", "ram"))
        if os.path.exists(ram):
            os.remove(ram)  # a cold start (or an incoming migration) begins from zeroed RAM
        argv = [self._stdbuf, "-oL", self._qemu, "-machine", "pc,accel=tcg,memory-backend=m0",
                "-object", f"memory-backend-file,id=m0,size={self._memory}M,mem-path={ram},"
                "share=on", "-nodefaults", "-display", "none", "-m", f"{self._memory}M",
                "-name", name]
        nodes: dict[str, str] = {}
        for index, (disk, path) in enumerate(zip(disks, paths, strict=True)):
            nodes[disk.target] = f"{disk.target}-0"
            argv += ["-blockdev", json.dumps({"driver": "file", "filename": path,
                                              "node-name": f"{disk.target}-file"}),
                     "-blockdev", json.dumps({"driver": disk.format, "file": f"{disk.target}-file",
                                              "node-name": nodes[disk.target]}),
                     "-device", f"ide-hd,id={disk.target},drive={nodes[disk.target]},"
                                f"bus=ide.{index // 2},unit={index % 2}"]
        argv += ["-S"] if paused or incoming else []
        argv += ["-incoming", "defer"] if incoming else []
        ours, theirs = socket.socketpair()
        argv += ["-chardev", f"socket,id=qmp,fd={theirs.fileno()}",
                 "-mon", "chardev=qmp,mode=control"]
        proc = start(argv, [theirs.fileno()], out, err)
        theirs.close()
        monitor = self._connect(name, proc, ours, nodes, out, err, ram)
        try:
            if incoming is not None:
                self._restore(monitor, incoming, paused)
        except BaseException:
            monitor.quit()
            raise
        self.monitors.append(monitor)
        return monitor

    def _connect(
        self, name: str, proc: subprocess.Popen[bytes], sock: socket.socket,
        nodes: dict[str, str], out: str, err: str, ram: str,
    ) -> QemuMonitor:
        try:
            qmp = Qmp(sock, name, self._qmp_timeout)
        except (QMPError, OSError, EOFError, TimeoutError) as error:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(1.0)  # QEMU that refuses its arguments exits at once
            code = proc.returncode  # None: running but not answering
            proc.kill()
            stop(proc)
            if code is None or code < 0:
                how = "not answering" if code is None else exit_text(code)
                raise EnvironmentFailure(
                    f"launch: QEMU for domain {name} was {how} as it started"
                    + (f": {_tail(err)}" if _tail(err) else "")
                ) from error
            raise BackendError(
                f"launch: QEMU for domain {name} did not start: {_tail(err) or error}"
            ) from error
        monitor = QemuMonitor(name, proc, qmp, nodes, out, err, {}, ram)
        try:
            sizes = {
                entry["node-name"]: int(entry["image"]["virtual-size"])
                for entry in monitor._execute("launch", "query-named-block-nodes", {"flat": True})
            }
        except BaseException:
            monitor.quit()
            raise
        monitor._sizes.update({target: sizes[node] for target, node in nodes.items()})
        return monitor

    def _restore(self, monitor: QemuMonitor, incoming: str, paused: bool) -> None:
        if not os.path.isfile(incoming):
            # QEMU 7.2 waits for ever when the exec: source fails at once.
            raise BackendError(f"launch: cannot read {incoming}: No such file")
        monitor._execute("launch", "migrate-incoming", {"uri": f"exec:cat {shlex.quote(incoming)}"})
        deadline = time.monotonic() + MIGRATE_TIMEOUT
        while monitor._execute("launch", "query-status")["status"] == "inmigrate":
            state = monitor._execute("launch", "query-migrate").get("status")
            if state == "failed" or time.monotonic() > deadline:
                raise BackendError(
                    f"launch: restoring {incoming} failed ({state}); is it a complete memory file?"
                )
            time.sleep(POLL)
        if not paused:
            monitor._execute("launch", "cont")

    def close(self) -> None:
        """Quit every QEMU this launcher started."""
        for monitor in self.monitors:
            monitor.quit()
        self.monitors.clear()

