"""Faults the public service must survive: an external store that goes away and comes back,
and a query worker killed in the middle of a request."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import OXIGRAPH, free_port, stop_process
from odr_kg.sparql_store import SparqlEndpointStore
from odr_kg.web import create_app

CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
HEALTHY = "ASK { <https://w3id.org/odr-kg/id/forum/hkiac> ?p ?o }"


class OnDiskOxigraph:
    """An ``oxigraph serve`` on disk that can be stopped and started again on the same port."""

    def __init__(self, location: Path) -> None:
        self.location = location
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(OXIGRAPH),
                "serve",
                "--location",
                str(self.location),
                "--bind",
                self.url.removeprefix("http://"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/query?query=ASK%7B%7D", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        pytest.fail(f"oxigraph serve did not start on {self.url}")

    def stop(self) -> None:
        assert self.process is not None
        stop_process(self.process)


@pytest.fixture
def restartable_store(tmp_path: Path) -> Iterator[OnDiskOxigraph]:
    server = OnDiskOxigraph(tmp_path / "oxigraph")
    server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.stop()


def test_the_service_recovers_when_the_external_store_returns(
    restartable_store: OnDiskOxigraph,
) -> None:
    query = f"{restartable_store.url}/query"
    SparqlEndpointStore(query, update_endpoint=f"{restartable_store.url}/update").load_packaged()
    client = create_app({"TESTING": True, "SPARQL_ENDPOINT": query}).test_client()
    page = "/id/forum/hkiac.ttl"
    assert client.get(page).status_code == 200

    restartable_store.stop()
    down = client.get(page)
    assert down.status_code == 503
    assert "the SPARQL store at" in down.get_data(as_text=True)

    restartable_store.start()  # same data, same port; the application is not restarted
    assert client.get(page).status_code == 200
    assert client.get("/sparql", query_string={"query": HEALTHY, "format": "json"}).get_json()[
        "boolean"
    ]


def children_of(pid: int) -> list[int]:
    """The process ids whose parent is ``pid``, read from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its closing bracket
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return children


def descendants_of(pid: int) -> list[int]:
    """The process ids below ``pid``: its children, theirs, and so on."""
    found = []
    for child in children_of(pid):
        found += [child, *descendants_of(child)]
    return found


def serve_process(port: int) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in command and str(port).encode() in command:
                return int(entry.name)
    pytest.fail(f"no odr-kg serve process on port {port}")


def ask(url: str, query: str, timeout: float = 30) -> tuple[int, str]:
    address = f"{url}/sparql?" + urllib.parse.urlencode({"query": query, "format": "json"})
    try:
        with urllib.request.urlopen(address, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_worker_killed_mid_request_does_not_take_the_service_down(
    start_server: Callable[..., str],
) -> None:
    url = start_server("--query-workers", "1", "--query-timeout", "20")
    assert ask(url, HEALTHY)[0] == 200  # the worker is up
    port = int(url.rsplit(":", 1)[1])
    server = serve_process(port)

    outcome: dict[str, tuple[int, str]] = {}
    slow = threading.Thread(target=lambda: outcome.update(slow=ask(url, CARTESIAN)))
    slow.start()
    time.sleep(1.0)  # the cartesian product is running in the worker now
    workers = [
        pid
        for pid in descendants_of(server)
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert workers, "no query worker process found"
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    slow.join(timeout=30)

    status, body = outcome["slow"]
    assert status == 503, body
    status, body = ask(url, HEALTHY)
    assert status == 200, body
    assert json.loads(body)["boolean"] is True
