"""An in-memory QEMU: a launcher and one monitor per running domain, over a FakeImageTool's files.

A running fake domain holds its disks' chains as (path, image) layers; the image tool sees them
as locked until ``quit`` or while the VM is in ``postmigrate`` (disks inactive). Behaviour
measured on QEMU 7.2 (HMP through QMP) and matched here:

- ``savevm`` replaces a tag of the same name on every disk and keeps the VM state on the first
  disk; it fails if a disk is raw ("does not support snapshots") or the disks are inactive.
- ``loadvm`` fails on a missing tag, on a tag without VM state (taken by qemu-img), on a raw disk
  and on inactive disks; the VM keeps its run state (the real monitor resumes QEMU out of
  ``restore-vm``). ``delvm`` of a missing tag succeeds; of a raw disk fails.
- ``migrate_to_file`` writes a :class:`~snaporacle.fakes.images.MemoryState` and leaves the VM in
  ``postmigrate`` with inactive disks: ``stop`` keeps it there, ``cont`` resumes it, ``write``
  is refused (real QEMU aborts on it), a second migrate fails, ``read`` and ``transaction`` work.
- ``transaction`` of blockdev-snapshot-sync creates each overlay in order; if one action fails,
  no disk switches, but the overlay files already created stay, as in QEMU.
- ``launch(incoming=file)`` needs a complete memory file written with the same disk targets.
- Guest RAM (:mod:`snaporacle.model.memory`) starts zeroed; ``savevm`` keeps it with the VM state,
  ``loadvm`` and ``launch(incoming=file)`` bring back what was saved, ``migrate_to_file`` writes
  it into the memory file.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import BackendError
from ..model.memory import write_problem
from ..reference.backend import BLOCK_SIZE, Call, DiskAttachment, SnapshotAction, check_tag
from .faults import FaultPlan, Injector
from .images import FakeImageTool, Image, MemoryState, read_layers

Layers = list[tuple[str, Image]]


class FakeMonitor:
    """The monitor of one running fake QEMU."""

    def __init__(
        self, name: str, images: FakeImageTool, disks: dict[str, Layers], status: str,
        injector: Injector,
    ) -> None:
        self.name = name
        self.calls: list[Call] = []
        self._images = images
        self._disks = disks
        self._status = status
        self._faults = injector
        self.ram: dict[int, int] = {}

    @property
    def alive(self) -> bool:
        """Whether the fake QEMU has not quit."""
        return self._status != "shutdown"

    def holds(self, image: Image) -> str | None:
        """How this running domain locks ``image``: ``active``, ``backing`` or None."""
        if self._status in ("postmigrate", "shutdown"):
            return None
        if any(layers[0][1] is image for layers in self._disks.values()):
            return "active"
        backing = any(held is image for layers in self._disks.values() for _, held in layers[1:])
        return "backing" if backing else None

    def _start(self, verb: str, *args: str) -> Injector:
        self.calls.append(Call(verb, args))
        if self._status == "shutdown":
            raise BackendError(f"{verb}: domain {self.name} is not running; launch it first")
        return self._faults

    def _layers(self, verb: str, target: str) -> Layers:
        if target not in self._disks:
            raise BackendError(f"{verb}: domain {self.name} has no disk {target!r}")
        return self._disks[target]

    def _snapshot_capable(self, verb: str) -> None:
        for target, layers in self._disks.items():
            if self._status == "postmigrate" or layers[0][1].format != "qcow2":
                raise BackendError(
                    f"{verb}: Device '{target}' of {self.name} is writable but does not support "
                    "snapshots (a raw disk, or disks inactive after migrate: cont first)"
                )

    def status(self) -> str:
        """The run state: running, paused or postmigrate."""
        faults = self._start("status")
        when = faults.before("status", self.name)
        faults.after(when, "status", self.name)
        return self._status

    def stop(self) -> None:
        """Pause; postmigrate stays postmigrate."""
        faults = self._start("stop")
        when = faults.before("stop", self.name)
        if self._status == "running":
            self._status = "paused"
        faults.after(when, "stop", self.name)

    def cont(self) -> None:
        """Resume (and reactivate the disks after a migrate)."""
        faults = self._start("cont")
        when = faults.before("cont", self.name)
        self._status = "running"
        faults.after(when, "cont", self.name)

    def savevm(self, tag: str) -> None:
        """HMP ``savevm``: every disk's own data under ``tag``, VM state on the first disk."""
        faults = self._start("savevm", tag)
        check_tag("savevm", tag)
        when = faults.before("savevm", tag)
        self._snapshot_capable("savevm")
        for index, layers in enumerate(self._disks.values()):
            image = layers[0][1]
            old = image.find(tag, by_id=False)
            if old is not None:
                image.snapshots.remove(old)
            image.add_snapshot(tag, vmstate=index == 0, ram=self.ram if index == 0 else None)
        faults.after(when, "savevm", tag)

    def snapshot_save(self, tag: str) -> None:
        """QMP ``snapshot-save``: ``savevm``'s effect, refused when a disk holds ``tag``."""
        faults = self._start("snapshot_save", tag)
        check_tag("snapshot_save", tag)
        when = faults.before("snapshot_save", tag)
        self._snapshot_capable("snapshot_save")
        if any(layers[0][1].find(tag, by_id=False) for layers in self._disks.values()):
            raise BackendError(
                f"snapshot_save: Snapshot '{tag}' already exists in one or more devices"
            )
        for index, layers in enumerate(self._disks.values()):
            layers[0][1].add_snapshot(tag, vmstate=index == 0, ram=self.ram if index == 0 else None)
        faults.after(when, "snapshot_save", tag)

    def loadvm(self, tag: str) -> None:
        """HMP ``loadvm``: every disk back to ``tag``; the run state is kept."""
        faults = self._start("loadvm", tag)
        check_tag("loadvm", tag)
        when = faults.before("loadvm", tag)
        self._snapshot_capable("loadvm")
        found = [layers[0][1].find(tag, by_id=False) for layers in self._disks.values()]
        snaps = [snap for snap in found if snap is not None]
        if len(snaps) < len(found):
            raise BackendError(f"loadvm: Snapshot '{tag}' does not exist in one or more devices")
        if snaps and not snaps[0].vmstate:
            raise BackendError(
                f"loadvm: Snapshot '{tag}' is a disk-only snapshot; revert it offline with qemu-img"
            )
        for layers, snap in zip(self._disks.values(), snaps, strict=True):
            layers[0][1].blocks = dict(snap.blocks)
        if snaps:
            self.ram = dict(snaps[0].ram)
        faults.after(when, "loadvm", tag)

    def delvm(self, tag: str) -> None:
        """HMP ``delvm``: delete ``tag`` from every disk; a missing tag is not an error."""
        faults = self._start("delvm", tag)
        check_tag("delvm", tag)
        when = faults.before("delvm", tag)
        self._snapshot_capable("delvm")
        for layers in self._disks.values():
            snap = layers[0][1].find(tag, by_id=False)
            if snap is not None:
                layers[0][1].snapshots.remove(snap)
        faults.after(when, "delvm", tag)

    def migrate_to_file(self, path: str) -> None:
        """``migrate exec:cat>path``: a memory file; the VM ends in postmigrate."""
        faults = self._start("migrate_to_file", path)
        path = self._images.path("migrate_to_file", path)
        when = faults.before("migrate_to_file", path)
        if self._status == "postmigrate":
            raise BackendError(
                "migrate_to_file: Can't migrate the vm that was paused due to previous migration; "
                "cont first"
            )
        self._images.check_dir("migrate_to_file", path)
        targets = tuple(self._disks)
        if when is not None:
            self._images.table[path] = MemoryState(targets, complete=False)
        else:
            self._images.table[path] = MemoryState(targets, ram=dict(self.ram))
            self._status = "postmigrate"
        faults.after(when, "migrate_to_file", path)

    def transaction(self, actions: Sequence[SnapshotAction]) -> None:
        """``transaction`` of blockdev-snapshot-sync: every disk switches to its overlay or none."""
        faults = self._start("transaction", *(f"{a.target}={a.overlay}" for a in actions))
        overlays = [self._images.path("transaction", a.overlay) for a in actions]
        when = faults.before("transaction", ", ".join(overlays))
        new = dict(self._disks)
        for action, overlay in zip(actions, overlays, strict=True):
            layers = new.get(action.target)
            if layers is None:
                raise BackendError(f"transaction: Cannot find device '{action.target}'")
            if action.format != "qcow2":
                raise BackendError(
                    f"transaction: overlay {overlay}: format '{action.format}' cannot have a "
                    "backing file; use qcow2"
                )
            self._images.check_dir("transaction", overlay)
            existing = self._images.table.get(overlay)
            if isinstance(existing, Image) and self._images.lock_holder(existing) is not None:
                raise BackendError(
                    f"transaction: {overlay}: Failed to get \"write\" lock; the image is in use"
                )
            top_path, top = layers[0]
            image = Image("qcow2", top.size, top_path, top.format)
            self._images.table[overlay] = image
            new[action.target] = [(overlay, image), *layers]
        self._disks = new
        faults.after(when, "transaction", ", ".join(overlays))

    def commit(self, target: str, top: str | None = None) -> None:
        """block-commit of one overlay into its backing image: the active image (then the disk
        pivots onto its backing image) or, given ``top``, an image inside the chain (then the
        image above it names the backing image)."""
        faults = self._start("commit", target, *([top] if top else []))
        when = faults.before("commit", target)
        layers = self._layers("commit", target)
        if self._status == "postmigrate":
            raise BackendError(f"commit: disk {target} is inactive after a migration; cont first")
        paths = [path for path, _ in layers]
        index = 0 if top is None else paths.index(top) if top in paths else -1
        if index < 0:
            raise BackendError(f"commit: image {top} is not in the chain of disk {target}")
        if index + 1 >= len(layers):
            raise BackendError(f"commit: disk {target} has no backing image to commit into")
        (_, image), (base_path, base) = layers[index], layers[index + 1]
        base.blocks.update(image.blocks)
        if index > 0:
            above = layers[index - 1][1]
            above.backing, above.backing_format = base_path, base.format
        disks = dict(self._disks)
        disks[target] = layers[:index] + layers[index + 1:]
        self._disks = disks
        faults.after(when, "commit", target)

    def chain(self, target: str) -> tuple[str, ...]:
        """The disk's image paths, active first."""
        faults = self._start("chain", target)
        when = faults.before("chain", target)
        paths = tuple(path for path, _ in self._layers("chain", target))
        faults.after(when, "chain", target)
        return paths

    def write(self, target: str, block: int, pattern: int) -> None:
        """HMP ``qemu-io`` write of one block; refused while the disks are inactive."""
        faults = self._start("write", target, str(block), str(pattern))
        when = faults.before("write", target)
        layers = self._layers("write", target)
        if self._status == "postmigrate":
            raise BackendError(
                f"write: disks of {self.name} are inactive after migrate (QEMU would abort); "
                "cont first"
            )
        _check_block("write", target, layers[0][1], block, pattern)
        layers[0][1].blocks[block] = pattern
        faults.after(when, "write", target)

    def read(self, target: str) -> tuple[int, ...]:
        """The pattern of every block of the running disk."""
        faults = self._start("read", target)
        when = faults.before("read", target)
        layers = self._layers("read", target)
        data = read_layers(layers[0][1].size, layers)
        faults.after(when, "read", target)
        return data

    def write_memory(self, block: int, pattern: int) -> None:
        """A host write of one guest RAM block (through the shared RAM file)."""
        faults = self._start("write_memory", str(block), str(pattern))
        when = faults.before("write_memory", self.name)
        problem = write_problem(block, pattern)
        if problem is not None:
            raise BackendError(f"write_memory: {problem}")
        self.ram[block] = pattern
        faults.after(when, "write_memory", self.name)

    def read_memory(self, blocks: Sequence[int]) -> dict[int, int]:
        """The pattern of each of ``blocks`` of guest RAM."""
        faults = self._start("read_memory", *map(str, blocks))
        when = faults.before("read_memory", self.name)
        found = {block: self.ram.get(block, 0) for block in blocks}
        faults.after(when, "read_memory", self.name)
        return found

    def quit(self) -> None:
        """End the fake QEMU; its images are released. Quitting twice is harmless."""
        self.calls.append(Call("quit"))
        if self._status == "shutdown":
            return
        when = self._faults.before("quit", self.name)
        self._status = "shutdown"
        self._images.holders.remove(self)
        self._faults.after(when, "quit", self.name)


