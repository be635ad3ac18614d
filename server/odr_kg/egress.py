"""The web process's answer to a federation worker's every connection: the allowed endpoints.

A worker confined with ``egress=True`` (:func:`odr_kg.sandbox.confine`) hands the kernel's
questions to this process through a seccomp listener: before any ``connect()``, and before any
datagram sent to an explicit address, the worker's thread waits while :class:`EgressSupervisor`
reads the address from the worker's memory (``/proc/<pid>/mem``) and answers: go on, when the
address and port are those of an endpoint of ``--allow-service`` (or of a name server, when an
endpoint is named by a host name that needs one), else ``EACCES``.

The check reads the address before the kernel uses it; a thread of the worker could rewrite it in
between. Only code running in the worker could do that, and the worker runs pyoxigraph on a
query, not code from the client: the guarantee is against what a query can make the engine do.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import logging
import os
import select
import socket
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LOG = logging.getLogger(__name__)

NOTIF_RECV = 0xC0502100  # SECCOMP_IOCTL_NOTIF_RECV, struct seccomp_notif (80 bytes)
NOTIF_SEND = 0xC0182101  # SECCOMP_IOCTL_NOTIF_SEND, struct seccomp_notif_resp (24 bytes)
NOTIF_ID_VALID = 0x40082102  # SECCOMP_IOCTL_NOTIF_ID_VALID, u64
FLAG_CONTINUE = 1  # SECCOMP_USER_NOTIF_FLAG_CONTINUE
NOTIFICATION = struct.Struct("=QII iIQ 6Q")
RESPONSE = struct.Struct("=QqiI")
MSGHDR_SIZE, MMSGHDR_SIZE = 56, 64
MAX_MESSAGES_CHECKED = 1024
RESOLV_CONF = Path("/etc/resolv.conf")
DNS_PORT = 53

Address = tuple[str, int]


@dataclass(frozen=True)
class EgressPolicy:
    """The (address, port) pairs a federation worker may connect or send to."""

    allowed: frozenset[Address]

    @classmethod
    def for_endpoints(cls, endpoints: Iterable[str]) -> EgressPolicy:
        """The addresses of the URLs ``endpoints`` (resolved now), and the system's name
        servers on port 53 if an endpoint is named by a host the worker must resolve."""
        allowed: set[Address] = set()
        needs_resolver = False
        for url in endpoints:
            parts = urlsplit(url)
            if not parts.hostname:
                continue
            port = parts.port or (443 if parts.scheme == "https" else 80)
            for *_, sockaddr in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM):
                allowed.add((_normal(str(sockaddr[0])), port))
            needs_resolver |= not _is_literal(parts.hostname) and parts.hostname != "localhost"
        if needs_resolver:
            allowed |= {(server, DNS_PORT) for server in name_servers()}
        return cls(frozenset(allowed))

    def allows(self, family: int, raw: bytes) -> bool:
        """Whether the ``sockaddr`` ``raw`` of ``family`` is allowed. ``AF_UNSPEC`` (which
        dissolves a datagram socket's association) is; anything but IP is not."""
        if family == socket.AF_UNSPEC:
            return True
        if family == socket.AF_INET and len(raw) >= 8:
            port = struct.unpack("!H", raw[2:4])[0]
            address = str(ipaddress.IPv4Address(raw[4:8]))
        elif family == socket.AF_INET6 and len(raw) >= 24:
            port = struct.unpack("!H", raw[2:4])[0]
            address = _normal(str(ipaddress.IPv6Address(raw[8:24])))
        else:
            return False
        return (address, port) in self.allowed


def name_servers(path: Path = RESOLV_CONF) -> set[str]:
    """The name servers of ``resolv.conf``."""
    servers = set()
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return servers
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            servers.add(_normal(words[1].split("%")[0]))
    return servers


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _normal(address: str) -> str:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


class EgressSupervisor:
    """Answers the seccomp listeners of the federation workers, on a thread of its own."""

    def __init__(self, policy: EgressPolicy, syscalls: dict[str, int]) -> None:
        self.policy = policy
        self._calls = {number: name for name, number in syscalls.items()}
        self._poll = select.poll()
        self._listeners: dict[int, int] = {}  # listener fd -> worker pid
        self._lock = threading.Lock()
        self._wake_read, self._wake_write = os.pipe()
        self._poll.register(self._wake_read, select.POLLIN)
        self.refused = 0
        threading.Thread(target=self._serve, name="odr-kg-egress", daemon=True).start()

    def watch(self, listener: int, pid: int) -> None:
        """Answer the listener ``listener`` of worker ``pid`` from now on; it is closed when
        the worker is gone."""
        with self._lock:
            self._listeners[listener] = pid
            self._poll.register(listener, select.POLLIN)
        os.write(self._wake_write, b"x")

    def _serve(self) -> None:
        while True:
            for fd, events in self._poll.poll():
                if fd == self._wake_read:
                    os.read(self._wake_read, 64)
                elif events & select.POLLIN:
                    self._answer(fd)
                elif events & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                    self._forget(fd)

    def _forget(self, listener: int) -> None:
        with self._lock:
            self._poll.unregister(listener)
            self._listeners.pop(listener, None)
        os.close(listener)

    def _answer(self, listener: int) -> None:
        buffer = bytearray(NOTIFICATION.size)
        try:
            fcntl.ioctl(listener, NOTIF_RECV, buffer, True)
        except OSError as error:
            if error.errno not in (errno.ENOENT, errno.EINTR):
                self._forget(listener)
            return
        notification = NOTIFICATION.unpack(buffer)
        identifier, pid, nr, args = (
            notification[0],
            notification[1],
            notification[3],
            notification[6:],
        )
        try:
            allowed = self._allowed(pid, self._calls.get(nr, ""), args)
        except OSError:
            allowed = False  # the worker's memory cannot be read: refuse
        try:
            fcntl.ioctl(listener, NOTIF_ID_VALID, struct.pack("=Q", identifier))
        except OSError:
            return  # the thread that asked is gone
        if not allowed:
            self.refused += 1
            LOG.warning(
                "refused a federation worker's %s: not an allowed endpoint", self._calls.get(nr)
            )
        response = RESPONSE.pack(
            identifier, 0, 0 if allowed else -errno.EACCES, FLAG_CONTINUE if allowed else 0
        )
        try:
            fcntl.ioctl(listener, NOTIF_SEND, bytearray(response), True)
        except OSError:
            pass  # the thread that asked was interrupted meanwhile

    def _allowed(self, pid: int, call: str, args: tuple[int, ...]) -> bool:
        with _Memory(pid) as memory:
            if call in ("connect", "sendto"):
                pointer, length = (args[1], args[2]) if call == "connect" else (args[4], args[5])
                return self._allows_sockaddr(memory, pointer, length)
            if call == "sendmsg":
                return self._allows_message(memory, args[1])
            if call == "sendmmsg":
                count = min(args[2], MAX_MESSAGES_CHECKED)
                return all(
                    self._allows_message(memory, args[1] + index * MMSGHDR_SIZE)
                    for index in range(count)
                )
        return False

    def _allows_message(self, memory: _Memory, header: int) -> bool:
        name, length = struct.unpack("=QI", memory.read(header, 12))
        return name == 0 or self._allows_sockaddr(memory, name, length)

    def _allows_sockaddr(self, memory: _Memory, pointer: int, length: int) -> bool:
        if pointer == 0:
            return False
        raw = memory.read(pointer, min(length, 128))
        if len(raw) < 2:
            return False
        (family,) = struct.unpack("=H", raw[:2])
        return self.policy.allows(family, raw)


class _Memory:
    """Another process's memory, read through ``/proc/<pid>/mem``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def __enter__(self) -> _Memory:
        self.fd = os.open(f"/proc/{self.pid}/mem", os.O_RDONLY)
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.fd)

    def read(self, address: int, length: int) -> bytes:
        return os.pread(self.fd, length, address)
