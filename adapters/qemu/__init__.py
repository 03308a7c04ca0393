"""Real backends: ``qemu-img``/``qemu-io`` as an image tool, ``qemu-system-x86_64`` over QMP.

They implement the protocols of :mod:`snaporacle.reference.backend` with the same behaviour as the fakes
of :mod:`snaporacle.fakes`; the backend contract suite runs both. :class:`QemuAdapter` is the
reference driver over them (adapter ``qemu``). A missing tool raises
:class:`~snaporacle.errors.ComponentMissing` naming its Debian package.
"""

from .adapter import QemuAdapter
from .images import QemuImageTool
from .monitor import QemuLauncher, QemuMonitor

__all__ = ["QemuAdapter", "QemuImageTool", "QemuLauncher", "QemuMonitor"]
