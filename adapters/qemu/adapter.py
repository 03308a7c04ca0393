"""Adapter ``qemu``: the reference driver over real qemu-img/qemu-io and QEMU over QMP.

The same driver as the embedded ``fake`` adapter, on the real backends of this package, so the
explorer checks the driver's promises (and the fakes' fidelity) against real images and real
QEMU processes. Everything is observable. Files live under ``workdir`` (when none is given, a
fresh temporary directory, removed on close, or by the next run if this process is killed).
"""

from __future__ import annotations

import os
import shutil

from ...errors import AdapterError
from ...profiles import load_profile
from ...reference.driver import ReferenceDriver
from ...workdirs import make_workdir, remove_workdir
from ..driven import DrivenAdapter
from ..protocol import Capabilities
from .images import QemuImageTool
from .monitor import QemuLauncher


class QemuAdapter(DrivenAdapter):
    """The reference driver over real QEMU tools, in one work directory."""

    name = "qemu"

    def __init__(
        self, uri: str | None = None, profile: str = "libvirt-current",
        workdir: str | None = None,
    ) -> None:
        if uri is not None:
            raise AdapterError(
                f"the qemu adapter drives QEMU directly and takes no URI (got {uri!r}); "
                "use the libvirt adapter for a libvirt URI"
            )
        self.capabilities = Capabilities(profile=profile)
        self._profile = load_profile(profile)
        QemuImageTool("/"), QemuLauncher("/")  # fail early, naming the package to install
        self._own = workdir is None
        self.root = os.path.realpath(workdir or make_workdir("qemu"))
        os.makedirs(self.root, exist_ok=True)
        self.driver = self._new_driver()

    def _new_driver(self) -> ReferenceDriver:
        self._launcher = QemuLauncher(self.root)
        return ReferenceDriver(QemuImageTool(self.root), self._launcher, self._profile)

    def _release(self) -> None:
        self.driver.close()
        self._launcher.close()

    def _clear(self) -> None:
        """Empty the work directory."""
        for entry in os.listdir(self.root):
            path = os.path.join(self.root, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)

    def close(self) -> None:
        """Stop every QEMU; remove the work directory if the adapter made it."""
        if self._closed:
            return
        super().close()
        if self._own:
            remove_workdir(self.root)
