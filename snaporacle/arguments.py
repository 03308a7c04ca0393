"""Argument types for the command line: ranges and output paths checked by the parser.

Each type raises ``argparse.ArgumentTypeError`` with what was wrong, so a bad argument ends the
command with one line and status 2 before any work starts: ``--examples 0``, or a
``--report-json`` path that could not be written at the end of a long run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path


def positive_int(text: str) -> int:
    """A whole number of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _probe(folder: Path, text: str) -> None:
    """Fail unless a file can be created in ``folder`` (the probe file is removed at once)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise argparse.ArgumentTypeError(
            f"cannot write into {str(folder)!r} (for {text!r}): {err.strerror or err}"
        ) from None


def output_file(text: str) -> Path:
    """A file path that can be written: its folder exists and takes files; it is no folder."""
    path = Path(text)
    if not text or path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a file path")
    folder = path.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(
            f"the folder of {text!r} does not exist; create {str(folder)!r} first"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text!r} exists and cannot be written")
    _probe(folder, text)
    return path


def output_dir(text: str) -> Path:
    """A folder that exists and takes files, or can be created under one that does."""
    path = Path(text)
    if not text:
        raise argparse.ArgumentTypeError("an empty folder path")
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(
            f"cannot make folder {text!r}: {str(existing)!r} is a file"
        )
    _probe(existing, text)
    return path
