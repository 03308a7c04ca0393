"""Adapters: the one :class:`Adapter` protocol the explorer drives, and the adapters that ship.

``fake`` (:class:`FakeAdapter`, the reference driver over in-memory fakes; the default), ``qemu``
(the reference driver over real qemu-img and QEMU) and ``libvirt`` (libvirt-python). Load any
adapter, a user's own included, with :func:`load_adapter` by registered name or import path.
"""

from .protocol import Adapter, Capabilities
from .registry import adapter_class, adapter_names, load_adapter

__all__ = ["Adapter", "Capabilities", "adapter_class", "adapter_names", "load_adapter"]
