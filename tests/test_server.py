from __future__ import annotations

import json
import socket
import subprocess
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from odr_kg.store import GRAPH_NAMES, KnowledgeStore
from odr_kg.web import create_app

STARTUP_TIMEOUT_SECONDS = 15


def test_health_reports_the_number_of_triples(client: FlaskClient, store: KnowledgeStore) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "triples": len(store)}


def test_home_page_lists_the_named_graphs(client: FlaskClient, store: KnowledgeStore) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "ODR knowledge graph" in page
    for name in GRAPH_NAMES:
        assert f"<code>{store.graph_iri(name)}</code>" in page
        assert f"<td>{store.graph_sizes()[store.graph_iri(name)]}</td>" in page


def test_the_base_comes_from_the_configuration() -> None:
    app = create_app({"TESTING": True, "BASE": "https://example.org/odr/"})
    page = app.test_client().get("/").get_data(as_text=True)
    assert "<code>https://example.org/odr/graph/kg</code>" in page


def test_the_base_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODR_KG_BASE", "https://example.org/env/")
    app = create_app({"TESTING": True})
    assert app.config["BASE"] == "https://example.org/env/"


def test_page_text_is_escaped() -> None:
    # A base IRI may legally hold characters that mean something in HTML.
    app = create_app({"TESTING": True, "BASE": "https://example.org/a&b/"})
    page = app.test_client().get("/").get_data(as_text=True)
    assert "https://example.org/a&amp;b/graph/kg" in page
    assert "a&b/" not in page


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers.get_content_type(), response.read()


@pytest.fixture
def served_url(tmp_path: Path) -> Iterator[str]:
    script = Path(sysconfig.get_path("scripts")) / "odr-kg"
    assert script.is_file(), "the odr-kg console script is not installed"
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            if server.poll() is not None:
                output = log_path.read_text(errors="replace")
                pytest.fail(f"odr-kg serve exited with {server.returncode}:\n{output}")
            try:
                get(f"{url}/health")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    pytest.fail(f"odr-kg serve did not answer within {STARTUP_TIMEOUT_SECONDS} s")
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.subprocess
def test_the_served_application_answers(served_url: str) -> None:
    status, content_type, body = get(f"{served_url}/health")
    assert (status, content_type) == (200, "application/json")
    health = json.loads(body)
    assert health["status"] == "ok" and health["triples"] > 0

    status, content_type, body = get(f"{served_url}/")
    assert (status, content_type) == (200, "text/html")
    assert "ODR knowledge graph" in body.decode()
