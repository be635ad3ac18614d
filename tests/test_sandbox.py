"""The operating system's guard on the workers: no socket at all, or (egress) only the allowed
endpoints, whatever the code in the process tries; as root and as an ordinary user."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from odr_kg import sandbox
from odr_kg.egress import EgressPolicy
from odr_kg.jobs import JobFailedError, QueryJob
from odr_kg.store import KnowledgeStore
from odr_kg.worker_process import WorkerOptions
from odr_kg.workers import WorkerPool, shared_pool
from test_sparql_tokens import Canary

SANDBOX_SOURCE = Path(sandbox.__file__)
SYSTEM_PYTHON = Path("/usr/bin/python3")
FAMILIES = ("AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK", "AF_PACKET")

# Run in a fresh process: confine, then try every way to a socket; print what happened.
PROBE = """
import socket, sys
sys.path.insert(0, sys.argv[1])
import sandbox
sandbox.confine(512 * 2**20)
for name in {families!r}:
    try:
        socket.socket(getattr(socket, name), socket.SOCK_DGRAM if name != "AF_PACKET" else 3)
        print(name, "opened")
    except OSError as error:
        print(name, "refused", error.errno)
try:
    socket.socketpair()
    print("socketpair opened")
except OSError as error:
    print("socketpair refused", error.errno)
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=2)
    print("connect opened")
except OSError as error:
    print("connect refused", error.errno)
"""


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    server = Canary()
    yield server
    server.close()


def _probe(command_prefix: list[str], python: str, folder: Path, port: int) -> str:
    probe = folder / "probe.py"
    probe.write_text(PROBE.format(families=FAMILIES))
    probe.chmod(0o644)
    completed = subprocess.run(
        [*command_prefix, python, str(probe), str(folder), str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@pytest.fixture
def readable_copy() -> Iterator[Path]:
    """A folder anyone can read holding a copy of the sandbox module (it needs only the
    standard library), for a process run as another user."""
    folder = Path(tempfile.mkdtemp(prefix="odr-kg-sandbox-"))
    folder.chmod(0o755)
    shutil.copy(SANDBOX_SOURCE, folder / "sandbox.py")
    (folder / "sandbox.py").chmod(0o644)
    yield folder
    shutil.rmtree(folder)


def _assert_all_refused(output: str) -> None:
    lines = dict(line.split(" ", 1) for line in output.splitlines())
    assert set(lines) == {*FAMILIES, "socketpair", "connect"}
    for name, outcome in lines.items():
        assert outcome.startswith("refused"), (name, outcome)


def test_a_confined_process_opens_no_socket(readable_copy: Path, canary: Canary) -> None:
    port = canary.server.server_address[1]
    _assert_all_refused(_probe([], sys.executable, readable_copy, port))
    assert canary.hits == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the probe as 'nobody', which needs root")
def test_the_confinement_needs_no_privilege(readable_copy: Path, canary: Canary) -> None:
    runuser = shutil.which("runuser")
    if runuser is None or not SYSTEM_PYTHON.exists():
        pytest.skip("needs runuser and /usr/bin/python3 (Debian's util-linux and python3)")
    port = canary.server.server_address[1]
    output = _probe([runuser, "-u", "nobody", "--"], str(SYSTEM_PYTHON), readable_copy, port)
    _assert_all_refused(output)
    assert canary.hits == 0


def test_an_unknown_architecture_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox.platform, "machine", lambda: "vax")
    with pytest.raises(sandbox.SandboxUnavailableError, match="no seccomp filter"):
        sandbox.architecture()


# Egress: the federation workers reach the allowed endpoints and nothing else -----------------


def test_the_egress_policy_reads_addresses() -> None:
    policy = EgressPolicy.for_endpoints(["http://127.0.0.1:7878/query", "https://[::1]/sparql"])
    assert policy.allowed == {("127.0.0.1", 7878), ("::1", 443)}
    allowed_v4 = socket.inet_aton("127.0.0.1")
    assert policy.allows(socket.AF_INET, b"\x02\x00" + (7878).to_bytes(2, "big") + allowed_v4)
    assert not policy.allows(socket.AF_INET, b"\x02\x00" + (7879).to_bytes(2, "big") + allowed_v4)
    mapped = b"\x0a\x00" + (7878).to_bytes(2, "big") + bytes(4)
    mapped += socket.inet_pton(socket.AF_INET6, "::ffff:127.0.0.1") + bytes(4)
    assert policy.allows(socket.AF_INET6, mapped)
    assert not policy.allows(socket.AF_UNIX, b"\x01\x00/var/run/docker.sock")
    assert EgressPolicy.for_endpoints(["http://localhost:1/"]).allowed <= {
        ("127.0.0.1", 1),
        ("::1", 1),
    }


@pytest.fixture(scope="module")
def egress_pool(
    embedded_store: KnowledgeStore, canary: Canary
) -> Iterator[tuple[WorkerPool, Canary]]:
    other = Canary()
    options = WorkerOptions.of(embedded_store, memory_bytes=1024 * 2**20, egress=True)
    pool = shared_pool(options, 1, (canary.url,))
    yield pool, other
    other.close()


def _service(url: str) -> QueryJob:
    return QueryJob.of(f"SELECT ?x {{ SERVICE <{url}> {{ ?x ?y ?z }} }}", None, None, None, 10)


def test_an_egress_worker_reaches_the_allowed_endpoint(
    egress_pool: tuple[WorkerPool, Canary], canary: Canary
) -> None:
    pool, _ = egress_pool
    before = canary.hits
    answer = pool.run(_service(canary.url), 20)
    assert [row["x"].value for row in answer.result] == ["y"]
    assert canary.hits == before + 1


def test_an_egress_worker_reaches_nothing_else(egress_pool: tuple[WorkerPool, Canary]) -> None:
    pool, other = egress_pool
    # The job goes straight to the worker: no scanner stands in the way, only the kernel.
    with pytest.raises(JobFailedError, match="Permission denied"):
        pool.run(_service(other.url), 20)
    assert other.hits == 0
    assert pool.supervisor is not None and pool.supervisor.refused >= 1
    # The refusal cost the worker nothing: it answers the next job.
    assert pool.run(QueryJob.of("ASK {}", None, None, None, 10), 20).result
