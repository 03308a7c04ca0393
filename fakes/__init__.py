"""In-memory backends with the interfaces of :mod:`snaporacle.reference.backend`, and seeded fault plans.

:class:`FakeImageTool` stands for qemu-img and qemu-io, :class:`FakeLauncher` and
:class:`FakeMonitor` for QEMU processes and their QMP monitors; :class:`FaultPlan` makes chosen
calls fail before or after their effect. Their behaviour is checked against the real tools by
the backend contract suite (``tests/backends/test_contract.py``).
"""

from .faults import MUTATING_VERBS, Fault, FaultPlan, When
from .images import FakeImageTool
from .monitor import FakeLauncher, FakeMonitor

__all__ = [
    "MUTATING_VERBS",
    "FakeImageTool",
    "FakeLauncher",
    "FakeMonitor",
    "Fault",
    "FaultPlan",
    "When",
]
