"""The knowledge graph conforms to its own shapes, and every resource carries its provenance."""

from __future__ import annotations

import pytest
import rdflib
from rdflib.namespace import DCTERMS, RDF, SH

from odr_kg.namespaces import ODR
from odr_kg.store import KnowledgeStore
from odr_kg.validation import ShapesValidator

BASE = "https://w3id.org/odr-kg/"


@pytest.fixture(scope="module")
def kg_validator(store: KnowledgeStore) -> ShapesValidator:
    return ShapesValidator.for_knowledge_graph(store)


def test_knowledge_graph_conforms_to_its_shapes(kg_validator: ShapesValidator) -> None:
    report = kg_validator.validate(source="kg")
    assert report.conforms, report.text()


@pytest.mark.parametrize(
    ("resource", "predicate", "expected_shape"),
    [
        (
            f"{BASE}eli/alibaba/transaction-dispute-rules/art_24",
            DCTERMS.source,
            f"{BASE}shapes/SourcedResourceSourceShape",
        ),
        (
            f"{BASE}eli/alibaba/transaction-dispute-rules/art_30",
            rdflib.URIRef("http://data.europa.eu/eli/ontology#number"),
            f"{BASE}shapes/ArticleNumberShape",
        ),
        (f"{BASE}id/forum/hkiac", ODR.confidence, f"{BASE}shapes/SourcedResourceConfidenceShape"),
        (
            f"{BASE}eli/alibaba/transaction-services-agreement/art_10.5",
            rdflib.URIRef("http://data.europa.eu/eli/ontology#is_part_of"),
            f"{BASE}shapes/ArticleDocumentShape",
        ),
    ],
)
def test_knowledge_graph_shapes_catch_a_missing_fact(
    kg_validator: ShapesValidator, resource: str, predicate: rdflib.URIRef, expected_shape: str
) -> None:
    broken = rdflib.Graph()
    broken += kg_validator.context
    broken.remove((rdflib.URIRef(resource), predicate, None))
    report = ShapesValidator(kg_validator.shapes, broken).validate(source="broken kg")
    assert not report.conforms
    assert {result.source_shape for result in report.results} == {expected_shape}
    assert {result.focus_node for result in report.results} == {resource}


def test_a_missing_chinese_label_is_reported(kg_validator: ShapesValidator) -> None:
    broken = rdflib.Graph()
    broken += kg_validator.context
    hkiac = rdflib.URIRef(f"{BASE}id/forum/hkiac")
    broken.remove((hkiac, rdflib.RDFS.label, rdflib.Literal("香港国际仲裁中心", lang="zh")))
    report = ShapesValidator(kg_validator.shapes, broken).validate(source="broken kg")
    assert [result.focus_node for result in report.results] == [str(hkiac)]
    assert report.results[0].messages["en"] == "Give a Chinese rdfs:label (@zh)."


def test_every_typed_resource_names_a_source_with_its_address(store: KnowledgeStore) -> None:
    unsourced = store.query(
        f"""
        PREFIX dcterms: <http://purl.org/dc/terms/>
        PREFIX odr: <{BASE}def/>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX schema: <http://schema.org/>
        SELECT DISTINCT ?resource WHERE {{
            GRAPH <{BASE}graph/kg> {{ ?resource a ?type }}
            FILTER NOT EXISTS {{ ?resource dcterms:source/schema:url ?url }}
            # The project's reference list is no web page: it is named by a citation.
            FILTER NOT EXISTS {{ ?resource dcterms:source/dcterms:bibliographicCitation ?cited }}
            FILTER NOT EXISTS {{
                ?resource a/rdfs:subClassOf* odr:Source ;
                          schema:url ?address ;
                          dcterms:source ?address .
            }}
            FILTER NOT EXISTS {{ ?resource a odr:Source ; dcterms:bibliographicCitation ?citation }}
        }}
        """
    )
    assert [row["resource"].value for row in unsourced] == []


def test_hkiac_is_labelled_as_the_public_contract_says(store: KnowledgeStore) -> None:
    assert store.query(
        f"""ASK {{ <{BASE}id/forum/hkiac> <http://www.w3.org/2000/01/rdf-schema#label>
            "Hong Kong International Arbitration Centre"@en }}"""
    )


def test_wikidata_links_are_only_the_listed_ids(store: KnowledgeStore) -> None:
    rows = store.query(
        """PREFIX owl: <http://www.w3.org/2002/07/owl#>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT DISTINCT ?id WHERE {
            ?s owl:sameAs|skos:exactMatch ?id
            FILTER (STRSTARTS(STR(?id), "http://www.wikidata.org/"))
        } ORDER BY ?id"""
    )
    assert [row["id"].value for row in rows] == [
        "http://www.wikidata.org/entity/Q1359568",
        "http://www.wikidata.org/entity/Q148",
        "http://www.wikidata.org/entity/Q8646",
    ]


def test_report_graph_is_shacl(kg_validator: ShapesValidator) -> None:
    report = kg_validator.validate(source="kg")
    assert (None, RDF.type, SH.ValidationReport) in report.graph


def test_each_claim_type_handled_or_not_in_a_channel_is_stated_by_a_provision(
    store: KnowledgeStore,
) -> None:
    """The answer cites the provision (odr:handlesClaim, odr:excludesClaim) for the fact that
    the claim type records (odr:handledIn, odr:notHandledIn): the two must say the same."""

    def pairs(pattern: str) -> set[tuple[str, str, str]]:
        rows = store.query(
            f"""PREFIX odr: <{BASE}def/>
            SELECT DISTINCT ?claim ?channel ?handled WHERE {{ {pattern} }}"""
        )
        return {(r["claim"].value, r["channel"].value, r["handled"].value) for r in rows}

    on_claims = pairs(
        "{ ?claim odr:handledIn ?channel BIND(true AS ?handled) } UNION "
        "{ ?claim odr:notHandledIn ?channel BIND(false AS ?handled) }"
    )
    in_provisions = pairs(
        "?p odr:channel ?channel . "
        "{ ?p odr:handlesClaim ?claim BIND(true AS ?handled) } UNION "
        "{ ?p odr:excludesClaim ?claim BIND(false AS ?handled) }"
    )
    assert on_claims and on_claims == in_provisions


def test_the_reference_list_is_named_as_a_file_not_a_web_address(store: KnowledgeStore) -> None:
    """The project's reference list is domain/FACTS.md beside the repository, not a web page: it
    is cited by name, and no address (least of all the project's own base) stands in for it."""
    rows = store.query(
        f"""
        PREFIX dcterms: <http://purl.org/dc/terms/>
        PREFIX schema: <http://schema.org/>
        SELECT ?identifier ?citation ?url WHERE {{
            <{BASE}id/source/odr-kg-reference-list> dcterms:identifier ?identifier ;
                dcterms:bibliographicCitation ?citation .
            OPTIONAL {{ <{BASE}id/source/odr-kg-reference-list> schema:url|dcterms:source ?url }}
        }}
        """
    )
    assert rows
    for row in rows:
        assert row["identifier"].value == "domain/FACTS.md"
        assert "FACTS.md" in row["citation"].value
        assert row["url"] is None
