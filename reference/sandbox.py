"""The sandbox rule every backend applies: a path must lie strictly under the work directory.

One helper, used by the fakes and the real QEMU backends alike, so both refuse the same paths
with :class:`~snaporacle.errors.PathOutsideSandbox` before anything runs.
"""

from __future__ import annotations

import functools
import os

from ..errors import PathOutsideSandbox


def _under(real_root: str, real: str) -> bool:
    # both sides are normalised, so "strictly under" is a plain prefix test
    return real != real_root and real.startswith(real_root.rstrip("/") + "/")


@functools.lru_cache(maxsize=4096)
def _pure(root: str, path: str) -> str | None:
    """The normalised ``path`` if it lies strictly under ``root`` (no links resolved), else None."""
    normal = os.path.normpath(path)
    return normal if _under(os.path.normpath(root), normal) else None


def inside(root: str, path: str, verb: str, resolve: bool = True) -> str:
    """Return ``path`` normalised, or raise PathOutsideSandbox if it is not strictly under ``root``.

    With ``resolve``, symbolic links are resolved on both sides, so a link inside ``root``
    pointing out is refused; without it (the fakes, which have no files) the check is pure, and
    its answers are kept.
    """
    if isinstance(path, str) and "\0" in path:
        raise PathOutsideSandbox(
            f"{verb}: path {path!r} contains a NUL byte; no file can be named so"
        )
    if not isinstance(path, str) or not os.path.isabs(path):
        raise PathOutsideSandbox(
            f"{verb}: path {path!r} is not absolute; give an absolute path under {root}"
        )
    if resolve:
        normal: str | None = os.path.normpath(path)
        if not _under(os.path.realpath(root), os.path.realpath(path)):
            normal = None
    else:
        normal = _pure(root, path)
    if normal is None:
        raise PathOutsideSandbox(
            f"{verb}: path {path!r} lies outside the work directory {root}; "
            "put every image and memory file under it"
        )
    return normal
