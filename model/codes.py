"""Which outcome class a libvirt error code means: the one mapping every adapter shares.

A driver refuses an operation with a ``virErrorNumber``; snaporacle compares outcome classes, not
codes, so the code name (``VIR_ERR_CONFIG_UNSUPPORTED``...) is mapped here, once:

- **unsupported**: the request is well formed but the driver does not implement it
  (CONFIG_UNSUPPORTED, OPERATION_UNSUPPORTED, NO_SUPPORT, ARGUMENT_UNSUPPORTED).
- **failed**: the driver tried and something broke underneath (OPERATION_FAILED,
  INTERNAL_ERROR, SYSTEM_ERROR): what snaporacle's reference driver reports when a backend fails.
- **invalid**: everything else. The request is wrong for the state it meets (XML_ERROR,
  INVALID_ARG, OPERATION_INVALID, NO_DOMAIN_SNAPSHOT, NO_DOMAIN, ...).

Adapters keep the code name itself in ``Result.error`` so that reports can show it; the model and
the reference driver class their own refusals (an XML error with INTERNAL_ERROR, say) the same way.
"""

from __future__ import annotations

from .modes import Outcome

#: Codes that mean "not implemented by this driver".
UNSUPPORTED_CODES = frozenset(
    {
        "VIR_ERR_CONFIG_UNSUPPORTED",
        "VIR_ERR_OPERATION_UNSUPPORTED",
        "VIR_ERR_NO_SUPPORT",
        "VIR_ERR_ARGUMENT_UNSUPPORTED",
    }
)

#: Codes that mean "the attempt failed underneath".
FAILED_CODES = frozenset(
    {"VIR_ERR_OPERATION_FAILED", "VIR_ERR_INTERNAL_ERROR", "VIR_ERR_SYSTEM_ERROR"}
)

#: Codes that mean "the request is wrong": listed for documentation; any other code maps the same.
INVALID_CODES = frozenset(
    {
        "VIR_ERR_XML_ERROR",
        "VIR_ERR_XML_DETAIL",
        "VIR_ERR_INVALID_ARG",
        "VIR_ERR_OPERATION_INVALID",
        "VIR_ERR_NO_DOMAIN",
        "VIR_ERR_NO_DOMAIN_SNAPSHOT",
        "VIR_ERR_SNAPSHOT_REVERT_RISKY",
    }
)


def outcome_for_code(code_name: str | None) -> Outcome:
    """The outcome class of a refusal with libvirt error code ``code_name`` (e.g. ``VIR_ERR_...``).

    ``None`` (a refusal without a code) counts as invalid.
    """
    if code_name in UNSUPPORTED_CODES:
        return Outcome.UNSUPPORTED
    if code_name in FAILED_CODES:
        return Outcome.FAILED
    return Outcome.INVALID
