"""The model's own errors: bad profiles and bad snapshot XML.

They are the root of snaporacle's exception tree, which :mod:`snaporacle.errors` draws whole; the
model defines them so that it imports nothing outside itself.
"""

from __future__ import annotations


class SnaporacleError(Exception):
    """Base class of every snaporacle error."""


class ProfileError(SnaporacleError, ValueError):
    """A profile file is malformed, misses or repeats a cell, or names an unknown value."""


class SnapshotXMLError(SnaporacleError, ValueError):
    """A snapshot XML document is malformed, hostile or semantically invalid.

    ``error`` is the libvirt error code name the document earns (VIR_ERR_XML_ERROR unless said).
    """

    def __init__(self, message: str, error: str = "VIR_ERR_XML_ERROR") -> None:
        super().__init__(message)
        self.error = error


class SchemaError(SnapshotXMLError):
    """A snapshot XML document does not match snaporacle's RelaxNG schema."""
