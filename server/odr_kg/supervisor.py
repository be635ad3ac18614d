"""``odr-kg serve``'s master process: it holds the listening socket and keeps a web process
serving on it, starting a new one whenever the last one dies.

The web process runs Flask on waitress and parses what clients send through native libraries;
everything untrusted goes to confined workers (:mod:`odr_kg.workers`), but should the web
process die anyway (a fault in a native library, the kernel's out-of-memory killer), the service
must not end with it. The master binds the address once and hands the socket to each web process
it starts (``--listen-fd``), so connections wait in the socket's backlog while a new web process
starts, and no other program can take the port meanwhile.

A web process that dies before it says it is ready on its first start (a wrong option, a store
that cannot be opened) ends the master with its exit status: that is a configuration error,
not a crash. Later deaths are logged and followed by a new web process, after a pause that grows
while they keep dying young. ``SIGTERM`` or ``SIGINT`` to the master stops the web process and
then the master; the web process also stops if the master is killed (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

LOG = logging.getLogger("odr_kg.supervisor")
PR_SET_PDEATHSIG = 1
# A web process that served this long before dying was not dying young.
STABLE_SECONDS = 30.0
MAX_PAUSE_SECONDS = 10.0
STOP_SECONDS = 10.0


def listen(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A socket listening on ``host``:``port`` (IPv6 when ``host`` is an IPv6 address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    return sock


def supervise(
    arguments: Sequence[str], sock: socket.socket, on_ready: Callable[[], None] = lambda: None
) -> int:
    """Keep ``python -m odr_kg serve ARGUMENTS --listen-fd FD`` running on ``sock``; return
    the exit status of the master. ``on_ready`` is called when the first web process is
    ready."""
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    first, pause = True, 0.0
    while True:
        started = time.monotonic()
        process, ready = _start(arguments, sock)
        came_up = _wait_ready(process, ready, lambda: stopping)
        if first and came_up:
            on_ready()
        status = _wait(process, lambda: stopping)
        if stopping:
            return 0
        if first and not came_up:
            return status if status > 0 else 1
        first = False
        pause = (
            0.0
            if time.monotonic() - started > STABLE_SECONDS
            else min(MAX_PAUSE_SECONDS, max(1.0, pause * 2))
        )
        LOG.error(
            "odr-kg: the web process ended (%s); starting a new one in %.0f s",
            _describe(status),
            pause,
        )
        deadline = time.monotonic() + pause
        while time.monotonic() < deadline and not stopping:
            time.sleep(0.1)
        if stopping:
            return 0


def _start(arguments: Sequence[str], sock: socket.socket) -> tuple[subprocess.Popen[bytes], int]:
    read_end, write_end = os.pipe()
    command = [
        sys.executable,
        "-m",
        "odr_kg",
        "serve",
        *arguments,
        "--listen-fd",
        str(sock.fileno()),
        "--ready-fd",
        str(write_end),
    ]
    process = subprocess.Popen(command, pass_fds=(sock.fileno(), write_end))
    os.close(write_end)
    return process, read_end


def _wait_ready(process: subprocess.Popen[bytes], ready: int, stopping: object) -> bool:
    """Whether the web process said it is ready (before it ended or the master stopped)."""
    try:
        while process.poll() is None and not stopping():  # type: ignore[operator]
            readable, _, _ = select.select([ready], [], [], 0.2)
            if readable:
                return os.read(ready, 1) == b"1"
        return False
    finally:
        os.close(ready)


def _wait(process: subprocess.Popen[bytes], stopping: object) -> int:
    while process.poll() is None:
        if stopping():  # type: ignore[operator]
            process.terminate()
            try:
                return process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                return process.wait()
        time.sleep(0.2)
    return process.returncode


def _describe(status: int) -> str:
    if status < 0:
        return f"signal {signal.Signals(-status).name}"
    return f"exit status {status}"


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Have the kernel send ``signum`` to this process when its parent dies (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)


def say_ready(ready_fd: int | None) -> None:
    """Tell the master (if any) that this web process is about to serve."""
    if ready_fd is not None:
        os.write(ready_fd, b"1")
        os.close(ready_fd)
