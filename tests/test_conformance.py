"""check_adapter: the fake keeps the contract, and an adapter that breaks one of its promises is
named with what it broke."""

from __future__ import annotations

import pytest

from snaporacle.adapters.fake import FakeAdapter
from snaporacle.conformance import ConformanceError, check_adapter
from snaporacle.model.ops import Op, Result, StartDomain


class StartsTwice(FakeAdapter):
    """Accepts a start of a domain that already runs."""

    def apply(self, op: Op) -> Result:
        result = super().apply(op)
        if isinstance(op, StartDomain) and result.error == "VIR_ERR_OPERATION_INVALID":
            return Result.ok()
        return result


def test_the_fake_keeps_the_contract() -> None:
    check_adapter(FakeAdapter, examples=5, steps=5)


def test_a_second_start_of_a_running_domain_breaks_the_contract() -> None:
    with pytest.raises(ConformanceError, match=r"started domain .* again while it runs"):
        check_adapter(StartsTwice, examples=5, steps=5)
