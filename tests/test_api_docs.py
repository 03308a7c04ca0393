"""docs/API.md runs as written (its examples are doctests), and names only public API."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import snaporacle

API = Path(__file__).resolve().parent.parent / "docs" / "API.md"


def test_the_api_page_runs_as_written() -> None:
    failures, tried = doctest.testfile(str(API), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert tried > 20
    assert failures == 0


def test_the_public_api_is_what_it_says() -> None:
    for name in snaporacle.__all__:
        assert getattr(snaporacle, name) is not None, name
    assert set(re.findall(r"from snaporacle import ([\w, ]+)", API.read_text())) != set()
    for line in re.findall(r"from snaporacle import ([\w, ]+)", API.read_text()):
        for name in line.split(","):
            assert name.strip() in snaporacle.__all__, name
