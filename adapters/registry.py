"""Finding adapters: by name through the ``snaporacle.adapters`` entry points, or by import path.

``load_adapter("fake")`` looks the name up among the entry points (snaporacle registers ``fake``,
``qemu`` and ``libvirt``; a user's package adds its own); ``load_adapter("pkg.module:Class")``
imports the class directly. The class is called with the keyword options given (``uri``,
``profile``, ``workdir``), leaving out those that are ``None``.

Anything else is refused with one line saying what an adapter must be (:data:`WHAT_AN_ADAPTER_IS`)
before the class is called: a path that is not ``module:Class``, a name that is not a class (say
``os:system``), a class without the protocol's methods.
"""

from __future__ import annotations

import importlib
import inspect
import re
from importlib.metadata import entry_points
from typing import Any

from ..errors import AdapterError
from .protocol import Adapter

GROUP = "snaporacle.adapters"

#: The end of every refusal: what ``--adapter`` takes.
WHAT_AN_ADAPTER_IS = (
    "an adapter is a class with name, root, capabilities, apply(op), observe(), reset() and "
    "close() (snaporacle.adapters.protocol.Adapter), given as a registered name or as "
    "package.module:Class"
)
_METHODS = ("apply", "observe", "reset", "close")
_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def adapter_names() -> list[str]:
    """The names registered in the ``snaporacle.adapters`` entry point group, sorted."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def adapter_class(name: str) -> type[Any]:
    """The adapter class for a registered name or a ``package.module:Class`` path."""
    cls = _imported(name) if ":" in name else _registered(name)
    if not isinstance(cls, type):
        raise AdapterError(f"{name!r} is a {type(cls).__name__}, not a class; {WHAT_AN_ADAPTER_IS}")
    missing = [method for method in _METHODS if not callable(getattr(cls, method, None))]
    if missing:
        raise AdapterError(
            f"{name!r} is a class without {', '.join(missing)}; {WHAT_AN_ADAPTER_IS}"
        )
    return cls


def _imported(name: str) -> object:
    if not _PATH.match(name):
        raise AdapterError(f"{name!r} is not a package.module:Class path; {WHAT_AN_ADAPTER_IS}")
    module_name, _, attr = name.partition(":")
    try:
        value: object = importlib.import_module(module_name)
    except ImportError as err:
        raise AdapterError(f"cannot import adapter module {module_name!r}: {err}") from err
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise AdapterError(
                f"module {module_name!r} has no adapter class {attr!r}; {WHAT_AN_ADAPTER_IS}"
            ) from None
    return value


def _registered(name: str) -> object:
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            try:
                return ep.load()
            except ImportError as err:
                raise AdapterError(f"adapter {name!r} cannot be loaded: {err}") from err
    raise AdapterError(
        f"no adapter named {name!r}; registered: {', '.join(adapter_names()) or 'none'}, "
        "or give package.module:Class"
    )


def load_adapter(name: str, **options: Any) -> Adapter:
    """Make an adapter by name or import path, with the options that are not ``None``."""
    cls = adapter_class(name)
    given = {key: value for key, value in options.items() if value is not None}
    try:
        inspect.signature(cls).bind(**given)
    except TypeError as err:
        raise AdapterError(
            f"adapter {name!r} cannot take the options given ({', '.join(given) or 'none'}): {err}; "
            "an adapter class takes the keywords uri, profile and workdir (see the Adapter "
            "protocol)"
        ) from err
    except ValueError:
        pass  # no signature to check (a class implemented in C): let the call decide
    adapter = cls(**given)
    if not isinstance(adapter, Adapter):
        close = getattr(adapter, "close", None)
        if callable(close):
            close()
        raise AdapterError(
            f"{name!r} does not implement the Adapter protocol; {WHAT_AN_ADAPTER_IS}"
        )
    return adapter
