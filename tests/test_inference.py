"""The inferred graph: the RDFS entailments the ontology declares, written by the rule
``queries/entailment/rdfs.rq`` whenever data is loaded, on the embedded store and on an external
one, so that a consumer without a reasoner finds an article as an ELI subdivision."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS

from conftest import OxigraphServer
from odr_kg import resources
from odr_kg.sparql_store import SparqlEndpointStore
from odr_kg.store import EmbeddedStore, KnowledgeStore
from odr_kg.stores import open_store

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "cases" / "trade-assurance-non-delivery.ttl"
ELI = "http://data.europa.eu/eli/ontology#"
PROV = "http://www.w3.org/ns/prov#"


def ontology() -> rdflib.Graph:
    graph = rdflib.Graph()
    for entry in resources.ontology_files():
        graph.parse(data=entry.read_text(encoding="utf-8"), format="turtle")
    return graph


ONTOLOGY = ontology()
CLASSES = sorted(str(c) for c in ONTOLOGY.subjects(RDF.type, OWL.Class))


def subclasses(cls: str) -> set[str]:
    """``cls`` and every class below it, read from the ontology files with rdflib."""
    return {str(c) for c in ONTOLOGY.transitive_subjects(RDFS.subClassOf, rdflib.URIRef(cls))}


def stated_instances(store: KnowledgeStore, classes: set[str]) -> set[str]:
    """The resources typed with one of ``classes`` in a graph other than the inferred one."""
    inferred = store.graph_iri("inferred")
    values = " ".join(f"<{c}>" for c in sorted(classes))
    return {
        row["x"].value
        for row in store.query(
            f"SELECT DISTINCT ?x WHERE {{ VALUES ?c {{ {values} }} GRAPH ?g {{ ?x a ?c }} "
            f"FILTER (?g != <{inferred}>) }}"
        )
    }


def instances(store: KnowledgeStore, cls: str) -> set[str]:
    return {row["x"].value for row in store.query(f"SELECT DISTINCT ?x WHERE {{ ?x a <{cls}> }}")}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda iri: iri.rsplit("/", 1)[-1])
def test_every_class_finds_the_instances_of_its_subclasses(
    any_store: KnowledgeStore, cls: str
) -> None:
    assert instances(any_store, cls) == stated_instances(any_store, subclasses(cls))


@pytest.mark.parametrize(
    ("cls", "example"),
    [
        (f"{ELI}LegalResourceSubdivision", "eli/alibaba/transaction-dispute-rules/art_24"),
        (f"{ELI}LegalResource", "eli/alibaba/transaction-dispute-rules"),
        ("http://www.w3.org/ns/org#Organization", "id/forum/hkiac"),
        ("https://w3id.org/odr-kg/def/Forum", "id/forum/hkiac"),
        ("http://www.w3.org/2004/02/skos/core#Concept", "id/stage/decision"),
        (f"{PROV}Entity", "id/provision/tdr-apply-within-30-days-of-receipt"),
    ],
)
def test_a_consumer_without_a_reasoner_finds_the_standard_types(
    any_store: KnowledgeStore, cls: str, example: str
) -> None:
    found = instances(any_store, cls)
    assert f"{any_store.base}{example}" in found


def test_nothing_inferred_is_stated_elsewhere(any_store: KnowledgeStore) -> None:
    inferred = any_store.graph_iri("inferred")
    assert any_store.has_graph(inferred)
    assert not any_store.query(
        f"ASK {{ GRAPH <{inferred}> {{ ?s ?p ?o }} GRAPH ?g {{ ?s ?p ?o }} "
        f"FILTER (?g != <{inferred}>) }}"
    )


def test_superproperties_are_materialized() -> None:
    store = EmbeddedStore()
    store.load_packaged()
    graph = f"{store.base}graph/data/derived.ttl"
    based_on = f"{store.base}def/lookup/basedOn"
    store.add_graphs(
        {
            graph: [
                ox.Triple(ox.NamedNode("urn:x:a"), ox.NamedNode(based_on), ox.NamedNode("urn:x:b"))
            ]
        }
    )
    store.infer()
    assert store.query(f"ASK {{ <urn:x:a> <{PROV}wasDerivedFrom> <urn:x:b> }}")


def test_loaded_data_is_inferred_and_removed_data_leaves_nothing_stale() -> None:
    store = EmbeddedStore()
    store.load_packaged()
    graph = store.add_data(str(CASE))
    buyer = "https://example.org/cases/ta-0001/buyer"
    assert buyer in instances(store, f"{PROV}Agent")
    store.clear_graph(graph)
    store.infer()
    assert buyer not in instances(store, f"{PROV}Agent")


def test_the_external_store_is_inferred_when_loaded(
    start_oxigraph: Callable[[], OxigraphServer],
) -> None:
    server = start_oxigraph()
    store = SparqlEndpointStore(server.query, update_endpoint=server.update)
    store.load_packaged()
    store.add_data(str(CASE))
    assert "https://example.org/cases/ta-0001/case" in instances(store, f"{PROV}Entity")


def test_the_dumps_carry_the_inferred_graph(store: KnowledgeStore) -> None:
    trig = store.export("trig").decode()
    assert f"<{store.graph_iri('inferred')}>" in trig
    union = {str(t) for t in ox.parse(store.export("nt"), ox.RdfFormat.N_TRIPLES)}
    article = f"<{store.base}eli/alibaba/transaction-dispute-rules/art_24>"
    assert f"{article} <{RDF.type}> <{ELI}LegalResourceSubdivision>" in union


def test_a_store_on_disk_from_before_the_inferred_graph_gets_one(tmp_path: Path) -> None:
    path = tmp_path / "store"
    store = open_store(path=path)
    store.clear_graph(store.graph_iri("inferred"))
    store.close()
    del store
    reopened = open_store(path=path)
    assert reopened.has_graph(reopened.graph_iri("inferred"))
