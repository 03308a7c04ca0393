"""The backend contract suite and the real-QEMU behaviour tests."""
