"""Process-wide libvirt set-up: the import, the event loop, the embedded QEMU driver's root.

libvirt keeps some state per process, and this module is where the adapter deals with it:

- The default event loop must be registered before the first connection and run in a thread;
  the embedded QEMU driver needs it to hear from its QEMU processes. :func:`libvirt_module`
  does both once and silences libvirt's default error printer (errors become ``Result`` values).
- ``qemu:///embed`` can be opened with **one root per process** ("Cannot open embedded driver at
  path B, already open with path A"), even after the connection closes. So when the user gives
  no ``root=``, every adapter of the process shares one directory made here (a short path under
  the temporary directory, since QEMU's monitor sockets live below it and a UNIX socket path
  must stay under 108 bytes), removed when the process exits.
- The embedded driver runs QEMU as the user named in ``ROOT/etc/qemu.conf``; running as root
  needs, besides ``user``/``group``, settings for a process without a daemon around it:
  ``security_driver = "none"`` (no SELinux/AppArmor labelling), ``namespaces = []`` (no private
  /dev mount namespace), ``cgroup_controllers = []`` (no cgroup placement without systemd
  machined), and ``stdio_handler = "file"`` (QEMU's output goes to ``ROOT/log/qemu/NAME.log``
  instead of the virtlogd daemon, which is not running). libvirt also looks the
  ``libvirt-qemu`` system user up when it starts, so it must exist.
"""

from __future__ import annotations

import atexit
import functools
import os
import pwd
import shutil
import subprocess
import threading
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ...errors import AdapterError, ComponentMissing
from ...workdirs import make_workdir, remove_workdir
from .guest_memory import add_memory_backing_dir

QEMU_CONF = """\
# Written by snaporacle's libvirt adapter for the embedded QEMU driver (qemu:///embed).
user = "root"
group = "root"
security_driver = "none"
namespaces = []
cgroup_controllers = []
stdio_handler = "file"
"""

#: The test driver's node: no domains, networks or pools; the adapter defines what it needs.
TEST_NODE_XML = """\
<node>
  <cpu>
    <mhz>2000</mhz>
    <model>x86_64</model>
    <nodes>1</nodes>
    <sockets>1</sockets>
    <cores>2</cores>
    <threads>1</threads>
  </cpu>
  <memory>4194304</memory>
</node>
"""

_lock = threading.Lock()


@functools.cache
def libvirt_module() -> ModuleType:
    """libvirt-python, imported once, with the default event loop running in a daemon thread.

    libvirt's own log would go to stderr from warnings up (the embedded QEMU driver warns about
    tainted domains and XATTR timestamps at every start, and logs every refused call as an
    error, which the adapter already returns as a result); only errors are printed unless the
    user set ``LIBVIRT_DEBUG``.
    """
    os.environ.setdefault("LIBVIRT_DEBUG", "4")
    try:
        import libvirt
    except ImportError as err:
        raise ComponentMissing(
            "libvirt-python is not installed: pip install libvirt-python "
            "(or apt-get install python3-libvirt)"
        ) from err
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    libvirt.virEventRegisterDefaultImpl()

    def run_loop() -> None:
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=run_loop, name="libvirt-event-loop", daemon=True).start()
    module: ModuleType = libvirt
    return module


def qemu_module() -> ModuleType:
    """``libvirt_qemu`` (the QEMU monitor pass-through of libvirt-python)."""
    libvirt_module()
    try:
        import libvirt_qemu
    except ImportError as err:
        raise ComponentMissing("libvirt_qemu is missing: pip install libvirt-python") from err
    module: ModuleType = libvirt_qemu
    return module


@functools.cache
def error_names() -> dict[int, str]:
    """libvirt error number -> code name (``VIR_ERR_...``), from the installed bindings."""
    libvirt = libvirt_module()
    levels = {"VIR_ERR_NONE", "VIR_ERR_WARNING", "VIR_ERR_ERROR"}
    names: dict[int, str] = {}
    for name in sorted(dir(libvirt)):
        if name.startswith("VIR_ERR_") and name not in levels:
            names.setdefault(getattr(libvirt, name), name)
    return names


def error_name(err: BaseException) -> str | None:
    """The code name of a ``libvirtError`` (``None`` when it carries no code)."""
    code = getattr(err, "get_error_code", lambda: None)()
    if code is None:
        return None
    return error_names().get(code, f"VIR_ERR_{code}")