def _check_block(verb: str, target: str, image: Image, block: int, pattern: int) -> None:
    if not 1 <= pattern <= 255:
        raise BackendError(f"{verb}: pattern {pattern} is not in 1..255")
    if not 0 <= block < image.size // BLOCK_SIZE:
        raise BackendError(f"{verb}: block {block} is outside disk {target}")


class FakeLauncher:
    """Starts fake QEMUs over the files of ``images``."""

    def __init__(self, images: FakeImageTool, faults: FaultPlan | None = None) -> None:
        self.images = images
        self.root = images.root
        self.calls: list[Call] = []
        self.monitors: list[FakeMonitor] = []
        self._plan = faults
        self._faults = Injector(faults, "launcher")

    def launch(
        self, name: str, disks: Sequence[DiskAttachment], paused: bool = False,
        incoming: str | None = None,
    ) -> FakeMonitor:
        """Start a fake QEMU; ``incoming`` restores a memory file written by migrate."""
        args = [name, *(f"{d.target}={d.path}:{d.format}" for d in disks)]
        args += (["paused"] if paused else []) + ([f"incoming={incoming}"] if incoming else [])
        self.calls.append(Call("launch", tuple(args)))
        paths = [self.images.path("launch", d.path) for d in disks]
        if incoming is not None:
            incoming = self.images.path("launch", incoming)
        when = self._faults.before("launch", name)
        if any(m.name == name and m.alive for m in self.monitors):
            raise BackendError(f"launch: domain {name} is already running; quit it first")
        chains: dict[str, Layers] = {}
        for disk, path in zip(disks, paths, strict=True):
            if disk.target in chains:
                raise BackendError(f"launch: disk target {disk.target} is given twice")
            layers = self.images.layers("launch", path)
            if layers[0][1].format != disk.format or isinstance(
                self.images.table.get(path), MemoryState
            ):
                raise BackendError(f"launch: Image '{path}' is not in {disk.format} format")
            for index, (layer_path, image) in enumerate(layers):
                held = self.images.lock_holder(image)
                if held == "active" or (held and index == 0):
                    raise BackendError(
                        f"launch: {layer_path}: Failed to get \"write\" lock; "
                        "another running domain uses the image"
                    )
            chains[disk.target] = layers
        ram: dict[int, int] = {}
        if incoming is not None:
            ram = self._restore(incoming, tuple(chains))
        self._faults.after(when, "launch", name)
        monitor = FakeMonitor(
            name, self.images, chains, "paused" if paused else "running",
            Injector(self._plan, "monitor"),
        )
        monitor.ram = ram
        self.images.holders.append(monitor)
        self.monitors.append(monitor)
        return monitor

    def close(self) -> None:
        """Quit every fake QEMU this launcher started."""
        for monitor in self.monitors:
            monitor.quit()
        self.monitors.clear()

    def _restore(self, incoming: str, targets: tuple[str, ...]) -> dict[int, int]:
        state = self.images.table.get(incoming)
        if state is None:
            raise BackendError(f"launch: cannot read {incoming}: No such file or directory")
        if not isinstance(state, MemoryState) or not state.complete:
            raise BackendError(
                f"launch: load of migration from {incoming} failed: not a complete memory state"
            )
        if state.targets != targets:
            raise BackendError(
                f"launch: load of migration from {incoming} failed: it was saved with disks "
                f"{', '.join(state.targets)}, not {', '.join(targets)}"
            )
        return dict(state.ram)
