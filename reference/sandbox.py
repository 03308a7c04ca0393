"""The sandbox rule every backend applies: a path must lie strictly under the work directory.

One helper, used by the fakes and the real QEMU backends alike, so both refuse the same paths
with :class:`~snaporacle.errors.PathOutsideSandbox` before anything runs.
"""

from __future__ import annotations

import os

from ..errors import PathOutsideSandbox


def inside(root: str, path: str, verb: str, resolve: bool = True) -> str:
    """Return ``path`` normalised, or raise PathOutsideSandbox if it is not strictly under ``root``.

    With ``resolve``, symbolic links are resolved on both sides, so a link inside ``root``
    pointing out is refused; without it (the fakes, which have no files) the check is pure.
    """
    if isinstance(path, str) and "\0" in path:
        raise PathOutsideSandbox(
            f"{verb}: path {path!r} contains a NUL byte; no file can be named so"
        )
    if not isinstance(path, str) or not os.path.isabs(path):
        raise PathOutsideSandbox(
            f"{verb}: path {path!r} is not absolute; give an absolute path under {root}"
        )
    fix = os.path.realpath if resolve else os.path.normpath
    real_root = fix(root)
    real = fix(path)
    if real == real_root or os.path.commonpath([real_root, real]) != real_root:
        raise PathOutsideSandbox(
            f"{verb}: path {path!r} lies outside the work directory {root}; "
            "put every image and memory file under it"
        )
    return os.path.normpath(path)
