"""libvirt through libvirt-python: the test driver, the embedded QEMU driver, or any URI."""

from .adapter import LibvirtAdapter

__all__ = ["LibvirtAdapter"]
