"""The property suite on the adapter chosen with ``--snap-adapter`` (default: fake)."""

from __future__ import annotations

from typing import Any

from snaporacle.adapters.protocol import Adapter
from snaporacle.conformance import check_adapter
from snaporacle.model.profile import Profile


def test_adapter_passes_the_conformance_kit(
    snap_adapter: Adapter, snap_profile: Profile, snap_settings: dict[str, Any]
) -> None:
    check_adapter(snap_adapter, snap_profile, **snap_settings)
