"""The mapping of libvirt error codes to outcome classes, and libvirt's code names."""

from __future__ import annotations

import pytest

from snaporacle.model.codes import FAILED_CODES, INVALID_CODES, UNSUPPORTED_CODES, outcome_for_code
from snaporacle.model.modes import Outcome


@pytest.mark.parametrize("code", sorted(UNSUPPORTED_CODES))
def test_unsupported_codes(code: str) -> None:
    assert outcome_for_code(code) is Outcome.UNSUPPORTED


@pytest.mark.parametrize("code", sorted(FAILED_CODES))
def test_failed_codes(code: str) -> None:
    assert outcome_for_code(code) is Outcome.FAILED


@pytest.mark.parametrize("code", [*sorted(INVALID_CODES), "VIR_ERR_SOMETHING_NEW", None])
def test_every_other_code_is_invalid(code: str | None) -> None:
    assert outcome_for_code(code) is Outcome.INVALID


def test_code_names_come_from_the_bindings() -> None:
    libvirt = pytest.importorskip("libvirt", reason="needs libvirt-python")
    from snaporacle.adapters.libvirt.runtime import error_names

    names = error_names()
    for name in ("VIR_ERR_CONFIG_UNSUPPORTED", "VIR_ERR_XML_ERROR", "VIR_ERR_NO_DOMAIN_SNAPSHOT"):
        assert names[getattr(libvirt, name)] == name
    # VIR_ERR_WARNING/ERROR are levels that share numbers with codes: the codes win.
    assert names[libvirt.VIR_ERR_INTERNAL_ERROR] == "VIR_ERR_INTERNAL_ERROR"
    assert set(names.values()) >= UNSUPPORTED_CODES
