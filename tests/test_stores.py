"""The two stores behind one interface: the embedded store on disk, the external SPARQL store
loaded by ``odr-kg load``, and what the external store's failures become (502, 503, 504, a CLI
message), never a hang or a traceback."""

from __future__ import annotations

import base64
import io
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask

from conftest import OxigraphServer, free_port
from odr_kg.cli import EXIT_OK, EXIT_STORE, EXIT_USAGE, main
from odr_kg.sparql_store import SparqlEndpointStore, TruncatedResultError
from odr_kg.store import GRAPH_NAMES, EmbeddedStore, KnowledgeStore
from odr_kg.store_errors import (
    NotLoadedError,
    StoreResponseError,
    StoreTimeoutError,
    StoreUnavailableError,
)
from odr_kg.stores import open_store
from odr_kg.web import create_app

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "cases" / "trade-assurance-non-delivery.ttl"


@pytest.fixture(scope="module")
def dead_endpoint() -> str:
    """A port nothing listens on."""
    return f"http://127.0.0.1:{free_port()}/query"


@pytest.fixture(scope="module")
def silent_endpoint() -> Iterator[str]:
    """A port that takes connections and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/query"


class _Refusing(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"out of memory")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def refusing_endpoint() -> Iterator[str]:
    """A server that answers every request with HTTP 500."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/query"
    server.shutdown()
    server.server_close()


# The embedded store on disk ------------------------------------------------------------------


def test_a_store_on_disk_is_loaded_once_and_kept(tmp_path: Path, store: KnowledgeStore) -> None:
    path = tmp_path / "store"
    first = open_store(path=path)
    assert first.graph_sizes() == store.graph_sizes()
    # Removing the shapes graph shows whether opening again reloads: it must not.
    first.clear_graph(first.graph_iri("shapes"))
    first.close()
    del first
    again = open_store(path=path)
    assert again.graph_iri("shapes") not in again.graph_sizes()
    assert again.prefixes == store.prefixes
    # `odr-kg load --store` puts it back, idempotently.
    del again
    assert main(["load", "--store", str(path)]) == EXIT_OK
    assert main(["load", "--store", str(path)]) == EXIT_OK
    assert open_store(path=path).graph_sizes() == store.graph_sizes()


# The external store, loaded by odr-kg load ---------------------------------------------------


@pytest.mark.parametrize("protocol", ["update", "graph-store"])
def test_load_pushes_the_graphs_idempotently(
    start_oxigraph: Callable[[], OxigraphServer], store: KnowledgeStore, protocol: str
) -> None:
    server = start_oxigraph()
    options = ["--endpoint", server.query, "--update-endpoint", server.update]
    if protocol == "graph-store":
        options += ["--graph-store", server.graph_store]
    with pytest.raises(NotLoadedError):
        open_store(endpoint=server.query)
    for _ in range(2):
        assert main(["load", *options]) == EXIT_OK
    external = open_store(endpoint=server.query)
    assert external.graph_sizes() == store.graph_sizes()
    assert len(external) == len(store)


def test_case_graphs_and_data_files_go_to_the_external_store(
    start_oxigraph: Callable[[], OxigraphServer],
) -> None:
    server = start_oxigraph()
    external = SparqlEndpointStore(server.query, update_endpoint=server.update)
    external.load_packaged()
    graph = external.case_graph_iri("ta-0001")
    external.add_file(CASE, graph)
    sizes = external.graph_sizes()
    assert sizes[graph] == len(EmbeddedStore().parse_file(CASE)[0])
    assert set(sizes) == {*(external.graph_iri(name) for name in GRAPH_NAMES), graph}
    # Blank nodes keep their identity through INSERT DATA: each amount has its own node.
    amounts = external.query(
        f"SELECT DISTINCT ?m {{ GRAPH <{graph}> {{ ?m <http://schema.org/value> ?v }} }}"
    )
    assert len(list(amounts)) == 3
    external.clear_graph(graph)
    assert graph not in external.graph_sizes()


def test_a_row_cap_is_never_taken_for_a_complete_answer(external_store: KnowledgeStore) -> None:
    assert isinstance(external_store, SparqlEndpointStore)
    capped = SparqlEndpointStore(external_store.endpoint, max_rows=100)
    with pytest.raises(TruncatedResultError, match="cut short"):
        capped.query("SELECT * { ?s ?p ?o }")
    assert len(list(capped.query("SELECT * { ?s ?p ?o } LIMIT 99"))) == 99
    # Its own reads page below the cap.
    assert sorted(map(str, capped.quads())) == sorted(map(str, external_store.quads()))


def test_validation_and_lookup_read_the_external_store(
    external_store: KnowledgeStore, store: KnowledgeStore
) -> None:
    from odr_kg.lookup import LookupEngine
    from odr_kg.validation import ShapesValidator, read_case_file

    case = read_case_file(CASE)
    on_external = ShapesValidator.for_cases(external_store).validate(case)
    on_embedded = ShapesValidator.for_cases(store).validate(case)
    assert on_external.conforms and on_embedded.conforms
    assert len(ShapesValidator.for_cases(external_store).context) == len(
        ShapesValidator.for_cases(store).context
    )
    engine = LookupEngine(external_store)
    facts = engine.facts_from_case(case)
    assert engine.lookup(facts).json == LookupEngine(store).lookup(facts).json


