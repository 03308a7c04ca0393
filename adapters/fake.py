"""Adapter ``fake``: the reference driver over the in-memory fake backends. The embedded default.

Nothing touches the disk: the work directory is a virtual path. ``faults`` takes a
:class:`~snaporacle.fakes.faults.FaultPlan` so that the driver's rollback can be explored too.
"""

from __future__ import annotations

import attrs

from ..fakes.faults import FaultPlan
from ..fakes.images import FakeImageTool
from ..fakes.monitor import FakeLauncher
from ..profiles import load_profile
from ..reference.driver import ReferenceDriver
from .driven import DrivenAdapter
from .protocol import Capabilities

#: The virtual work directory of every fake adapter.
FAKE_ROOT = "/snaporacle-fake"


class FakeAdapter(DrivenAdapter):
    """The reference driver over fakes; ``driver_class`` lets tests plug a broken driver."""

    name = "fake"

    def __init__(
        self,
        uri: str | None = None,
        profile: str = "libvirt-current",
        workdir: str | None = None,
        faults: FaultPlan | None = None,
        driver_class: type[ReferenceDriver] = ReferenceDriver,
    ) -> None:
        self.root = FAKE_ROOT
        self.capabilities = Capabilities(profile=profile)
        self._profile = load_profile(profile)
        self._faults = faults
        self._driver_class = driver_class
        self.driver = self._new_driver()

    def _new_driver(self) -> ReferenceDriver:
        # a fresh copy of the plan per driver, so every example sees the same faults
        faults = attrs.evolve(self._faults) if self._faults is not None else None
        images = FakeImageTool(self.root, faults=faults)
        launcher = FakeLauncher(images, faults=faults)
        return self._driver_class(images, launcher, self._profile)
