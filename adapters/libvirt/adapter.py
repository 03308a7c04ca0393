"""The libvirt adapter: snaporacle's operations carried out through libvirt-python.

``uri`` chooses the driver:

- ``test:///default`` (the default): libvirt's in-process test driver. It keeps snapshot metadata
  and domain states but has no images, so chains, tags, guest data and memory files are not
  observable. Every reset starts from a node file of the adapter's own with no domains.
- ``qemu:///embed`` or ``qemu:///embed?root=DIR``: libvirt's real QEMU driver inside this process,
  no daemon (see :mod:`.runtime` for what it needs). Everything is observable.
- any other URI (``qemu:///system``, a remote URI...): used as given; the adapter only touches the
  domains it defines, and observes images only when the driver is QEMU.

Images live under ``root`` (the work directory); a relative disk source of a ``DefineDomain`` is
taken relative to it. Errors become :class:`Result` values classified by
:func:`snaporacle.model.codes.outcome_for_code`, keeping libvirt's code name.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any, assert_never

from ... import reaper
from ...errors import AdapterError, BackendError, EnvironmentFailure, StepTimeout
from ...model.codes import outcome_for_code
from ...model.memory import blocks_to_read, write_problem
from ...model.modes import CreateFlag, DeleteFlag, Outcome
from ...model.observation import (
    ALL_ASPECTS,
    Aspect,
    DiskObservation,
    DomainObservation,
    ImageObservation,
    Observation,
)
from ...model.ops import (
    OP_TYPES,
    CreateSnapshot,
    CurrentSnapshot,
    DefineDomain,
    DeleteSnapshot,
    DestroyDomain,
    DumpSnapshotXML,
    ListSnapshots,
    Op,
    PauseDomain,
    Result,
    ResumeDomain,
    RevertSnapshot,
    StartDomain,
    WriteData,
    WriteMemory,
)
from ...model.world import relative
from ...profiles import profile_names
from ...reference.backend import BLOCK_SIZE, DISK_BLOCKS
from ...workdirs import make_workdir, remove_workdir
from ..protocol import Capabilities
from ..qemu.images import QemuImageTool
from . import guest_memory
from ._shared_read import SharedReader
from .domxml import (
    LiveDisk,
    domain_xml,
    is_external,
    live_disks,
    snapshot_observation,
)
from .runtime import (
    TEST_NODE_XML,
    embed_root,
    error_name,
    libvirt_module,
    open_connection,
    qemu_module,
    release_connection,
)

_STATES = (
    "nostate", "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended"
)
_SAVE_MAGICS = (b"LibvirtQemudSave", b"LibvirtQemudPart")
_PRIVATE = ".snaporacle"
_NO_IMAGES = frozenset(
    {Aspect.CHAINS, Aspect.INTERNAL_TAGS, Aspect.GUEST_DATA, Aspect.MEMORY_FILES}
)

_embed_users: set[Path] = set()
_embed_lock = threading.Lock()


#: The create flags the explorer draws on libvirt 9.0's test driver. It refuses NO_METADATA,
#: DISK_ONLY and REUSE_EXT with "unsupported flags" (DISK_ONLY cells stay drawn: the profile
#: records the refusal), and accepts LIVE and QUIESCE whatever the request, without the QEMU
#: driver's checks (docs/FINDINGS.md), so those are not drawn either.
_TEST_CREATE_FLAGS = (
    CreateFlag.REDEFINE | CreateFlag.CURRENT | CreateFlag.HALT | CreateFlag.ATOMIC
    | CreateFlag.VALIDATE
)


#: The default time limit of one step on libvirt (a snapshot of a busy guest takes seconds).
STEP_TIMEOUT = 120.0

class LibvirtAdapter:
    """A driver under test reached through libvirt (see the module docstring for ``uri``).

    ``workdir`` is the work directory (default: a new temporary one, removed on close);
    ``profile`` the profile it claims (default: the measured ``libvirt-X.Y-test`` or
    ``libvirt-X.Y-qemu-embed`` of the installed libvirt when shipped, else ``libvirt-current``).
    """

    name = "libvirt"

    def __init__(
        self,
        uri: str = "test:///default",
        workdir: str | os.PathLike[str] | None = None,
        profile: str | None = None,
    ) -> None:
        self._libvirt = libvirt_module()
        self.uri = uri
        self._own_workdir = workdir is None
        base = workdir if workdir is not None else make_workdir("libvirt")
        self.root = str(Path(base).resolve())
        Path(self.root, _PRIVATE).mkdir(parents=True, exist_ok=True)
        self._embed = embed_root(uri)
        if self._embed is not None:
            with _embed_lock:
                if self._embed in _embed_users:
                    if self._own_workdir:
                        remove_workdir(self.root)
                    raise AdapterError(
                        f"another LibvirtAdapter already uses the embedded driver at {self._embed}:"
                        " close it first (libvirt allows one qemu:///embed root per process)"
                    )
                _embed_users.add(self._embed)
            reaper.enable()  # a destroyed QEMU is reaped at once, not when PID 1 gets to it
        self._domains: set[str] = set()
        #: wait for a new second before reverting to an external snapshot when one ran in this
        #: second already (see :meth:`_await_new_second`); False shows libvirt's collision
        self.avoid_same_second_reverts = True
        self._last_external_revert = 0.0
        self._conn: Any = None
        try:
            self._connect()
        except BaseException:
            self._release_embed()
            if self._own_workdir:
                remove_workdir(self.root)
            raise
        self._driver: str = self._connection().getType()
        self._images = self._driver == "QEMU"
        self._ram_dir = guest_memory.ram_dir_for(uri, self._embed) if self._images else None
        self._ram_written: dict[str, set[int]] = {}
        self._tool = QemuImageTool(self.root) if self._images else None
        self._shared = SharedReader()
        self.capabilities = self._capabilities(profile)

    # -- set-up ---------------------------------------------------------------------------------

    def _connection(self) -> Any:
        if self._conn is None:
            raise AdapterError("the adapter is closed: make a new LibvirtAdapter")
        return self._conn

    def _connect(self) -> None:
        if self.uri.startswith("test://"):
            node = Path(self.root, _PRIVATE, "test-node.xml")
            node.write_text(TEST_NODE_XML, encoding="utf-8")
            uri = f"test://{node}" if self.uri == "test:///default" else self.uri
            self._conn = open_connection(uri)
        else:
            self._conn = open_connection(self.uri)

    def measured_name(self) -> str:
        """The name of a profile measured here: driver and libvirt version, as
        ``libvirt-11.3-qemu-embed`` (``-test`` for the test driver, ``-qemu`` for another QEMU
        URI, else the driver's name in lower case)."""
        version = self._connection().getLibVersion()
        if self._driver == "TEST":
            kind = "test"
        elif self._driver == "QEMU":
            kind = "qemu-embed" if self.uri.startswith("qemu:///embed") else "qemu"
        else:
            kind = self._driver.lower()
        return f"libvirt-{version // 1_000_000}.{version // 1000 % 1000}-{kind}"

    def _capabilities(self, profile: str | None) -> Capabilities:
        aspects = ALL_ASPECTS if self._images else ALL_ASPECTS - _NO_IMAGES
        ops = frozenset(OP_TYPES) if self._images else frozenset(OP_TYPES) - {WriteData.kind}
        claimed = self.measured_name()
        if profile is None:
            profile = claimed if claimed in profile_names() else "libvirt-current"
        if self._ram_dir is None:  # guest RAM is observed only where its file can be reached
            aspects -= {Aspect.GUEST_MEMORY}
            ops -= {WriteMemory.kind}
        if self._images:
            return Capabilities(profile=profile, aspects=aspects, ops=ops)
        # the test driver refuses these flags outright ("unsupported flags"): measured on 9.0
        return Capabilities(
            profile=profile,
            aspects=aspects,
            ops=ops,
            create_flags=_TEST_CREATE_FLAGS,
            delete_flags=DeleteFlag.CHILDREN | DeleteFlag.CHILDREN_ONLY,
        )

    def describe(self) -> dict[str, str]:
        """Where measurements come from: driver, URI (without a local root), versions."""
        def dotted(number: int) -> str:
            return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"

        info = {
            "adapter": self.name,
            "uri": self.uri.split("?", 1)[0],
            "driver": self._driver,
            "libvirt": dotted(self._conn.getLibVersion()),
        }
        if self._driver == "QEMU":
            info["qemu"] = dotted(self._conn.getVersion())
        return info

    # -- operations -----------------------------------------------------------------------------

    #: Seconds a step may take before the watchdog destroys its domain to free it.
    step_timeout: float = STEP_TIMEOUT

    def apply(self, op: Op) -> Result:
        """Carry out one operation; libvirt's refusals come back as a :class:`Result`.

        A step with no answer within :attr:`step_timeout` is cut short: a watchdog destroys the
        domain (libvirt's way to abort a hung job), and the step raises
        :class:`~snaporacle.errors.StepTimeout` naming it.
        """
        name = getattr(op, "domain", None)
        fired = threading.Event()

        def hung() -> None:
            fired.set()
            with contextlib.suppress(self._libvirt.libvirtError):
                dom = self._conn.lookupByName(name)
                if dom.isActive():
                    dom.destroy()

        watchdog = threading.Timer(self.step_timeout, hung)
        watchdog.daemon = True
        if isinstance(name, str):
            watchdog.start()
        try:
            result = self._apply(op)
        finally:
            watchdog.cancel()
        if fired.is_set():
            raise StepTimeout(
                f"{op.kind} on domain {name}: libvirt gave no answer within {self.step_timeout:g} s;"
                " the domain was destroyed to free the step"
            )
        return result

    def _apply(self, op: Op) -> Result:
        try:
            return self._dispatch(op)
        except self._libvirt.libvirtError as err:
            # a monitor that ends under an operation may be QEMU dying: give libvirt a moment
            lost = "monitor" in (err.get_error_message() or "").lower()
            died = self._died(getattr(op, "domain", None), wait=1.0 if lost else 0.0)
            if died is not None:
                raise died from err
            code = error_name(err)
            return Result(outcome_for_code(code), code, None, err.get_error_message() or str(err))

    def _dispatch(self, op: Op) -> Result:
        match op:
            case DefineDomain():
                return self._define(op)
            case StartDomain():
                return self._start(op)
            case PauseDomain():
                return self._simple(op, "suspend")
            case ResumeDomain():
                return self._simple(op, "resume")
            case DestroyDomain():
                return self._simple(op, "destroy")
            case WriteData():
                return self._write(op)
            case WriteMemory():
                return self._write_memory(op)
            case CreateSnapshot():
                return self._create(op)
            case RevertSnapshot():
                return self._revert(op)
            case DeleteSnapshot():
                return self._delete(op)
            case ListSnapshots():
                return Result.ok(tuple(sorted(self._dom(op).snapshotListNames())))
            case CurrentSnapshot():
                return self._current(op)
            case DumpSnapshotXML():
                return Result.ok(self._snap(op).getXMLDesc())
            case _:
                assert_never(op)

    def _dom(self, op: Any) -> Any:
        return self._conn.lookupByName(op.domain)

    def _snap(self, op: Any) -> Any:
        return self._dom(op).snapshotLookupByName(op.name)

    def _path(self, source: str) -> str:
        path = os.path.normpath(os.path.join(self.root, source))
        if os.path.commonpath([path, self.root]) != self.root:
            raise AdapterError(f"disk image {source!r} lies outside the work directory {self.root}")
        return path

    def _define(self, op: DefineDomain) -> Result:
        try:
            sources = {disk.target: self._path(disk.source) for disk in op.domain.disks}
        except AdapterError as err:
            return Result(Outcome.INVALID, None, None, str(err))
        xml = domain_xml(op.domain, sources)
        self._conn.defineXML(guest_memory.with_memory_backing(xml) if self._ram_dir else xml)
        self._domains.add(op.domain.name)
        for disk in op.domain.disks:
            path = Path(sources[disk.target])
            path.parent.mkdir(parents=True, exist_ok=True)
            if self._tool is not None:
                self._tool.create(str(path), disk.format)
            else:
                # The test driver stats a source before naming an external snapshot after it.
                path.write_bytes(b"")
        return Result.ok()

    def _start(self, op: StartDomain) -> Result:
        """Start, paused if asked. The test driver refuses VIR_DOMAIN_START_PAUSED (its
        testDomainCreateWithFlags takes no flags), so there a paused start is create + suspend."""
        domain = self._dom(op)
        if not op.paused:
            domain.createWithFlags(0)
            return Result.ok()
        try:
            domain.createWithFlags(self._libvirt.VIR_DOMAIN_START_PAUSED)
        except self._libvirt.libvirtError as err:
            if err.get_error_code() != self._libvirt.VIR_ERR_INVALID_ARG:
                raise
            domain.createWithFlags(0)
            domain.suspend()
        return Result.ok()

    def _simple(self, op: Any, method: str) -> Result:
        getattr(self._dom(op), method)()
        return Result.ok()

    def _write(self, op: WriteData) -> Result:
        if self._tool is None:
            message = f"the {self._driver} driver has no images"
            return Result(Outcome.UNSUPPORTED, None, None, message)
        if not (0 <= op.block < DISK_BLOCKS and 1 <= op.pattern <= 255):
            message = f"block must be 0..{DISK_BLOCKS - 1} and pattern 1..255"
            return Result(Outcome.INVALID, None, None, f"{message}, not {op.block}/{op.pattern}")
        dom = self._dom(op)
        disk = next((d for d in self._disks(dom) if d.target == op.disk), None)
        if disk is None:
            return Result(Outcome.INVALID, None, None, f"domain {op.domain} has no disk {op.disk}")
        if not dom.isActive():
            self._tool.write(disk.source, disk.format, op.block, op.pattern)
            return Result.ok()
        paused = dom.state()[0] == self._libvirt.VIR_DOMAIN_PAUSED
        if paused and self._qemu_status(dom) == "postmigrate" and self._write_unheld(disk, op):
            return Result.ok()
        if paused:
            self._activate_block_nodes(dom)
        self._hmp_io(dom, disk, f"write -P {op.pattern} {op.block * BLOCK_SIZE} {BLOCK_SIZE}")
        return Result.ok()

    def _write_unheld(self, disk: LiveDisk, op: WriteData) -> bool:
        """Write the image file itself, if QEMU does not hold it; whether it was written.

        A paused domain whose memory went to a file keeps its images inactive and unlocked (and
        reads them again when the guest runs): qemu-io through QEMU would abort QEMU 7.2 there
        (``BDRV_O_INACTIVE``). An overlay a snapshot added after that is active and locked:
        that one is written through QEMU."""
        assert self._tool is not None  # the caller checked the driver has images
        try:
            self._tool.write(disk.source, disk.format, op.block, op.pattern)
        except BackendError as err:
            if "lock" not in str(err):
                raise
            return False
        return True

    def _qemu_status(self, dom: Any) -> str:
        """QEMU's own run state (QMP ``query-status``): ``postmigrate`` after a paused domain's
        memory snapshot, which libvirt reports as merely paused."""
        reply = qemu_module().qemuMonitorCommand(dom, json.dumps({"execute": "query-status"}), 0)
        return str(json.loads(reply)["return"]["status"])

    def _write_memory(self, op: WriteMemory) -> Result:
        problem = write_problem(op.block, op.pattern)
        if self._ram_dir is None or problem is not None:
            return Result(Outcome.INVALID, None, None, problem or "guest RAM is not reachable")
        dom = self._dom(op)
        if not dom.isActive():
            return Result(Outcome.INVALID, None, None, "domain is not running")
        self._ram_written.setdefault(op.domain, set()).add(op.block)
        guest_memory.write_block(self._ram_dir, dom, op.block, op.pattern)
        return Result.ok()

    def _create(self, op: CreateSnapshot) -> Result:
        snapshot = self._dom(op).snapshotCreateXML(op.xml, int(op.flags))
        return Result.ok(snapshot.getName())

    def _revert(self, op: RevertSnapshot) -> Result:
        dom = self._dom(op)
        snapshot = dom.snapshotLookupByName(op.name)
        external = is_external(snapshot.getXMLDesc())
        if external and self.avoid_same_second_reverts:
            self._await_new_second()
        dom.revertToSnapshot(snapshot, int(op.flags))
        if external:
            self._last_external_revert = time.time()
        return Result.ok()

    def _await_new_second(self) -> None:
        """Sleep into the next second when an external revert already ran in this one: libvirt
        11.3 names a revert's overlays by the second, and a second revert within it fails
        (finding ``libvirt-11.3-revert-overlay-same-second-collision``)."""
        now = time.time()
        if int(now) == int(self._last_external_revert):
            time.sleep(math.floor(now) + 1 - now + 0.01)

    def _delete(self, op: DeleteSnapshot) -> Result:
        self._snap(op).delete(int(op.flags))
        return Result.ok()

    def _current(self, op: CurrentSnapshot) -> Result:
        """``virDomainSnapshotCurrent``: an error (VIR_ERR_NO_DOMAIN_SNAPSHOT) when there is none."""
        return Result.ok(self._dom(op).snapshotCurrent().getName())

    # -- observation ----------------------------------------------------------------------------

    def _disks(self, dom: Any) -> tuple[LiveDisk, ...]:
        flags = 0 if dom.isActive() else self._libvirt.VIR_DOMAIN_XML_INACTIVE
        return live_disks(dom.XMLDesc(flags))

    def _activate_block_nodes(self, dom: Any) -> None:
        """Activate a paused domain's block nodes before the adapter writes guest data.

        QEMU 10 leaves them inactive after an incoming migration until the guest runs (a revert
        to a checkpoint with PAUSED), and HMP ``qemu-io`` writing to an inactive node aborts QEMU
        (``bdrv_co_write_req_prepare: Assertion `!(bs->open_flags & BDRV_O_INACTIVE)'``). QMP
        ``blockdev-set-active`` (QEMU 10.0) activates them; older QEMU has no such command and
        activates the images itself."""
        qemu = qemu_module()
        command = json.dumps({"execute": "blockdev-set-active", "arguments": {"active": True}})
        try:
            qemu.qemuMonitorCommand(dom, command, 0)
        except self._libvirt.libvirtError as err:
            if "CommandNotFound" not in str(err) and "has not been found" not in str(err):
                raise

    def _hmp_io(self, dom: Any, disk: LiveDisk, command: str) -> None:
        """HMP ``qemu-io`` on the guest's own device (its output goes to QEMU's log, not here)."""
        qemu = qemu_module()
        reply = qemu.qemuMonitorCommand(
            dom, f'qemu-io -d {disk.alias} "{command}"', qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP
        )
        if reply.strip():
            raise BackendError(f"HMP qemu-io {command!r} on {disk.target} failed: {reply.strip()}")

    def _observe_disk(self, dom: Any, disk: LiveDisk, active: bool) -> DiskObservation:
        if self._tool is None:
            return DiskObservation(disk.target, (), ())
        if active:
            self._hmp_io(dom, disk, "flush")
        infos = self._tool.info_chain(disk.source)
        chain = tuple(
            ImageObservation(relative(self.root, image.path), image.format, image.tags)
            for image in infos
        )
        if active:
            data = self._shared.read(disk.source, disk.format, (i.path for i in infos))
        else:
            data = self._tool.read(disk.source, disk.format)
        return DiskObservation(disk.target, chain, data)

    def _observe_domain(self, dom: Any) -> DomainObservation:
        state = _STATES[dom.state()[0]] if dom.state()[0] < len(_STATES) else "nostate"
        snapshots = tuple(
            snapshot_observation(name, dom.snapshotLookupByName(name).getXMLDesc(), self.root)
            for name in sorted(dom.snapshotListNames())
        )
        current = dom.snapshotCurrent().getName() if dom.hasCurrentSnapshot() else None
        active = bool(dom.isActive())
        disks = tuple(self._observe_disk(dom, disk, active) for disk in self._disks(dom))
        memory = None
        if active and self._ram_dir is not None:
            blocks = blocks_to_read(self._ram_written.get(dom.name(), ()))
            memory = guest_memory.read_blocks(dom, blocks, self._libvirt.VIR_MEMORY_PHYSICAL)
        return DomainObservation(dom.name(), state, current, snapshots, disks, memory)

    def _memory_files(self) -> tuple[str, ...]:
        if not self._images:
            return ()
        found = []
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                path = os.path.join(folder, name)
                try:
                    with open(path, "rb") as handle:
                        head = handle.read(16)
                except OSError:
                    continue
                if head in _SAVE_MAGICS:
                    found.append(os.path.relpath(path, self.root))
        return tuple(sorted(found))

    def observe(self) -> Observation:
        """Every domain this adapter defined (by name), and the memory state files under root."""
        domains = []
        for name in sorted(self._domains):
            try:
                dom = self._conn.lookupByName(name)
            except self._libvirt.libvirtError:
                continue
            died = self._died(name)
            if died is not None:
                raise died
            try:
                domains.append(self._observe_domain(dom))
            except self._libvirt.libvirtError as err:
                died = self._died(name, wait=2.0)  # observing a running domain does not fail
                if died is not None:
                    raise died from err
                raise
        return Observation(tuple(domains), self._memory_files())

    def _crashed(self, name: str) -> bool:
        libvirt = self._libvirt
        try:
            state, reason = self._conn.lookupByName(name).state()
        except libvirt.libvirtError:
            return False
        return bool(state == libvirt.VIR_DOMAIN_CRASHED or (
            state == libvirt.VIR_DOMAIN_SHUTOFF and reason == libvirt.VIR_DOMAIN_SHUTOFF_CRASHED
        ))

    def _died(self, name: object, wait: float = 0.0) -> EnvironmentFailure | None:
        """The failure to report when the QEMU under domain ``name`` died without being asked
        (killed, out of memory, crashed): not a finding about libvirt's snapshots. ``wait``
        gives libvirt that long to notice (after an error that may be the death itself)."""
        if not isinstance(name, str) or name not in self._domains:
            return None
        deadline = time.monotonic() + wait
        while not self._crashed(name):
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
        log = Path(self._embed or "/var", "log", "libvirt" if self._embed is None else "",
                   "qemu", f"{name}.log")
        tail = ""
        with contextlib.suppress(OSError):
            lines = log.read_text(errors="replace").strip().splitlines()
            tail = " | ".join(lines[-3:])
        return EnvironmentFailure(
            f"the QEMU process of domain {name} died under libvirt (crashed: killed, out of "
            f"memory or aborted)" + (f"; {log}: {tail}" if tail else "")
        )

    # -- lifecycle ------------------------------------------------------------------------------

    def _teardown(self) -> None:
        libvirt = self._libvirt
        undefine = libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        undefine |= libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        for name in sorted(self._domains):
            try:
                dom = self._conn.lookupByName(name)
                if dom.isActive():
                    dom.destroy()
                dom.undefineFlags(undefine)
            except libvirt.libvirtError:
                continue
        self._domains.clear()
        self._ram_written.clear()

    def _clear_root(self) -> None:
        for entry in Path(self.root).iterdir():
            if entry.name == _PRIVATE:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def reset(self) -> None:
        """Back to an empty world: every domain destroyed and undefined, every image removed."""
        if self._conn is None:
            raise AdapterError("the adapter is closed: make a new LibvirtAdapter")
        self._teardown()
        self._clear_root()
        if self.uri.startswith("test://"):
            release_connection(self._conn)
            self._connect()

    def _release_embed(self) -> None:
        if self._embed is not None:
            with _embed_lock:
                _embed_users.discard(self._embed)
            self._embed = None

    def close(self) -> None:
        """Destroy and undefine the adapter's domains, close the connection, remove the files."""
        if self._conn is None:
            return
        try:
            self._teardown()
        finally:
            release_connection(self._conn)
            self._conn = None
            self._release_embed()
            if self._own_workdir:
                remove_workdir(self.root)
            else:
                self._clear_root()
                shutil.rmtree(Path(self.root, _PRIVATE), ignore_errors=True)

    def __enter__(self) -> LibvirtAdapter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

