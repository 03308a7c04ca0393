"""Every exception snaporacle raises on purpose, in one tree.

::

    SnaporacleError                      base of all of them
    +-- ProfileError (ValueError)        a profile file is malformed or incomplete (names file, cell)
    +-- SnapshotXMLError (ValueError)    a <domainsnapshot> document is malformed, hostile or invalid
    |   +-- SchemaError                  it does not match the RelaxNG schema
    +-- CorpusError (ValueError)         a corpus file (xml case, trace) is malformed (names file, line)
    +-- AdapterError                     an adapter cannot be found, loaded or set up, or broke
    |   +-- ComponentMissing             a real component (qemu, libvirt) is not installed
    |   +-- EnvironmentFailure           a process under the adapter died or broke: not a finding
    |       +-- StepTimeout              a step got no answer within its time limit (names it)
    +-- BackendError                     a backend verb failed (qemu-img, QMP, fault injection)
    |   +-- InjectedFault                a fault planned by a FaultPlan fired
    |   +-- PathOutsideSandbox           a path outside the adapter's work dir, or with a NUL byte
    +-- ConformanceError (AssertionError) an adapter breaks the protocol (check_adapter)
    +-- Divergence (AssertionError)      an adapter and the model disagree (lockstep); carries the trace

    KeyboardInterrupt
    +-- Interrupted                      SIGINT or SIGTERM: the run stops and reports what it did

The base and the first two are the model's own (:mod:`snaporacle.model.errors`), so that the
model imports nothing outside itself. Each message says what was wrong and how to fix it; root
causes are chained with ``from``.
"""

from __future__ import annotations

import signal

from .model.errors import ProfileError, SchemaError, SnaporacleError, SnapshotXMLError

__all__ = [
    "AdapterError",
    "BackendError",
    "ComponentMissing",
    "ConformanceError",
    "CorpusError",
    "EnvironmentFailure",
    "InjectedFault",
    "Interrupted",
    "PathOutsideSandbox",
    "ProfileError",
    "SchemaError",
    "SnaporacleError",
    "SnapshotXMLError",
    "StepTimeout",
]


class CorpusError(SnaporacleError, ValueError):
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


class ConformanceError(SnaporacleError, AssertionError):
    """An adapter breaks a promise of the Adapter protocol; the message says which and how."""


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
