"""What the operating system forbids a worker process: the network, and memory past a cap.

The processes that evaluate queries and read untrusted RDF (:mod:`odr_kg.workers`) call
:func:`confine` before they touch a request. It installs a seccomp filter (Linux 3.5 and later,
in every Debian kernel) that makes the kernel refuse, in that process and every thread it
starts:

- ``socket()`` and ``socketpair()`` of any address family: no connection can be opened, so no
  ``SERVICE``, ``LOAD`` or JSON-LD context can reach another host or a local service, however
  the query or document is spelled;
- ``io_uring_setup()``, whose operations would bypass the filter.

Workers that must call the endpoints of ``--allow-service`` get :func:`confine` with
``egress=True`` instead: they may open IP sockets, but every ``connect()`` and every datagram
sent to an address is held by the kernel until :class:`odr_kg.egress.EgressSupervisor`, in the
web process, has read the address from the worker's memory and allowed it (an allowed endpoint,
or a name server when one is needed to resolve it) or refused it.

The filter needs no privilege: ``PR_SET_NO_NEW_PRIVS`` is set first, as the kernel requires of
an ordinary user, and it is kept for the life of the process. Where the kernel offers no seccomp
filter (another operating system, or a container that forbids it), :func:`confine` raises
:class:`SandboxUnavailableError` and the worker does not start: the server refuses to run
without the guarantee unless started with ``--no-sandbox`` (README, "Running it in public").

The memory cap is ``RLIMIT_DATA``: the heap and private writable mappings, not the files the
on-disk store maps. An allocation past it fails; pyoxigraph then aborts the worker (SIGABRT),
which the pool reports as a query that needed more memory than the limit.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import struct
from dataclasses import dataclass

PR_SET_NO_NEW_PRIVS = 38
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3

RET_KILL_PROCESS = 0x80000000
RET_USER_NOTIF = 0x7FC00000
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000

# Classic BPF over struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6];}.
LD_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
JGE = 0x35  # BPF_JMP | BPF_JGE | BPF_K
RET = 0x06  # BPF_RET | BPF_K
NR, ARCH = 0, 4


def arg_offset(index: int, high: bool = False) -> int:
    """The offset of the low (or high) 32 bits of syscall argument ``index`` (little-endian)."""
    return 16 + 8 * index + (4 if high else 0)


@dataclass(frozen=True)
class Architecture:
    """The audit architecture value and the numbers of the system calls the filters name."""

    audit: int
    syscalls: dict[str, int]
    # x86_64 also accepts the x32 ABI's calls, numbered from this bit: refused as a whole.
    x32_bit: int | None = None


ARCHITECTURES = {
    "x86_64": Architecture(
        0xC000003E,
        {
            "socket": 41,
            "connect": 42,
            "sendto": 44,
            "sendmsg": 46,
            "socketpair": 53,
            "sendmmsg": 307,
            "seccomp": 317,
            "io_uring_setup": 425,
            "pidfd_getfd": 438,
        },
        x32_bit=0x40000000,
    ),
    "aarch64": Architecture(
        0xC00000B7,
        {
            "socket": 198,
            "socketpair": 199,
            "connect": 203,
            "sendto": 206,
            "sendmsg": 211,
            "sendmmsg": 269,
            "seccomp": 277,
            "io_uring_setup": 425,
            "pidfd_getfd": 438,
        },
    ),
}
AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10


class SandboxUnavailableError(OSError):
    """The kernel offers no seccomp filter here: the worker cannot be confined."""


def architecture() -> Architecture:
    machine = platform.machine()
    if machine not in ARCHITECTURES or platform.system() != "Linux":
        raise SandboxUnavailableError(
            f"no seccomp filter for {platform.system()} on {machine or 'this machine'}; "
            f"supported: Linux on {', '.join(ARCHITECTURES)}"
        )
    return ARCHITECTURES[machine]


class _Program:
    """A seccomp BPF program written with labels: ``jump_if(value, label)`` jumps when the
    accumulator equals ``value`` and falls through otherwise."""

    def __init__(self) -> None:
        self.code: list[tuple[int, str | int, str | int, int]] = []
        self.labels: dict[str, int] = {}

    def load(self, offset: int) -> None:
        self.code.append((LD_ABS, 0, 0, offset))

    def jump_if(self, value: int, label: str, opcode: int = JEQ) -> None:
        self.code.append((opcode, label, 0, value))

    def ret(self, action: int) -> None:
        self.code.append((RET, 0, 0, action))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def assemble(self) -> bytes:
        instructions = []
        for index, (code, true, false, k) in enumerate(self.code):
            offsets = [
                self.labels[target] - index - 1 if isinstance(target, str) else target
                for target in (true, false)
            ]
            if not all(0 <= offset < 256 for offset in offsets):
                raise ValueError("a seccomp jump must go forward by less than 256 instructions")
            instructions.append(struct.pack("=HBBI", code, offsets[0], offsets[1], k))
        return b"".join(instructions)


def network_filter(arch: Architecture, egress: bool) -> bytes:
    """The filter of :func:`confine`: no socket at all, or (``egress``) IP sockets whose
    addressed sends and connections wait for the supervisor."""
    calls = arch.syscalls
    program = _Program()
    program.load(ARCH)
    program.jump_if(arch.audit, "native")
    program.ret(RET_KILL_PROCESS)
    program.label("native")
    program.load(NR)
    if arch.x32_bit is not None:
        program.jump_if(arch.x32_bit, "refuse", JGE)
    program.jump_if(calls["io_uring_setup"], "refuse")
    program.jump_if(calls["socketpair"], "refuse")
    program.jump_if(calls["socket"], "socket")
    if egress:
        for name in ("connect", "sendmsg", "sendmmsg"):
            program.jump_if(calls[name], "ask")
        program.jump_if(calls["sendto"], "sendto")
    program.ret(RET_ALLOW)
    program.label("socket")
    if egress:
        program.load(arg_offset(0))
        program.jump_if(AF_INET, "allow")
        program.jump_if(AF_INET6, "allow")
    program.label("refuse")
    program.ret(RET_ERRNO | errno.EACCES)
    if egress:
        # sendto(fd, buf, len, flags, dest_addr, addrlen): without an address it sends to the
        # connected peer, which connect() already asked about.
        program.label("sendto")
        program.load(arg_offset(4))
        program.jump_if(0, "low-zero")
        program.ret(RET_USER_NOTIF)
        program.label("low-zero")
        program.load(arg_offset(4, high=True))
        program.jump_if(0, "allow")
        program.label("ask")
        program.ret(RET_USER_NOTIF)
        program.label("allow")
        program.ret(RET_ALLOW)
    return program.assemble()


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _install(program: bytes, flags: int) -> int:
    arch = architecture()
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise SandboxUnavailableError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    result = _libc.syscall(
        arch.syscalls["seccomp"], SECCOMP_SET_MODE_FILTER, flags, ctypes.byref(fprog)
    )
    if result < 0:
        code = ctypes.get_errno()
        raise SandboxUnavailableError(
            code, f"the kernel refused a seccomp filter: {os.strerror(code)}"
        )
    return result


def confine(memory_bytes: int | None, egress: bool = False) -> int | None:
    """Confine this process for good: cap its memory at ``memory_bytes`` (``None``: no cap) and
    install the network filter. With ``egress``, return the file descriptor on which the kernel
    asks about each connection (:class:`odr_kg.egress.EgressSupervisor` answers it)."""
    if memory_bytes is not None:
        limit_memory(memory_bytes)
    program = network_filter(architecture(), egress)
    listener = _install(program, SECCOMP_FILTER_FLAG_NEW_LISTENER if egress else 0)
    return listener if egress else None


def limit_memory(memory_bytes: int) -> None:
    """Cap this process's heap and private writable mappings at ``memory_bytes``."""
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))


def take_descriptor(pid: int, descriptor: int) -> int:
    """A copy, in this process, of the file descriptor ``descriptor`` of process ``pid``
    (``pidfd_getfd``, Linux 5.6): how the web process receives a worker's listener, which the
    worker cannot send over its pipe once its own sends are being held."""
    pidfd = os.pidfd_open(pid)
    try:
        result = _libc.syscall(architecture().syscalls["pidfd_getfd"], pidfd, descriptor, 0)
        if result < 0:
            code = ctypes.get_errno()
            raise SandboxUnavailableError(code, f"pidfd_getfd failed: {os.strerror(code)}")
        return result
    finally:
        os.close(pidfd)
