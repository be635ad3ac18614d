"""Real SPARQL clients against a live ``odr-kg serve``: SPARQLWrapper and rdflib's SPARQLStore.

Every question in queries/ answers through SPARQLWrapper with the rows its header promises.
"""

from __future__ import annotations

import re
import urllib.error
from collections.abc import Callable

import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, RDFXML, TURTLE, XML, SPARQLWrapper

from odr_kg import resources

pytestmark = pytest.mark.subprocess

QUERIES = resources.data_files("queries")
ROWS = re.compile(r"^#\+ rows: (\d+)$", re.MULTILINE)
OWL_CLASS = "<http://www.w3.org/2002/07/owl#Class>"


@pytest.fixture(scope="module")
def endpoint(start_server: Callable[..., str]) -> str:
    return start_server() + "/sparql"


def wrapper(endpoint: str, query: str, return_format: str, method: str = "GET") -> SPARQLWrapper:
    client = SPARQLWrapper(endpoint, returnFormat=return_format)
    client.setMethod(method)
    client.setQuery(query)
    return client


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_select(endpoint: str, method: str) -> None:
    query = f"SELECT ?c WHERE {{ ?c a {OWL_CLASS} }} ORDER BY ?c LIMIT 3"
    results = wrapper(endpoint, query, JSON, method).queryAndConvert()
    assert len(results["results"]["bindings"]) == 3
    assert results["head"]["vars"] == ["c"]


def test_sparqlwrapper_select_as_xml_and_csv(endpoint: str) -> None:
    query = f"SELECT ?c WHERE {{ ?c a {OWL_CLASS} }} ORDER BY ?c LIMIT 3"
    document = wrapper(endpoint, query, XML).queryAndConvert()
    assert len(document.getElementsByTagName("result")) == 3
    table = wrapper(endpoint, query, CSV).queryAndConvert()
    assert table.decode().splitlines()[0] == "c"


def test_sparqlwrapper_ask(endpoint: str) -> None:
    assert wrapper(endpoint, f"ASK {{ ?c a {OWL_CLASS} }}", JSON).queryAndConvert()["boolean"]
    assert not wrapper(endpoint, "ASK { <urn:x:none> ?p ?o }", JSON).queryAndConvert()["boolean"]


def test_sparqlwrapper_construct(endpoint: str) -> None:
    query = f"CONSTRUCT {{ ?c a {OWL_CLASS} }} WHERE {{ ?c a {OWL_CLASS} }}"
    graph = wrapper(endpoint, query, TURTLE).queryAndConvert()
    assert len(rdflib.Graph().parse(data=graph, format="turtle")) > 3
    # SPARQLWrapper's own RDF/XML conversion uses rdflib's deprecated ConjunctiveGraph.
    with wrapper(endpoint, query, RDFXML).query().response as response:
        assert response.headers.get_content_type() == "application/rdf+xml"
        assert len(rdflib.Graph().parse(data=response.read(), format="xml")) > 3


def test_sparqlwrapper_update_is_refused(endpoint: str) -> None:
    client = SPARQLWrapper(endpoint)
    client.setMethod("POST")
    client.setQuery("CLEAR ALL")
    with pytest.raises(urllib.error.HTTPError) as refusal:
        client.query()
    refusal.value.close()
    assert refusal.value.code == 403


@pytest.mark.parametrize("entry", QUERIES, ids=lambda entry: entry.name)
def test_every_question_answers_through_sparqlwrapper(endpoint: str, entry) -> None:
    text = entry.read_text(encoding="utf-8")
    promised = ROWS.search(text)
    assert promised is not None, "the question has no #+ rows: header"
    results = wrapper(endpoint, text, JSON).queryAndConvert()
    assert len(results["results"]["bindings"]) == int(promised.group(1))


def test_rdflib_sparqlstore_select_ask_construct(endpoint: str) -> None:
    graph = rdflib.Graph(SPARQLStore(endpoint, returnFormat="xml"))
    try:
        rows = list(graph.query(f"SELECT ?c WHERE {{ ?c a {OWL_CLASS} }} ORDER BY ?c LIMIT 3"))
        assert len(rows) == 3 and all(isinstance(row[0], rdflib.URIRef) for row in rows)
        assert graph.query(f"ASK {{ ?c a {OWL_CLASS} }}").askAnswer is True
        constructed = graph.query(
            f"CONSTRUCT {{ ?c a {OWL_CLASS} }} WHERE {{ ?c a {OWL_CLASS} }}"
        ).graph
        assert constructed is not None and len(constructed) > 3
        assert (None, rdflib.RDF.type, rdflib.OWL.Class) in graph
    finally:
        graph.close()
