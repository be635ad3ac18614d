from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable

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
        size = store.graph_sizes()[store.graph_iri(name)]
        assert f'<td class="number">{size:,}</td>' in page


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


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers.get_content_type(), response.read()


@pytest.fixture(scope="module")
def served_url(start_server: Callable[..., str]) -> str:
    return start_server()


@pytest.mark.subprocess
def test_the_served_application_answers(served_url: str) -> None:
    status, content_type, body = get(f"{served_url}/health")
    assert (status, content_type) == (200, "application/json")
    health = json.loads(body)
    assert health["status"] == "ok" and health["triples"] > 0

    status, content_type, body = get(f"{served_url}/")
    assert (status, content_type) == (200, "text/html")
    assert "ODR knowledge graph" in body.decode()


@pytest.mark.subprocess
def test_serving_without_a_body_limit(
    start_server: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``MAX_CONTENT_LENGTH`` null means no limit of ours: a body over the default 1 MiB reaches
    the endpoint, which refuses the query for its length (400), not the body for its size."""
    monkeypatch.setenv("ODR_KG_MAX_CONTENT_LENGTH", "null")
    url = start_server("--no-supervisor")
    body = ("ASK {}" + " " * (1536 * 1024)).encode()
    request = urllib.request.Request(
        f"{url}/sparql", data=body, headers={"Content-Type": "application/sparql-query"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400
    assert "characters" in refused.value.read().decode()
