"""/sparql through the Flask test client: the protocol, its errors and content negotiation."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from flask import Flask
from flask.testing import FlaskClient

from conftest import free_port
from odr_kg import cli
from odr_kg.rdf import split_data_option
from odr_kg.sparql_tokens import keywords
from odr_kg.store import KnowledgeStore
from odr_kg.web import create_app

ASK = "ASK {}"
SELECT = "SELECT ?s WHERE { ?s a ?type } ORDER BY ?s LIMIT 2"
CONSTRUCT = "CONSTRUCT { ?s a ?type } WHERE { ?s a ?type } LIMIT 2"
DATA_IRI = "http://example.org/cases/one"


@pytest.fixture
def client(any_app: Flask) -> FlaskClient:
    """Each test here runs on the embedded store and on an Oxigraph server."""
    return any_app.test_client()


@pytest.fixture(scope="module")
def case_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "case one.ttl"
    path.write_text("<http://example.org/case/1> a <http://example.org/Case> .\n")
    return path


@pytest.fixture(scope="module")
def data_app(case_file: Path) -> Flask:
    return create_app({"TESTING": True, "DATA_FILES": [f"{case_file}={DATA_IRI}", str(case_file)]})


@pytest.fixture
def data_client(data_app: Flask) -> FlaskClient:
    return data_app.test_client()


def boolean(response) -> bool:
    return json.loads(response.data)["boolean"]


# Content negotiation ------------------------------------------------------------------------

NEGOTIATION = [
    # (query, Accept, format parameter, expected media type)
    (SELECT, None, None, "application/sparql-results+json"),
    (SELECT, "*/*", None, "application/sparql-results+json"),
    (SELECT, "application/sparql-results+json", None, "application/sparql-results+json"),
    (SELECT, "application/sparql-results+xml", None, "application/sparql-results+xml"),
    (SELECT, "text/csv", None, "text/csv"),
    (SELECT, "text/tab-separated-values", None, "text/tab-separated-values"),
    (SELECT, "text/csv;q=0.5, text/tab-separated-values", None, "text/tab-separated-values"),
    (SELECT, "text/csv", "json", "application/sparql-results+json"),
    (SELECT, None, "xml", "application/sparql-results+xml"),
    (SELECT, None, "tsv", "text/tab-separated-values"),
    (ASK, None, None, "application/sparql-results+json"),
    (ASK, "application/sparql-results+xml", None, "application/sparql-results+xml"),
    (ASK, None, "xml", "application/sparql-results+xml"),
    (CONSTRUCT, None, None, "text/turtle"),
    (CONSTRUCT, "*/*", None, "text/turtle"),
    (CONSTRUCT, "application/n-triples", None, "application/n-triples"),
    (CONSTRUCT, "application/ld+json", None, "application/ld+json"),
    (CONSTRUCT, "application/rdf+xml", None, "application/rdf+xml"),
    (CONSTRUCT, "application/trig", None, "application/trig"),
    (CONSTRUCT, "application/n-quads", None, "application/n-quads"),
    (CONSTRUCT, "text/turtle", "ntriples", "application/n-triples"),
    (CONSTRUCT, None, "jsonld", "application/ld+json"),
    (CONSTRUCT, None, "rdfxml", "application/rdf+xml"),
    (CONSTRUCT, None, "turtle", "text/turtle"),
    (CONSTRUCT, None, "", "text/turtle"),
    (SELECT, None, "", "application/sparql-results+json"),
    (
        "DESCRIBE ?c WHERE { ?c a <http://www.w3.org/2002/07/owl#Class> } LIMIT 1",
        None,
        None,
        "text/turtle",
    ),
]


@pytest.mark.parametrize(("query", "accept", "fmt", "media_type"), NEGOTIATION)
def test_content_negotiation(
    client: FlaskClient, query: str, accept: str | None, fmt: str | None, media_type: str
) -> None:
    params = {"query": query} | ({"format": fmt} if fmt is not None else {})
    headers = {"Accept": accept} if accept else {}
    response = client.get("/sparql", query_string=params, headers=headers)
    assert response.status_code == 200, response.data
    assert response.mimetype == media_type
    assert "Accept" in response.vary
    rdf_format = ox.RdfFormat.from_media_type(media_type)
    if rdf_format is not None:
        assert list(ox.parse(response.data, rdf_format, base_iri="http://localhost/"))


@pytest.mark.parametrize(
    ("query", "accept", "fmt"),
    [
        (SELECT, "text/turtle", None),
        (ASK, "text/csv", None),
        (CONSTRUCT, "application/sparql-results+json", None),
        (SELECT, None, "turtle"),
        (CONSTRUCT, None, "csv"),
        (SELECT, None, "nonsense"),
    ],
)
def test_not_acceptable(client: FlaskClient, query: str, accept: str | None, fmt: str | None):
    params = {"query": query} | ({"format": fmt} if fmt else {})
    headers = {"Accept": accept} if accept else {}
    response = client.get("/sparql", query_string=params, headers=headers)
    assert response.status_code == 406
    assert response.mimetype == "text/plain"


# The protocol ---------------------------------------------------------------------------------


def test_query_by_get_post_form_and_post_direct(client: FlaskClient) -> None:
    by_get = client.get("/sparql", query_string={"query": SELECT})
    by_form = client.post("/sparql", data={"query": SELECT})
    direct = client.post("/sparql", data=SELECT, content_type="application/sparql-query")
    assert by_get.status_code == by_form.status_code == direct.status_code == 200
    assert by_get.data == by_form.data == direct.data
    assert len(json.loads(by_get.data)["results"]["bindings"]) == 2


def test_the_default_graph_is_the_union(client: FlaskClient, store: KnowledgeStore) -> None:
    query = "ASK { ?s ?p ?o FILTER NOT EXISTS { GRAPH ?g { ?s ?p ?o } } }"
    assert boolean(client.get("/sparql", query_string={"query": query})) is False
    for name in ("ontology", "shapes", "kg"):
        ask = f"ASK {{ GRAPH <{store.graph_iri(name)}> {{ ?s ?p ?o }} }}"
        assert boolean(client.get("/sparql", query_string={"query": ask})) is True


def test_default_and_named_graph_uri_select_our_graphs(
    client: FlaskClient, store: KnowledgeStore
) -> None:
    kg, ontology = store.graph_iri("kg"), store.graph_iri("ontology")
    ask_class = "ASK { ?c a <http://www.w3.org/2002/07/owl#Class> }"
    assert boolean(client.get("/sparql", query_string={"query": ask_class})) is True
    only_kg = {"query": ask_class, "default-graph-uri": kg}
    assert boolean(client.get("/sparql", query_string=only_kg)) is False
    both = {"query": ask_class, "default-graph-uri": [kg, ontology]}
    assert boolean(client.get("/sparql", query_string=both)) is True
    named = {"query": "SELECT DISTINCT ?g { GRAPH ?g {} }", "named-graph-uri": kg}
    rows = json.loads(client.get("/sparql", query_string=named).data)["results"]["bindings"]
    assert [row["g"]["value"] for row in rows] == [kg]


def test_an_unknown_graph_is_empty_and_never_fetched(client: FlaskClient) -> None:
    params = {"query": "ASK { ?s ?p ?o }", "default-graph-uri": "http://127.0.0.1:9/nothing"}
    response = client.get("/sparql", query_string=params)
    assert response.status_code == 200
    assert boolean(response) is False


def test_from_names_the_dataset(client: FlaskClient, store: KnowledgeStore) -> None:
    query = f"ASK FROM <{store.graph_iri('kg')}> {{ ?c a <http://www.w3.org/2002/07/owl#Class> }}"
    assert boolean(client.get("/sparql", query_string={"query": query})) is False


def test_data_files_are_named_graphs(data_client: FlaskClient, case_file: Path) -> None:
    query = "SELECT ?g { GRAPH ?g { <http://example.org/case/1> a ?t } } ORDER BY ?g"
    rows = json.loads(data_client.get("/sparql", query_string={"query": query}).data)
    graphs = [row["g"]["value"] for row in rows["results"]["bindings"]]
    assert graphs == [DATA_IRI, "https://w3id.org/odr-kg/graph/data/case%20one.ttl"]


@pytest.mark.parametrize(
    ("method", "kwargs", "status", "message"),
    [
        ("get", {"query_string": "query=ASK%7B%7D&query=ASK%7B%7D"}, 400, "given 2 times"),
        ("post", {"data": {"query": [ASK, ASK]}}, 400, "given 2 times"),
        (
            "post",
            {
                "query_string": {"query": ASK},
                "data": ASK,
                "content_type": "application/sparql-query",
            },
            400,
            "remove the query parameter",
        ),
        ("post", {"data": {"nothing": "here"}}, 400, "no query parameter"),
        ("get", {"query_string": {"query": "ASK {"}}, 400, "error at 1:"),
        ("post", {"data": ASK, "content_type": "text/plain"}, 415, "text/plain"),
        ("post", {"data": ASK}, 415, "no Content-Type"),
        (
            "post",
            {
                "data": ASK.encode("utf-16"),
                "content_type": "application/sparql-query; charset=UTF-16",
            },
            415,
            "UTF-8",
        ),
        (
            "post",
            {"data": b"ASK {} \xff", "content_type": "application/sparql-query"},
            400,
            "not UTF-8",
        ),
        ("get", {"query_string": {"query": ASK, "default-graph-uri": "relative"}}, 400, "IRI"),
        ("get", {"query_string": {"update": "CLEAR ALL"}}, 403, "read-only"),
        ("post", {"data": {"update": "CLEAR ALL"}}, 403, "read-only"),
        (
            "post",
            {"data": "CLEAR ALL", "content_type": "application/sparql-update"},
            403,
            "read-only",
        ),
        (
            "get",
            {"query_string": {"query": "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"}},
            400,
            "SERVICE",
        ),
        (
            "get",
            {"query_string": {"query": "SELECT * { service silent ?x { ?s ?p ?o } }"}},
            400,
            "SERVICE",
        ),
        ("get", {"query_string": {"query": "LOAD <http://127.0.0.1:9/>"}}, 400, "LOAD"),
        ("put", {"query_string": {"query": ASK}}, 405, ""),
        ("delete", {}, 405, ""),
    ],
)
def test_errors(client: FlaskClient, method: str, kwargs: dict, status: int, message: str) -> None:
    response = getattr(client, method)("/sparql", **kwargs)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    if status != 405:
        assert response.mimetype == "text/plain"


# What SERVICE detection must not be fooled by --------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        'SELECT * { ?s ?p "SERVICE <http://example.org/> {}" }',
        "SELECT * { ?s ?p '''LOAD\n<http://example.org/>''' }",
        "SELECT * { ?s a <http://schema.org/Service> }",
        "PREFIX service: <http://example.org/>\nSELECT * { ?s service:load ?o }",
        "SELECT ?service { ?service ?p ?o } # SERVICE <http://example.org/> {}",
    ],
)
def test_service_in_strings_iris_names_and_comments_is_allowed(
    client: FlaskClient, query: str
) -> None:
    assert "SERVICE" not in keywords(query) and "LOAD" not in keywords(query)
    assert client.get("/sparql", query_string={"query": query}).status_code == 200


def test_service_hidden_behind_a_less_than_is_found() -> None:
    query = "SELECT * { VALUES ?x { <http://e/> } FILTER(?a<?b)SERVICE?x#>\n{ ?s ?p ?o } }"
    assert "SERVICE" in keywords(query)


# The service description and the page ---------------------------------------------------------


@pytest.mark.parametrize("accept", [None, "text/turtle", "application/rdf+xml", "*/*"])
def test_service_description(data_client: FlaskClient, accept: str | None) -> None:
    headers = {"Accept": accept} if accept else {}
    response = data_client.get("/sparql", headers=headers)
    assert response.status_code == 200
    graph = rdflib.Graph().parse(
        data=response.data, format="xml" if accept == "application/rdf+xml" else "turtle"
    )
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    service = rdflib.URIRef("http://localhost/sparql")
    assert (service, sd.endpoint, service) in graph
    names = {str(name) for name in graph.objects(None, sd.name)}
    assert DATA_IRI in names
    assert {
        f"https://w3id.org/odr-kg/graph/{name}" for name in ("ontology", "shapes", "kg")
    } <= names


def test_the_page_for_browsers(client: FlaskClient) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/sparql", headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<textarea id="query" name="query"' in page
    assert "<script>" not in page and "//cdn" not in page
    assert "01-articles-grounding-each-decision-family.rq" in page
    assert "Which Transaction Dispute Rules articles ground each decision family" in page
    script = client.get("/static/build/sparql-editor.js")
    assert script.status_code == 200
    script.close()


# odr-kg serve --data -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("cases/a.ttl", ("cases/a.ttl", None)),
        ("cases/a.ttl=http://example.org/g", ("cases/a.ttl", "http://example.org/g")),
        ("a=b.ttl", ("a=b.ttl", None)),
        ("a=b.ttl=urn:x:g?a=b", ("a=b.ttl", "urn:x:g?a=b")),
    ],
)
def test_data_option(option: str, expected: tuple[str, str | None]) -> None:
    assert split_data_option(option) == expected


@pytest.mark.parametrize(
    ("option", "message"),
    [("no-such-file.ttl", "cannot read no-such-file.ttl"), ("{case}=urn:x y", "absolute IRI")],
)
def test_serve_refuses_bad_data(
    option: str, message: str, case_file: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # The web process, started by serve's master process, says why on the same stderr.
    port = str(free_port())
    arguments = ["serve", "--port", port, "--data", option.format(case=case_file)]
    assert cli.main(arguments) == cli.EXIT_USAGE
    assert message in capfd.readouterr().err
