"""Names snaporacle gives files where libvirt would: overlays of snapshots and of reverts."""

from __future__ import annotations

import posixpath
from collections.abc import Callable


def default_overlay(active: str, name: str) -> str:
    """libvirt's name for an external disk snapshot without ``<source>``:
    ``<active image without its extension>.<snapshot name>``."""
    directory, base = posixpath.split(active)
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return posixpath.join(directory, f"{stem}.{name}")


def revert_overlay(frozen: str, exists: Callable[[str], bool]) -> str:
    """The fresh overlay a revert to an external snapshot puts on ``frozen`` (profile capability
    ``revert_overlay = "numbered"``): ``<frozen>.revert<N>``, the first free N."""
    number = 1
    while exists(f"{frozen}.revert{number}"):
        number += 1
    return f"{frozen}.revert{number}"