def test_the_cli_reads_the_external_store(
    oxigraph_server: OxigraphServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = tmp_path / "count.rq"
    query.write_text("SELECT (COUNT(*) AS ?n) { ?c a <http://www.w3.org/2002/07/owl#Class> }")
    assert main(["query", "--endpoint", oxigraph_server.query, str(query)]) == EXIT_OK
    on_external = capsys.readouterr().out
    assert main(["query", str(query)]) == EXIT_OK
    assert capsys.readouterr().out == on_external


# Failures of the external store --------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "error", "status"),
    [
        ("dead_endpoint", StoreUnavailableError, 503),
        ("silent_endpoint", StoreTimeoutError, 504),
        ("refusing_endpoint", StoreResponseError, 502),
    ],
)
def test_store_failures_are_specific(
    request: pytest.FixtureRequest, endpoint: str, error: type[Exception], status: int
) -> None:
    store = SparqlEndpointStore(request.getfixturevalue(endpoint), timeout=0.5)
    with pytest.raises(error) as raised:
        store.query("ASK { ?s ?p ?o }")
    assert raised.value.status == status
    assert store.endpoint in str(raised.value)


@pytest.fixture
def app_on_external(oxigraph_server: OxigraphServer) -> Flask:
    return create_app({"TESTING": True, "SPARQL_ENDPOINT": oxigraph_server.query})


@pytest.mark.parametrize(
    ("endpoint", "status"),
    [("dead_endpoint", 503), ("silent_endpoint", 504), ("refusing_endpoint", 502)],
)
@pytest.mark.parametrize(
    ("path", "mimetype"),
    [
        ("/sparql?query=ASK%7B%7D", "text/plain"),
        ("/id/forum/hkiac.ttl", "text/plain"),
        ("/dump.nt", "text/plain"),
        ("/health", "text/plain"),
    ],
)
def test_the_web_answers_a_failing_store_with_a_gateway_error(
    app_on_external: Flask,
    request: pytest.FixtureRequest,
    endpoint: str,
    status: int,
    path: str,
    mimetype: str,
) -> None:
    external = app_on_external.extensions["odr_kg"]
    # The store goes away, hangs or breaks after the application has started.
    external.endpoint = request.getfixturevalue(endpoint)
    external.timeout = 0.5
    response = app_on_external.test_client().get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == status
    assert response.mimetype == mimetype
    assert "the SPARQL store at" in response.get_data(as_text=True)


def test_the_api_keeps_answering_lookups_while_the_store_is_down(
    app_on_external: Flask, dead_endpoint: str
) -> None:
    # The lookup rules run on a copy of the knowledge graph taken at start-up.
    app_on_external.extensions["odr_kg"].endpoint = dead_endpoint
    response = app_on_external.test_client().post(
        "/api/lookup",
        json={"role": "buyer", "channel": "trade-assurance", "claim": "non-delivery"},
    )
    assert response.status_code == 200


