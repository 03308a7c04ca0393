"""The reference driver, the backend protocols it drives, and the path sandbox they all apply.

:class:`ReferenceDriver` carries out the plans of :func:`snaporacle.model.prepare.prepare` on any
backends that implement :class:`ImageTool` and :class:`Launcher` (:class:`Monitor` per running
domain): the fakes of :mod:`snaporacle.fakes`, or real qemu-img and QEMU
(:mod:`snaporacle.adapters.qemu`).
"""

from .backend import Call, DiskAttachment, ImageInfo, ImageTool, Launcher, Monitor, SnapshotAction
from .driver import MECHANISM_VERBS, ReferenceDriver, mechanisms_of
from .sandbox import inside

__all__ = [
    "MECHANISM_VERBS",
    "Call",
    "DiskAttachment",
    "ImageInfo",
    "ImageTool",
    "Launcher",
    "Monitor",
    "ReferenceDriver",
    "SnapshotAction",
    "inside",
    "mechanisms_of",
]
