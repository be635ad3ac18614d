"""No outbound reach, no write path, escaped output, security headers: the regression suite.

A canary HTTP server on 127.0.0.1 (and on [::1] where the host has IPv6) counts every request
it gets; each attack below points at it, directly or through a redirect, and at a local file
and the cloud metadata address. Nothing may reach the canary, no file's content may come back,
and each is refused with 4xx (graph names: answered as an empty graph).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from odr_kg import guard
from odr_kg.web import create_app
from odr_kg.web.lookup import FORM_FIELDS
from test_sparql_tokens import spellings

TEMPLATES = Path(__file__).parents[1] / "server" / "odr_kg" / "web" / "templates"
LOCAL_FILE = "file:///etc/passwd"
METADATA = "http://169.254.169.254/latest/meta-data/"
# /etc/passwd always holds root's line; no answer may hold it.
FILE_CONTENT = re.compile(rb"root:[^:\n]*:0:0:")
SELECT_JSON = {"Accept": "application/sparql-results+json"}


class Canary:
    """An HTTP server counting the requests it gets; ``/redirect`` sends to ``/hit``."""

    def __init__(self, host: str, family: socket.AddressFamily) -> None:
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                canary.hits += 1
                if self.path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", "/hit")
                else:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/ld+json")
                self.end_headers()
                self.wfile.write(b'{"@context": {"x": "http://example.org/"}}')

            do_POST = do_GET  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        class Server(ThreadingHTTPServer):
            address_family = family
            daemon_threads = True

        self.hits = 0
        self.server = Server((host, 0), Handler)
        port = self.server.server_address[1]
        self.url = f"http://{'[::1]' if family == socket.AF_INET6 else host}:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def canaries() -> Iterator[list[Canary]]:
    started = [Canary("127.0.0.1", socket.AF_INET)]
    try:
        started.append(Canary("::1", socket.AF_INET6))
    except OSError:
        pass  # no IPv6 on this host: the [::1] targets stay unreachable all the same
    yield started
    for canary in started:
        canary.close()


@pytest.fixture(scope="module")
def targets(canaries: list[Canary]) -> list[str]:
    urls = [LOCAL_FILE, METADATA, "http://[::1]:9/hit"]
    for canary in canaries:
        urls += [f"{canary.url}/hit", f"{canary.url}/redirect"]
    return urls


@pytest.fixture(scope="module")
def module_client() -> FlaskClient:
    return create_app({"TESTING": True}).test_client()


def test_the_canary_counts(canaries: list[Canary]) -> None:
    before = canaries[0].hits
    with urllib.request.urlopen(f"{canaries[0].url}/redirect", timeout=5) as answer:
        assert answer.status == 200
    assert canaries[0].hits == before + 2
    canaries[0].hits = 0  # the tests below count from zero


@pytest.mark.parametrize("template", spellings())
def test_service_and_load_are_refused_before_evaluation(
    module_client: FlaskClient, canaries: list[Canary], targets: list[str], template: str
) -> None:
    for url in targets:
        query = template.format(url=url)
        for response in (
            module_client.get("/sparql", query_string={"query": query}),
            module_client.post("/sparql", data={"query": query}),
        ):
            assert response.status_code == 400, (url, response.text)
            assert "SERVICE" in response.text or "LOAD" in response.text
            assert not FILE_CONTENT.search(response.data)
        update = module_client.post("/sparql", data={"update": query})
        assert update.status_code == 403
    assert sum(canary.hits for canary in canaries) == 0


@pytest.mark.parametrize(
    "template",
    [
        "SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}",
        "SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ GRAPH <{url}> {{ ?s ?p ?o }} }}",
        "CONSTRUCT {{ ?s ?p ?o }} FROM <{url}> WHERE {{ ?s ?p ?o }}",
    ],
)
def test_graph_names_in_the_query_name_empty_graphs(
    module_client: FlaskClient, canaries: list[Canary], targets: list[str], template: str
) -> None:
    for url in targets:
        query = template.format(url=url)
        response = module_client.get(
            "/sparql",
            query_string={"query": query},
            headers={"Accept": "application/n-triples, application/sparql-results+json"},
        )
        assert response.status_code == 200, response.text
        assert not FILE_CONTENT.search(response.data)
        if response.mimetype == "application/n-triples":
            assert response.data.strip() == b""
        else:
            assert response.json["results"]["bindings"] == []
    assert sum(canary.hits for canary in canaries) == 0


@pytest.mark.parametrize("parameter", ["default-graph-uri", "named-graph-uri"])
def test_protocol_graph_names_name_empty_graphs(
    module_client: FlaskClient, canaries: list[Canary], targets: list[str], parameter: str
) -> None:
    query = "SELECT * WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
    for url in targets:
        response = module_client.get(
            "/sparql", query_string={"query": query, parameter: url}, headers=SELECT_JSON
        )
        assert response.status_code == 200, response.text
        assert response.json["results"]["bindings"] == []
    assert sum(canary.hits for canary in canaries) == 0


@pytest.mark.parametrize("path", ["/api/lookup", "/api/validate"])
def test_json_ld_contexts_are_never_fetched(
    module_client: FlaskClient, canaries: list[Canary], targets: list[str], path: str
) -> None:
    for url in targets:
        for context in (url, [url], {"@import": url}):
            body = {"@context": context, "@id": "urn:x:case", "@type": "Case"}
            response = module_client.post(
                path, data=json.dumps(body), content_type="application/ld+json"
            )
            assert 400 <= response.status_code < 500, response.text
            assert not FILE_CONTENT.search(response.data)
    assert sum(canary.hits for canary in canaries) == 0


def test_rdf_xml_is_not_accepted_as_input(module_client: FlaskClient) -> None:
    # Nested internal entities: an RDF/XML parser expanding them would take seconds and memory.
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rdf:RDF [{entities}'
        f'<!ENTITY file SYSTEM "{LOCAL_FILE}">]>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="urn:x:a"><rdf:value>&e9;&file;</rdf:value>'
        "</rdf:Description></rdf:RDF>"
    )
    for path in ("/api/lookup", "/api/validate", "/sparql"):
        response = module_client.post(path, data=body, content_type="application/rdf+xml")
        assert response.status_code == 415, (path, response.status_code)
        assert not FILE_CONTENT.search(response.data)


# The process-wide guard --------------------------------------------------------------------


def test_the_guard_refuses_sockets_and_files_only_inside_a_request(
    canaries: list[Canary],
) -> None:
    port = canaries[0].server.server_address[1]
    policy = guard.policy_for()
    with guard.guarded(policy):
        with pytest.raises(guard.OutboundAccessError):
            socket.getaddrinfo("127.0.0.1", port)
        with pytest.raises(guard.OutboundAccessError):
            socket.create_connection(("127.0.0.1", port), timeout=2)
        with pytest.raises(guard.OutboundAccessError):
            Path("/etc/passwd").read_bytes()
        assert (TEMPLATES / "base.html").read_text()
    assert canaries[0].hits == 0
    # Outside a request the process works as usual.
    socket.getaddrinfo("127.0.0.1", port)
    assert Path("/etc/hostname").exists()


def test_the_guard_fires_in_a_view(canaries: list[Canary]) -> None:
    app = create_app({"TESTING": True})

    @app.get("/test-fetch")
    def fetch() -> str:
        with urllib.request.urlopen(f"{canaries[0].url}/hit", timeout=5):
            return "reached"

    @app.get("/test-read")
    def read() -> str:
        return Path("/etc/passwd").read_text()

    client = app.test_client()
    with pytest.raises((guard.OutboundAccessError, urllib.error.URLError)) as fetched:
        client.get("/test-fetch")
    assert "refused while handling a request" in str(fetched.value)
    with pytest.raises(guard.OutboundAccessError):
        client.get("/test-read")
    assert canaries[0].hits == 0
    # The guard is released after each request, even one that failed.
    assert client.get("/health").status_code == 200
    socket.getaddrinfo("127.0.0.1", canaries[0].server.server_address[1])


def test_the_guard_lets_the_external_store_through() -> None:
    policy = guard.policy_for(["http://127.0.0.1:7878/query"])
    assert policy.allows_address(("127.0.0.1", 7878))
    assert not policy.allows_address(("10.0.0.1", 7878))
    assert policy.allows_host("127.0.0.1")
    assert not policy.allows_host("169.254.169.254")


# Read-only: every route and method ---------------------------------------------------------

WRITE_METHODS = ("PUT", "PATCH", "DELETE")
POST_ROUTES = {"/sparql", "/api/lookup", "/api/validate"}


def _sample_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", "x", rule).replace("<any(id, eli, def, shapes)", "id")


def test_no_route_writes(app: Flask) -> None:
    client = app.test_client()
    store = app.extensions["odr_kg"]
    size = len(store)
    rules = list(app.url_map.iter_rules())
    assert {rule.rule for rule in rules if "POST" in rule.methods} == POST_ROUTES
    for rule in rules:
        assert not set(WRITE_METHODS) & set(rule.methods), rule.rule
        path = _sample_path(rule.rule).replace("<folder>", "id")
        for method in WRITE_METHODS:
            assert client.open(path, method=method).status_code in (404, 405), (path, method)
    updates = [
        "INSERT DATA { <urn:x:a> <urn:x:b> <urn:x:c> }",
        "DELETE WHERE { ?s ?p ?o }",
        "CLEAR ALL",
        "DROP ALL",
    ]
    for update in updates:
        assert client.post("/sparql", data={"update": update}).status_code == 403
        assert (
            client.post(
                "/sparql", data=update, content_type="application/sparql-update"
            ).status_code
            == 403
        )
        assert client.get("/sparql", query_string={"update": update}).status_code == 403
        assert client.get("/sparql", query_string={"query": update}).status_code == 400
    assert len(store) == size


# Escaped output and security headers -------------------------------------------------------

MARKUP = "\"'><script>alert(1)</script><img src=x onerror=alert(2)><svg onload=alert(3)>"
UNESCAPED = ("<script>alert(1)", "<img src=x", "<svg onload")
HTML = {"Accept": "text/html"}


def _assert_escaped(response: object, where: str) -> None:
    text = response.get_data(as_text=True)  # type: ignore[attr-defined]
    if response.mimetype == "text/html":  # type: ignore[attr-defined]
        for fragment in UNESCAPED:
            assert fragment not in text, where
    else:
        # Anything else is data, never markup for a browser: nosniff keeps it so.
        assert response.headers["X-Content-Type-Options"] == "nosniff", where  # type: ignore[attr-defined]


def test_every_user_string_comes_back_escaped(module_client: FlaskClient) -> None:
    client = module_client
    for field in (*FORM_FIELDS, "lang"):
        for values in ({field: MARKUP}, {"role": "buyer", "channel": "offline", field: MARKUP}):
            response = client.get("/lookup", query_string=values, headers=HTML)
            _assert_escaped(response, f"/lookup {field}")
        for path in ("/lookup.json", "/lookup.ttl"):
            _assert_escaped(client.get(path, query_string={field: MARKUP}), f"{path} {field}")
    valid = "SELECT * WHERE { ?s ?p ?o } LIMIT 1"
    sparql_requests = [
        {"query": MARKUP},
        {"query": f"SELECT * WHERE {{ ?s ?p '{MARKUP}' }}"},
        {"query": f"# {MARKUP}\n{valid}"},
        {"query": valid, "default-graph-uri": MARKUP},
        {"query": valid, "named-graph-uri": MARKUP},
        {"query": valid, "format": MARKUP},
        {"query": valid, "timeout": MARKUP},
        {"query": f'SELECT ("{MARKUP}" AS ?x) WHERE {{}}'},
        {"update": MARKUP},
    ]
    for values in sparql_requests:
        for response in (
            client.get("/sparql", query_string=values, headers=HTML),
            client.post("/sparql", data=values, headers=HTML),
            client.get("/sparql", query_string=values),
        ):
            _assert_escaped(response, f"/sparql {values}")
    for path in (f"/id/{MARKUP}", f"/def/{MARKUP}", "/def", "/id/channel/offline"):
        _assert_escaped(client.get(path, query_string={"lang": MARKUP}, headers=HTML), path)
    for body in ({"role": MARKUP}, {"role": "buyer", "channel": MARKUP}, [MARKUP], MARKUP):
        response = client.post("/api/lookup", json=body)
        assert response.status_code in (400, 422)
        assert response.mimetype == "application/json"
        _assert_escaped(response, "/api/lookup")
    response = client.post("/api/validate", data=MARKUP, content_type="text/turtle")
    assert response.status_code == 400 and response.mimetype == "application/json"


def test_html_pages_carry_the_security_headers(module_client: FlaskClient) -> None:
    for path in ("/", "/sparql", "/lookup", "/def", "/id/channel/offline", "/no-such-page"):
        response = module_client.get(path, headers=HTML)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_templates_hold_no_inline_script_or_style() -> None:
    # The CSP allows scripts and styles from files only; inline ones would be blocked.
    for template in TEMPLATES.iterdir():
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template.name
        assert "<style" not in text, template.name
        assert not re.search(r"\sstyle=", text), template.name
        assert not re.search(r"\son[a-z]+=", text), template.name
        assert "javascript:" not in text, template.name


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/sparql", {"Accept": "text/turtle"}),
        ("/.well-known/void", {"Accept": "text/turtle"}),
        ("/", {"Accept": "text/html"}),
    ],
)
def test_with_a_public_url_the_host_header_is_not_reflected(
    path: str, headers: dict[str, str]
) -> None:
    client = create_app({"TESTING": True, "PUBLIC_URL": "https://kg.example.org"}).test_client()
    response = client.get(path, headers={**headers, "Host": "evil.example"})
    assert response.status_code == 200
    assert "evil.example" not in response.text
    if path != "/":
        assert "https://kg.example.org/sparql" in response.text


@pytest.mark.parametrize("url", ["kg.example.org", "ftp://kg.example.org", "https://h/x"])
def test_a_public_url_must_be_a_scheme_and_host(url: str) -> None:
    with pytest.raises(ValueError, match="PUBLIC_URL must be"):
        create_app({"TESTING": True, "PUBLIC_URL": url})


@pytest.mark.parametrize(
    ("query", "xml_type", "other_type"),
    [
        (
            'SELECT ?x { BIND("a\\u0001b" AS ?x) }',
            "application/sparql-results+xml",
            "application/sparql-results+json",
        ),
        ('CONSTRUCT { <urn:a> <urn:p> "a\\u0001b" } {}', "application/rdf+xml", "text/turtle"),
        ('CONSTRUCT { <urn:a> <urn:x:1> "b" } {}', "application/rdf+xml", "text/turtle"),
        ('CONSTRUCT { <urn:a> <http://e/p/> "b" } {}', "application/rdf+xml", "text/turtle"),
    ],
)
def test_an_answer_xml_cannot_carry_is_406_never_ill_formed_xml(
    client: FlaskClient, query: str, xml_type: str, other_type: str
) -> None:
    refused = client.post("/sparql", data={"query": query}, headers={"Accept": xml_type})
    assert refused.status_code == 406, refused.text
    assert f"cannot be written as {xml_type}" in refused.text
    answered = client.post("/sparql", data={"query": query}, headers={"Accept": other_type})
    assert answered.status_code == 200 and answered.mimetype == other_type