def test_the_cli_reports_a_store_it_cannot_reach(
    dead_endpoint: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    query = tmp_path / "ask.rq"
    query.write_text("ASK {}")
    assert main(["query", "--endpoint", dead_endpoint, str(query)]) == EXIT_STORE
    assert main(["export", "--endpoint", dead_endpoint]) == EXIT_STORE
    assert main(["load", "--endpoint", dead_endpoint, "--timeout", "1"]) == EXIT_STORE
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3
    assert all(line.startswith("odr-kg: the SPARQL store at") for line in errors)


def test_the_cli_reports_a_store_not_loaded(
    start_oxigraph: Callable[[], OxigraphServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = start_oxigraph()
    assert main(["export", "--endpoint", server.query]) == EXIT_STORE
    assert "odr-kg load --endpoint" in capsys.readouterr().err


def test_a_quad_survives_the_round_trip_through_the_external_store(
    start_oxigraph: Callable[[], OxigraphServer],
) -> None:
    server = start_oxigraph()
    external = SparqlEndpointStore(server.query, update_endpoint=server.update)
    literal = ox.Literal('say "hi"\n\\ 你好', language="zh")
    triple = ox.Triple(ox.NamedNode("urn:x:a"), ox.NamedNode("urn:x:p"), literal)
    external.add_graphs({"urn:x:g": [triple]})
    assert [quad.triple for quad in external.quads("urn:x:g")] == [triple]


class _AskingForCredentials(BaseHTTPRequestHandler):
    """Takes a SPARQL Update with HTTP Basic credentials ``editor:p@ss``, else answers 401."""

    seen: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        authorization = self.headers.get("Authorization", "")
        self.seen.append(authorization)
        if authorization != "Basic " + base64.b64encode(b"editor:p@ss").decode():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="SPARQL"')
        else:
            self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_an_update_endpoint_gets_the_credentials_written_in_its_url() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AskingForCredentials)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"127.0.0.1:{server.server_address[1]}/update"
    try:
        store = SparqlEndpointStore(f"http://{url}", update_endpoint=f"http://editor:p%40ss@{url}")
        store.clear_graph("urn:x:g")
        assert _AskingForCredentials.seen[-1].startswith("Basic ")
        assert store.update_endpoint == f"http://{url}"
        wrong = SparqlEndpointStore(f"http://{url}", update_endpoint=f"http://editor:nope@{url}")
        with pytest.raises(StoreResponseError, match="401") as raised:
            wrong.clear_graph("urn:x:g")
        assert "nope" not in str(raised.value)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("where", ["command line", "configuration"])
def test_the_row_cap_and_union_parameter_are_settable(
    external_store: KnowledgeStore,
    where: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--store-max-rows`` / ``STORE_MAX_ROWS`` make an answer reaching the cap an error;
    ``--union-parameter ''`` / ``STORE_UNION_PARAMETER`` sends no union parameter, so that
    Oxigraph's default graph is its empty default graph."""
    assert isinstance(external_store, SparqlEndpointStore)
    everything = "SELECT * { ?s ?p ?o }"
    if where == "command line":
        endpoint = ["--endpoint", external_store.endpoint]
        monkeypatch.setattr("sys.stdin", io.StringIO(everything))
        assert main(["query", *endpoint, "--store-max-rows", "100", "-"]) == EXIT_STORE
        assert "cut short" in capsys.readouterr().err
        monkeypatch.setattr("sys.stdin", io.StringIO(everything))
        assert main(["query", *endpoint, "--union-parameter", "", "--format", "csv", "-"]) == 0
        # the header and no row: the default graph is empty
        assert sorted(capsys.readouterr().out.strip().split(",")) == ["o", "p", "s"]
        monkeypatch.setattr("sys.stdin", io.StringIO(everything + " LIMIT 3"))
        assert main(["query", *endpoint, "--format", "csv", "-"]) == EXIT_OK
        assert len(capsys.readouterr().out.strip().splitlines()) == 4
    else:
        config = {"TESTING": True, "SPARQL_ENDPOINT": external_store.endpoint}
        capped = create_app({**config, "STORE_MAX_ROWS": 100}).test_client()
        response = capped.get("/sparql", query_string={"query": everything})
        assert response.status_code == 502
        assert "cut short" in response.get_data(as_text=True)
        plain = create_app({**config, "STORE_UNION_PARAMETER": ""}).test_client()
        response = plain.get(
            "/sparql", query_string={"query": everything}, headers={"Accept": "text/csv"}
        )
        assert sorted(response.get_data(as_text=True).strip().split(",")) == ["o", "p", "s"]


def test_a_row_cap_below_two_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["query", "--endpoint", "http://127.0.0.1:9/query", "--store-max-rows", "1", "-"])
    assert refused.value.code == EXIT_USAGE
    assert "at least 2" in capsys.readouterr().err


def test_queries_to_an_external_store_count_against_the_clients_share(
    oxigraph_server: OxigraphServer,
) -> None:
    app = create_app(
        {
            "TESTING": True,
            "SPARQL_ENDPOINT": oxigraph_server.query,
            "CLIENT_QUERY_SECONDS": 0.000001,
        }
    )
    client = app.test_client()
    query = {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}
    assert client.get("/sparql", query_string=query).status_code == 200
    refused = client.get("/sparql", query_string=query)
    assert refused.status_code == 429, refused.text
    assert "Retry-After" in refused.headers
    other = client.get("/sparql", query_string=query, environ_base={"REMOTE_ADDR": "127.0.0.9"})
    assert other.status_code == 200


@pytest.mark.parametrize("protocol", ["update", "graph-store"])
def test_an_external_store_tells_writes_to_a_graph_from_updates(
    start_oxigraph: Callable[[], OxigraphServer], protocol: str
) -> None:
    server = start_oxigraph()
    graph_store = server.graph_store if protocol == "graph-store" else None
    external = SparqlEndpointStore(
        server.query, update_endpoint=server.update, graph_store=graph_store
    )
    kg, case = external.graph_iri("kg"), external.case_graph_iri("c-1")
    triple = ox.Triple(
        ox.NamedNode("https://example.org/a"),
        ox.NamedNode("https://example.org/b"),
        ox.Literal("c"),
    )
    before = external.generation
    external.add_graphs({case: [triple]})
    external.add_graphs({case: [triple]}, replace=False)
    external.clear_graph(case)
    assert external.written_since(before, [case])
    assert not external.written_since(before, [kg])
    external.add_graphs({kg: [triple]}, replace=False)
    assert external.written_since(before, [kg])
    # A SPARQL Update may write to any graph, whichever it seems to name.
    before = external.generation
    external.update(f"INSERT DATA {{ GRAPH <{case}> {{ {triple} }} }}")
    assert external.written_since(before, [kg])
