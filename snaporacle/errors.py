"""Every exception snaporacle raises on purpose, in one tree.

::

    SnaporacleError                      base of all of them
    +-- ProfileError (ValueError)        a profile file is malformed or incomplete (names file, cell)
    +-- SnapshotXMLError (ValueError)    a <domainsnapshot> document is malformed, hostile or invalid
    |   +-- SchemaError                  it does not match the RelaxNG schema
    +-- CorpusError (ValueError)         a corpus file (xml case, trace) is malformed (names file, line)
    +-- AdapterError                     an adapter cannot be found, loaded or set up
    |   +-- ComponentMissing             a real component (qemu, libvirt) is not installed
    +-- BackendError                     a backend verb failed (qemu-img, QMP, fault injection)
    |   +-- InjectedFault                a fault planned by a FaultPlan fired
    |   +-- PathOutsideSandbox           a request named a path outside the adapter's work dir
    +-- ConformanceError (AssertionError) an adapter breaks the protocol (check_adapter)
    +-- Divergence (AssertionError)      an adapter and the model disagree (lockstep); carries the trace

The base and the first two are the model's own (:mod:`snaporacle.model.errors`), so that the
model imports nothing outside itself. Each message says what was wrong and how to fix it; root
causes are chained with ``from``.
"""

from __future__ import annotations

from .model.errors import ProfileError, SchemaError, SnaporacleError, SnapshotXMLError

__all__ = [
    "AdapterError",
    "BackendError",
    "ComponentMissing",
    "ConformanceError",
    "CorpusError",
    "InjectedFault",
    "PathOutsideSandbox",
    "ProfileError",
    "SchemaError",
    "SnaporacleError",
    "SnapshotXMLError",
]


class CorpusError(SnaporacleError, ValueError):
    """A corpus file is malformed; the message names the file and line."""


class AdapterError(SnaporacleError):
    """An adapter cannot be found, loaded or set up."""


class ComponentMissing(AdapterError):
    """A real component is not installed; the message names the Debian or PyPI package."""


class BackendError(SnaporacleError):
    """A backend verb failed."""


class InjectedFault(BackendError):
    """A fault planned by a fault plan fired."""


class PathOutsideSandbox(BackendError):
    """A request named a path outside the adapter's work directory."""


class ConformanceError(SnaporacleError, AssertionError):
    """An adapter breaks a promise of the Adapter protocol; the message says which and how."""
