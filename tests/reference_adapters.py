"""The reference driver's adapters that lockstep tests run over: on the fakes and on real QEMU."""

from __future__ import annotations

import pytest

from snaporacle.adapters.driven import DrivenAdapter
from snaporacle.adapters.fake import FakeAdapter
from snaporacle.errors import ComponentMissing


def reference_adapter(kind: str, profile: str) -> DrivenAdapter:
    """``fake`` or ``qemu`` (real qemu-img and QEMU; a skip naming the missing package)."""
    if kind == "fake":
        return FakeAdapter(profile=profile)
    from snaporacle.adapters.qemu import QemuAdapter

    try:
        return QemuAdapter(profile=profile)
    except ComponentMissing as err:
        pytest.skip(str(err))
