"""What the adapters built on the reference driver share: one driver, reset, close, and no use
after close.

:class:`DrivenAdapter` holds a :class:`~snaporacle.reference.driver.ReferenceDriver` made by the
subclass's ``_new_driver`` (over fakes, or over real qemu-img and QEMU) and forwards the protocol
to it.
"""

from __future__ import annotations

from ..errors import AdapterError
from ..model.observation import Observation
from ..model.ops import Op, Result
from ..reference.driver import ReferenceDriver
from .protocol import Capabilities


class DrivenAdapter:
    """The :class:`~snaporacle.adapters.protocol.Adapter` protocol over a reference driver."""

    name: str
    root: str
    capabilities: Capabilities
    driver: ReferenceDriver
    _closed: bool = False

    def _new_driver(self) -> ReferenceDriver:
        raise NotImplementedError

    def _check_open(self) -> None:
        if self._closed:
            raise AdapterError(f"the {self.name} adapter is closed: make a new one")

    def _release(self) -> None:
        """Stop every process the driver started (subclasses add their own resources)."""
        self.driver.close()

    def apply(self, op: Op) -> Result:
        """Carry out one operation on the reference driver."""
        self._check_open()
        return self.driver.apply(op)

    def observe(self) -> Observation:
        """The reference driver's view of its backends."""
        self._check_open()
        return self.driver.observe()

    def reset(self) -> None:
        """A fresh driver over fresh backends."""
        self._check_open()
        self._release()
        self._clear()
        self.driver = self._new_driver()

    def _clear(self) -> None:
        """Remove what the backends left (nothing for the fakes, which start afresh)."""

    def close(self) -> None:
        """Release everything; closing twice is allowed, any other use afterwards is not."""
        if self._closed:
            return
        self._closed = True
        self._release()
