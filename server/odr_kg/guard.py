"""A process-wide guard against outbound reach while a request is handled: defence in depth.

The endpoint refuses ``SERVICE`` and ``LOAD`` before evaluation and every parser it runs on
user input is told to fetch nothing. Should a library still try, this guard stops it: an audit
hook (:func:`sys.addaudithook`, PEP 578) that, while a request is being handled in the current
context (:func:`guarded`), refuses with :class:`OutboundAccessError`

- ``socket.getaddrinfo`` and ``socket.connect`` to anything but the allowed endpoints (the
  external SPARQL store, when there is one), and
- ``open`` of a file outside the allowed folders: the package (templates, static files), the
  packaged data and Python's own library folders (for modules imported lazily).

The hook sees what Python code does, not what native code does on its own: pyoxigraph's HTTP
client (``SERVICE``, ``LOAD``) is invisible to it, which is why those are refused before
evaluation. A hook cannot be removed, so it is installed once per process and does nothing
outside :func:`guarded`.
"""

from __future__ import annotations

import contextvars
import mimetypes
import os
import socket
import sys
import sysconfig
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from odr_kg import resources


class OutboundAccessError(PermissionError):
    """A socket or file access refused while handling a request."""


@dataclass(frozen=True)
class OutboundPolicy:
    """What request handling may reach: files under ``readable_roots`` (absolute, normalised),
    the names in ``hosts`` and the IP ``addresses`` they resolve to (any port: the external
    store's host is trusted, and its port may change while the application runs)."""

    readable_roots: tuple[str, ...]
    hosts: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()

    def allows_file(self, path: str) -> bool:
        path = os.path.normpath(os.path.abspath(path))
        return any(path == root or path.startswith(root + os.sep) for root in self.readable_roots)

    def allows_host(self, host: object) -> bool:
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        return host in self.hosts or host in self.addresses

    def allows_address(self, address: object) -> bool:
        return isinstance(address, tuple) and bool(address) and str(address[0]) in self.addresses


def policy_for(endpoints: Iterable[str] = ()) -> OutboundPolicy:
    """The policy allowing the package's files and Python's library, and connections to the
    hosts of the URLs ``endpoints`` (resolved now, outside any request)."""
    folders = [Path(__file__).parent]
    folders += [Path(str(resources.data_dir(kind))) for kind in ("ontology", "kg", "queries")]
    paths = sysconfig.get_paths()
    folders += [Path(paths[name]) for name in ("stdlib", "platstdlib", "purelib", "platlib")]
    roots = tuple(sorted({os.path.normpath(os.path.abspath(folder)) for folder in folders}))
    hosts: set[str] = set()
    addresses: set[str] = set()
    for url in endpoints:
        parts = urlsplit(url)
        if not parts.hostname:
            continue
        port = parts.port or (443 if parts.scheme == "https" else 80)
        hosts.add(parts.hostname)
        for *_, sockaddr in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM):
            addresses.add(str(sockaddr[0]))
    return OutboundPolicy(roots, frozenset(hosts), frozenset(addresses))


_POLICY: contextvars.ContextVar[OutboundPolicy | None] = contextvars.ContextVar(
    "odr_kg_outbound_policy", default=None
)
_INSTALL_LOCK = threading.Lock()
_installed = False


def install() -> None:
    """Add the audit hook to this process, once."""
    global _installed
    with _INSTALL_LOCK:
        if _installed:
            return
        # Read the system's media type tables now: send_file reads them on first use.
        mimetypes.init()
        sys.addaudithook(_audit)
        _installed = True


def enter(policy: OutboundPolicy) -> contextvars.Token[OutboundPolicy | None]:
    """Guard the current context with ``policy`` until :func:`leave` with the token."""
    return _POLICY.set(policy)


def leave(token: contextvars.Token[OutboundPolicy | None]) -> None:
    _POLICY.reset(token)


@contextmanager
def guarded(policy: OutboundPolicy) -> Iterator[None]:
    """Guard the current context with ``policy`` for the duration of the block."""
    install()
    token = enter(policy)
    try:
        yield
    finally:
        leave(token)


def _audit(event: str, args: tuple[object, ...]) -> None:
    policy = _POLICY.get()
    if policy is None:
        return
    if event == "open":
        path = args[0]
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if isinstance(path, str) and not policy.allows_file(path):
            raise OutboundAccessError(f"opening {path!r} is refused while handling a request")
    elif event == "socket.getaddrinfo":
        if not policy.allows_host(args[0]):
            raise OutboundAccessError(f"resolving {args[0]!r} is refused while handling a request")
    elif event == "socket.connect":
        address = args[1]
        if not policy.allows_address(address):
            raise OutboundAccessError(
                f"connecting to {address!r} is refused while handling a request"
            )
