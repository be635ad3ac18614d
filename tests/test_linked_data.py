"""Dereferenceable IRIs, dumps and the VoID/DCAT description, through the Flask test client."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient

from odr_kg.web import create_app


@pytest.fixture
def client(any_app: Flask) -> FlaskClient:
    """Each test here runs on the embedded store and on an Oxigraph server."""
    return any_app.test_client()


BASE = "https://w3id.org/odr-kg/"
HKIAC = "/id/forum/hkiac"


@pytest.mark.parametrize(
    ("accept", "status", "media_type"),
    [
        (None, 200, "text/html"),
        ("*/*", 200, "text/html"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 200, "text/html"),
        ("text/turtle", 200, "text/turtle"),
        ("application/ld+json", 200, "application/ld+json"),
        ("application/n-triples", 200, "application/n-triples"),
        ("application/ld+json;q=0.5, text/turtle", 200, "text/turtle"),
        ("image/png", 406, "text/html"),
    ],
)
def test_content_negotiation(
    client: FlaskClient, accept: str | None, status: int, media_type: str
) -> None:
    response = client.get(HKIAC, headers={"Accept": accept} if accept else {})
    assert response.status_code == status
    assert response.mimetype == media_type


@pytest.mark.parametrize(
    ("suffix", "rdf_format"),
    [
        (".ttl", ox.RdfFormat.TURTLE),
        (".jsonld", ox.RdfFormat.JSON_LD),
        (".nt", ox.RdfFormat.N_TRIPLES),
    ],
)
def test_suffix_gives_the_format_and_the_description_parses(
    client: FlaskClient, suffix: str, rdf_format: ox.RdfFormat
) -> None:
    path = "/eli/alibaba/trade-assurance-rules/part_A/art_2.4"
    response = client.get(path + suffix)
    assert response.status_code == 200
    triples = {quad.triple for quad in ox.parse(response.data, rdf_format)}
    article = ox.NamedNode(BASE + path.lstrip("/"))
    number = ox.NamedNode("http://data.europa.eu/eli/ontology#number")
    assert ox.Triple(article, number, ox.Literal("2.4")) in triples
    # incoming links are part of the description: the stage and remedies grounded in it
    assert any(triple.object == article for triple in triples)


def test_html_page_shows_both_labels_sources_and_confidence(client: FlaskClient) -> None:
    page = client.get(HKIAC, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Hong Kong International Arbitration Centre" in page
    assert "香港国际仲裁中心" in page
    assert 'href="/id/source/gan-hkiac-2024-rules"' in page
    assert 'href="/id/confidence/high"' in page
    assert "What links here" in page


@pytest.mark.parametrize("base", [BASE, "https://example.org/odr/"])
def test_confidence_line_at_any_base(base: str) -> None:
    app = create_app({"TESTING": True, "BASE": base})
    page = app.test_client().get(HKIAC, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert '<p class="confidence">Confidence:' in page
    assert 'href="/id/confidence/high"' in page


def test_chinese_page(client: FlaskClient) -> None:
    page = client.get(HKIAC + "?lang=zh").get_data(as_text=True)
    assert "<h1>香港国际仲裁中心</h1>" in page


def test_ontology_and_terms_dereference(client: FlaskClient) -> None:
    assert client.get("/def", headers={"Accept": "text/turtle"}).status_code == 200
    assert client.get("/def/legalBasis").status_code == 200
    assert client.get("/shapes/CaseShape.ttl").status_code == 200


def test_unknown_iri_is_404_with_a_message(client: FlaskClient) -> None:
    response = client.get("/id/forum/nowhere")
    assert response.status_code == 404
    assert "says nothing about" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("suffix", "rdf_format"),
    [
        ("nt", ox.RdfFormat.N_TRIPLES),
        ("ttl", ox.RdfFormat.TURTLE),
        ("jsonld", ox.RdfFormat.JSON_LD),
        ("trig", ox.RdfFormat.TRIG),
    ],
)
def test_dumps_hold_the_whole_dataset(
    client: FlaskClient, store, suffix: str, rdf_format: ox.RdfFormat
) -> None:
    response = client.get(f"/dump.{suffix}")
    assert response.status_code == 200
    triples = {quad.triple for quad in ox.parse(response.data, rdf_format)}
    assert len(triples) == len(store.union_triples())


def test_void_description(client: FlaskClient) -> None:
    response = client.get("/.well-known/void")
    assert response.mimetype == "text/turtle"
    triples = list(ox.parse(response.data, ox.RdfFormat.TURTLE))
    predicates = {quad.predicate.value for quad in triples}
    assert "http://rdfs.org/ns/void#sparqlEndpoint" in predicates
    assert "http://www.w3.org/ns/dcat#distribution" in predicates
    dumps = {
        quad.object.value
        for quad in triples
        if quad.predicate.value == "http://rdfs.org/ns/void#dataDump"
    }
    assert dumps == {
        f"http://localhost/dump.{suffix}" for suffix in ("nt", "ttl", "jsonld", "trig")
    }


def test_ontology_documentation_page_is_generated_from_the_ontology(client: FlaskClient) -> None:
    page = client.get("/def", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "45 classes, 139 properties" in page
    assert 'id="lookup/applies"' in page
    assert 'id="AdvanceRefund"' in page
    assert "先行退款" in page
    assert "http://data.europa.eu/eli/ontology#LegalResourceSubdivision" in page


def test_jsonld_context_expands_a_case_to_our_terms(client: FlaskClient) -> None:
    response = client.get("/context.jsonld")
    assert response.mimetype == "application/ld+json"
    context = response.get_json()["@context"]
    assert context["legalBasis"] == {"@id": BASE + "def/legalBasis", "@type": "@id"}
    assert context["receivedOn"]["@type"] == "http://www.w3.org/2001/XMLSchema#date"
    document = {
        "@context": context,
        "id": "https://example.org/case/1",
        "type": "Case",
        "openedOn": "2026-10-20",
    }
    import json

    triples = {quad.triple for quad in ox.parse(json.dumps(document), ox.RdfFormat.JSON_LD)}
    assert (
        ox.Triple(
            ox.NamedNode("https://example.org/case/1"),
            ox.NamedNode(BASE + "def/openedOn"),
            ox.Literal(
                "2026-10-20", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")
            ),
        )
        in triples
    )