def ensure_qemu_user() -> None:
    """Create the ``libvirt-qemu`` system user the QEMU driver looks up, when it is missing."""
    try:
        pwd.getpwnam("libvirt-qemu")
        return
    except KeyError:
        pass
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        raise AdapterError(
            "the QEMU driver needs a 'libvirt-qemu' system user: run as root "
            "'useradd --system --no-create-home libvirt-qemu'"
        )
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "libvirt-qemu"],
        check=True,
        capture_output=True,
    )


def prepare_embed_root(root: Path) -> None:
    """Make ``root/etc/qemu.conf`` for the embedded driver, unless the user wrote one."""
    conf = root / "etc" / "qemu.conf"
    if not conf.exists():
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(QEMU_CONF, encoding="utf-8")
    add_memory_backing_dir(root)


def _capabilities_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "snaporacle", "qemu-capabilities")


def _copy_xml(source: Path, target: Path) -> None:
    try:
        target.mkdir(parents=True, exist_ok=True)
        for path in source.glob("*.xml"):
            shutil.copy2(path, target / path.name)
    except OSError:
        pass  # only a cache: the driver probes QEMU again


def _drop_root(root: Path) -> None:
    _copy_xml(root / "cache" / "qemu" / "capabilities", _capabilities_cache())
    remove_workdir(str(root))


@functools.cache
def shared_embed_root() -> Path:
    """The process-wide embed root used when a ``qemu:///embed`` URI names none.

    Probing QEMU's capabilities costs the driver seconds per fresh root, so the probe results
    (libvirt re-probes when QEMU or libvirt changed) are kept between processes in the user's
    cache directory (``$XDG_CACHE_HOME/snaporacle/qemu-capabilities``).
    """
    root = Path(make_workdir("embed"))  # swept by a later run if this process is killed
    _copy_xml(_capabilities_cache(), root / "cache" / "qemu" / "capabilities")
    atexit.register(_drop_root, root)
    return root


def embed_root(uri: str) -> Path | None:
    """The ``root=`` of a ``qemu:///embed`` URI (``None`` for any other URI)."""
    parts = urlsplit(uri)
    if parts.scheme != "qemu" or parts.path != "/embed":
        return None
    roots = parse_qs(parts.query).get("root")
    return Path(roots[0]) if roots else shared_embed_root()


def embed_uri(root: Path) -> str:
    """The ``qemu:///embed`` URI of a root."""
    return f"qemu:///embed?root={root}"


def check_embed_qemu() -> None:
    """Fail early, naming the Debian package, when the QEMU driver cannot work here."""
    for tool, package in (
        ("qemu-system-x86_64", "qemu-system-x86"),
        ("qemu-img", "qemu-utils"),
        ("qemu-io", "qemu-utils"),
    ):
        if shutil.which(tool) is None:
            raise ComponentMissing(f"{tool} is not installed: apt-get install {package}")


#: The open ``qemu:///embed`` connections, one per root for the life of the process: every
#: open of the embedded driver registers it anew, and libvirt refuses after about twenty
#: ("Too many drivers, cannot register QEMU").
_embedded: dict[str, Any] = {}


def _close_embedded() -> None:
    while _embedded:
        _, conn = _embedded.popitem()
        try:
            conn.close()
        except Exception:
            pass


def release_connection(conn: Any) -> None:
    """Close a connection from :func:`open_connection`; an embedded one stays open for reuse."""
    if conn not in _embedded.values():
        conn.close()


def open_connection(uri: str) -> Any:
    """Open ``uri`` (with the embed root prepared when it is ``qemu:///embed``)."""
    libvirt = libvirt_module()
    root = embed_root(uri)
    if root is not None:
        check_embed_qemu()
        ensure_qemu_user()
        uri = embed_uri(root)
        with _lock:
            if uri in _embedded:
                return _embedded[uri]
            prepare_embed_root(root)
            conn = _open(libvirt, uri, root)
            if not _embedded:
                atexit.register(_close_embedded)  # before the roots go, and before libvirt does
            _embedded[uri] = conn
            return conn
    return _open(libvirt, uri, root)


def _open(libvirt: Any, uri: str, root: Path | None) -> Any:
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError as err:
        if "no connection driver available" in str(err):
            raise ComponentMissing(
                f"libvirt has no driver for {uri!r}: apt-get install libvirt-daemon-driver-qemu"
            ) from err
        hint = ""
        if root is not None and "already open" in str(err):
            hint = " (libvirt allows one qemu:///embed root per process: use the same root)"
        raise AdapterError(f"cannot open libvirt connection {uri!r}: {err}{hint}") from err
