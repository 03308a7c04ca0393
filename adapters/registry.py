"""Finding adapters: by name through the ``snaporacle.adapters`` entry points, or by import path.

``load_adapter("fake")`` looks the name up among the entry points (snaporacle registers ``fake``,
``qemu`` and ``libvirt``; a user's package adds its own); ``load_adapter("pkg.module:Class")``
imports the class directly. The class is called with the keyword options given (``uri``,
``profile``, ``workdir``), leaving out those that are ``None``.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from ..errors import AdapterError
from .protocol import Adapter

GROUP = "snaporacle.adapters"


def adapter_names() -> list[str]:
    """The names registered in the ``snaporacle.adapters`` entry point group, sorted."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def adapter_class(name: str) -> type[Any]:
    """The adapter class for a registered name or a ``package.module:Class`` path."""
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise AdapterError(f"cannot import adapter module {module_name!r}: {err}") from err
        try:
            return getattr(module, attr)  # type: ignore[no-any-return]
        except AttributeError:
            raise AdapterError(f"module {module_name!r} has no adapter class {attr!r}") from None
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            try:
                return ep.load()  # type: ignore[no-any-return]
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
        adapter = cls(**given)
    except TypeError as err:
        raise AdapterError(
            f"adapter {name!r} cannot be made with {', '.join(given) or 'no options'}: {err}; an "
            "adapter class takes the keywords uri, profile and workdir (see the Adapter protocol)"
        ) from err
    if not isinstance(adapter, Adapter):
        raise AdapterError(f"{name!r} does not implement the Adapter protocol")
    return adapter
