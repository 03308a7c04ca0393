"""Every exception snaporacle raises on purpose, in one tree.

::

    SnaporacleError                      base of all of them
    +-- ProfileError                     a profile file is malformed or incomplete (names file, cell)
    +-- SnapshotXMLError                 a <domainsnapshot> document is malformed, hostile or invalid
    |   +-- SchemaError                  it does not match the RelaxNG schema
    +-- CorpusError                      a corpus file (xml case, trace) is malformed (names file, line)
    +-- AdapterError                     an adapter cannot be found, loaded or set up, or broke
    |   +-- ComponentMissing             a real component (qemu, libvirt) is not installed
    |   +-- EnvironmentFailure           a process under the adapter died or broke: not a finding
    |       +-- StepTimeout              a step got no answer within its time limit (names it)
    +-- BackendError                     a backend verb failed (qemu-img, QMP, fault injection)
    |   +-- InjectedFault                a fault planned by a FaultPlan fired
    |   +-- PathOutsideSandbox           a path outside the adapter's work dir, or with a NUL byte
    +-- DriverError                      a driver refused an operation; carries outcome and code

    KeyboardInterrupt
    +-- Interrupted                      SIGINT or SIGTERM: the run stops and reports what it did

Each message says what was wrong and how to fix it; root causes are chained with ``from``.
"""

from __future__ import annotations

import signal

from .model.modes import Outcome


class SnaporacleError(Exception):
    """Base class of every snaporacle error."""


class ProfileError(SnaporacleError):
    """A profile file is malformed, misses or repeats a cell, or names an unknown value."""


class SnapshotXMLError(SnaporacleError):
    """A snapshot XML document is malformed, hostile or semantically invalid.

    ``error`` is the libvirt error code name the document earns (VIR_ERR_XML_ERROR unless said).
    """

    def __init__(self, message: str, error: str = "VIR_ERR_XML_ERROR") -> None:
        super().__init__(message)
        self.error = error


class SchemaError(SnapshotXMLError):
    """A snapshot XML document does not match snaporacle's RelaxNG schema."""


class CorpusError(SnaporacleError):
    """A corpus file is malformed; the message names the file and line."""


class AdapterError(SnaporacleError):
    """An adapter cannot be found, loaded or set up; or (subclasses) what it runs on broke."""


class ComponentMissing(AdapterError):
    """A real component is not installed; the message names the Debian or PyPI package."""


class EnvironmentFailure(AdapterError):
    """A process the adapter relies on (QEMU, qemu-img, libvirt) died, hung or lost its channel.

    This is a fault of the machine, not of the driver under test: it is reported apart from
    divergences, with the process's exit status and the tail of its stderr where known.
    """


class StepTimeout(EnvironmentFailure):
    """A step on a real component got no answer within its time limit; the message names it."""


class BackendError(SnaporacleError):
    """A backend verb failed."""


class InjectedFault(BackendError):
    """A fault planned by a fault plan fired."""


class PathOutsideSandbox(BackendError):
    """A request named a path outside the adapter's work directory, or one with a NUL byte."""


class DriverError(SnaporacleError):
    """A snapshot driver refused an operation.

    ``outcome`` is ``invalid`` or ``unsupported``; ``error`` the libvirt error code name.
    """

    def __init__(self, outcome: Outcome, error: str | None, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.error = error


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: the run stops at once and reports what it did so far.

    A ``KeyboardInterrupt``, so neither Hypothesis nor an ``except Exception`` swallows it.
    ``signum`` is the signal; the command's exit status is ``128 + signum`` (130 or 143).
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        """The signal's name, as ``SIGTERM``."""
        return signal.Signals(self.signum).name
