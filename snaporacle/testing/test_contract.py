"""The adapter contract: :func:`snaporacle.check_adapter` on the adapter chosen with
``--snap-adapter`` (default: fake), at the size chosen with ``--snap-hypothesis``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from snaporacle.adapters.protocol import Adapter
from snaporacle.conformance import check_adapter
from snaporacle.model.profile import Profile


def test_adapter_keeps_the_contract(
    snap_factory: Callable[[], Adapter], snap_profile: Profile, snap_settings: dict[str, Any]
) -> None:
    check_adapter(snap_factory, snap_profile, **snap_settings)
