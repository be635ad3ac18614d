"""Faults the public service must survive: an external store that goes away and comes back,
and a query worker killed in the middle of a request."""

from __future__ import annotations

import http.client
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


# A live server under hostile and concurrent input ---------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CASE = (ROOT / "cases" / "trade-assurance-non-delivery.ttl").read_bytes()


def request(
    url: str,
    path: str,
    body: bytes | None = None,
    content_type: str = "text/turtle",
    source: str = "127.0.0.1",
    timeout: float = 60,
) -> tuple[int, bytes]:
    """An HTTP request from the loopback address ``source`` (each is a client of its own)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(
        host, int(port), timeout=timeout, source_address=(source, 0)
    )
    try:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        connection.request("POST" if body is not None else "GET", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def deep_json_ld(depth: int) -> bytes:
    return ('{"@id":"urn:a","urn:p":' * depth + '"x"' + "}" * depth).encode()


def test_the_service_survives_a_document_that_crashes_the_parser(
    start_server: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = start_server()
    for path in ("/api/validate", "/api/lookup"):
        status, body = request(url, path, deep_json_ld(5000), "application/ld+json")
        assert status == 400 and b"the limit is 32" in body, body
    # With the web process's bounds lifted, the document reaches a worker, which refuses it
    # before its parser recurses; a query that overflows the engine's stack kills a worker,
    # and only that.
    monkeypatch.setenv("ODR_KG_MAX_JSON_DEPTH", "1000000")
    monkeypatch.setenv("ODR_KG_MAX_QUERY_OPERATORS", "1000000")
    url = start_server()
    for path in ("/api/validate", "/api/lookup"):
        status, body = request(url, path, deep_json_ld(5000), "application/ld+json")
        assert status == 400 and b"the limit is 256" in body, body
    crash = "SELECT * WHERE { FILTER(" + "!" * 20000 + "true) }"
    status, body = request(url, "/sparql", crash.encode(), "application/sparql-query")
    assert status == 503, body
    assert request(url, "/health")[0] == 200
    status, body = request(url, "/api/validate", EXAMPLE_CASE)
    assert status == 200 and json.loads(body)["conforms"] is True


def test_the_master_replaces_a_dead_web_process(start_server: Callable[..., str]) -> None:
    url = start_server()
    master = serve_process(int(url.rsplit(":", 1)[1]))
    (web,) = [
        pid
        for pid in children_of(master)
        if b"--listen-fd" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    os.kill(web, signal.SIGSEGV)
    deadline = time.monotonic() + 60
    while True:
        try:
            if request(url, "/health", timeout=5)[0] == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "no web process came back"
        time.sleep(0.2)
    assert web not in children_of(master)
    assert ask(url, HEALTHY)[0] == 200


def test_concurrent_first_validations_on_a_fresh_server(start_server: Callable[..., str]) -> None:
    # The bounds on a client and on waiting are raised: this is about the validator's parser.
    url = start_server(
        "--client-concurrency", "16", "--client-query-seconds", "600", "--max-waiting", "8"
    )
    outcomes: list[tuple[int, bytes]] = []
    threads = [
        threading.Thread(
            target=lambda: outcomes.append(request(url, "/api/validate", EXAMPLE_CASE))
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    outcomes.append(request(url, "/api/validate", EXAMPLE_CASE))
    assert [status for status, _ in outcomes] == [200] * 9, outcomes
    assert all(json.loads(body)["conforms"] is True for _, body in outcomes)


def test_a_cheap_query_answers_while_two_clients_run_slow_ones(
    start_server: Callable[..., str],
) -> None:
    url = start_server()  # the defaults: 3 workers, so one request at a time per client
    slow = "/sparql?" + urllib.parse.urlencode(
        {"query": CARTESIAN, "timeout": "6", "format": "json"}
    )
    statuses: dict[str, int] = {}
    clients = ["127.0.0.2", "127.0.0.3"]
    threads = [
        threading.Thread(target=lambda c=c: statuses.update({c: request(url, slow, source=c)[0]}))
        for c in clients
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # both slow queries are in their workers now
    # Each slow client is at its limit...
    for client in clients:
        assert request(url, slow, source=client)[0] == 429
    # ...and a third client is answered at once, while they still run.
    cheap = "/sparql?" + urllib.parse.urlencode({"query": HEALTHY, "format": "json"})
    started = time.perf_counter()
    status, body = request(url, cheap, source="127.0.0.4")
    latency = time.perf_counter() - started
    still_running = sum(thread.is_alive() for thread in threads)
    for thread in threads:
        thread.join(60)
    print(f"cheap query: {latency * 1000:.0f} ms while {still_running} slow queries ran")
    assert status == 200 and json.loads(body)["boolean"] is True
    assert still_running == 2
    assert statuses == {client: 503 for client in clients}


def test_an_idle_worker_that_died_costs_no_one_a_503(start_server: Callable[..., str]) -> None:
    url = start_server()
    assert ask(url, HEALTHY)[0] == 200
    master = serve_process(int(url.rsplit(":", 1)[1]))
    for pid in descendants_of(master):
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    status, body = ask(url, HEALTHY)
    assert status == 200, body
