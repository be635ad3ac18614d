"""Describing one resource of the dataset, for dereferenceable IRIs, and the dataset itself.

A resource's description is every statement with the resource as subject (its properties)
and every statement with it as object (its incoming links), from all named graphs, without
duplicates. Nothing here imports Flask: the web layer only negotiates the format.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from odr_kg.store import KnowledgeStore

LABEL_PREDICATES = (
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://www.w3.org/2004/02/skos/core#prefLabel",
)
SOURCE = "http://purl.org/dc/terms/source"
URL = "http://schema.org/url"
CONFIDENCE = "https://w3id.org/odr-kg/def/confidence"


@dataclass(frozen=True)
class ResourceDescription:
    """What the dataset says about one IRI, and what points at it."""

    iri: str
    outgoing: list[ox.Triple]
    incoming: list[ox.Triple]
    labels: dict[str, dict[str, str]]

    def triples(self) -> list[ox.Triple]:
        return self.outgoing + self.incoming

    def label(self, iri: str, lang: str = "en") -> str | None:
        by_language = self.labels.get(iri, {})
        return (
            by_language.get(lang) or by_language.get("en") or next(iter(by_language.values()), None)
        )


def describe(store: KnowledgeStore, iri: str) -> ResourceDescription | None:
    """The description of ``iri``, or ``None`` when the dataset says nothing of it."""
    node = ox.NamedNode(iri)
    outgoing = _distinct(
        ox.Triple(node, row["p"], row["o"])
        for row in store.query(f"SELECT DISTINCT ?p ?o WHERE {{ {node} ?p ?o }}")
    )
    incoming = _distinct(
        ox.Triple(row["s"], row["p"], node)
        for row in store.query(f"SELECT DISTINCT ?s ?p WHERE {{ ?s ?p {node} }}")
    )
    if not outgoing and not incoming:
        return None
    return ResourceDescription(
        iri, outgoing, incoming, labels_of(store, _iris_in(outgoing + incoming))
    )


def labels_of(store: KnowledgeStore, iris: Iterable[str]) -> dict[str, dict[str, str]]:
    """The English and Chinese labels (rdfs:label or skos:prefLabel) of ``iris``."""
    values = " ".join(str(ox.NamedNode(iri)) for iri in sorted(set(iris)))
    if not values:
        return {}
    predicates = "|".join(f"<{predicate}>" for predicate in LABEL_PREDICATES)
    labels: dict[str, dict[str, str]] = {}
    for row in store.query(
        f"SELECT ?x ?label WHERE {{ VALUES ?x {{ {values} }} ?x {predicates} ?label }}"
    ):
        literal = row["label"]
        labels.setdefault(row["x"].value, {}).setdefault(literal.language or "", literal.value)
    return labels


def _iris_in(triples: Iterable[ox.Triple]) -> set[str]:
    return {
        term.value
        for triple in triples
        for term in (triple.subject, triple.predicate, triple.object)
        if isinstance(term, ox.NamedNode)
    }


def _distinct(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    return sorted(
        set(triples),
        key=lambda triple: (str(triple.predicate), str(triple.object), str(triple.subject)),
    )


def dataset_description(store: KnowledgeStore, site: str) -> list[ox.Triple]:
    """A VoID and DCAT description of the dataset served at ``site`` (ending in ``/``)."""
    void = "http://rdfs.org/ns/void#"
    dcat = "http://www.w3.org/ns/dcat#"
    dcterms = "http://purl.org/dc/terms/"
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    dataset = ox.NamedNode(f"{store.base}dataset")

    def iri(value: str) -> ox.NamedNode:
        return ox.NamedNode(value)

    triples = [
        ox.Triple(dataset, rdf_type, iri(f"{void}Dataset")),
        ox.Triple(dataset, rdf_type, iri(f"{dcat}Dataset")),
        ox.Triple(dataset, iri(f"{dcterms}title"), ox.Literal("odr-kg", language="en")),
        ox.Triple(
            dataset,
            iri(f"{dcterms}description"),
            ox.Literal(
                "How disputes over cross-border trade on Alibaba.com are resolved: stages, "
                "rule documents and articles, forums, remedies, time limits, treaties, each "
                "fact with its source and confidence.",
                language="en",
            ),
        ),
        ox.Triple(
            dataset, iri(f"{dcterms}license"), iri("https://creativecommons.org/licenses/by/4.0/")
        ),
        ox.Triple(dataset, iri(f"{void}uriSpace"), ox.Literal(store.base)),
        ox.Triple(
            dataset,
            iri(f"{void}triples"),
            ox.Literal(
                str(store.distinct_triple_count()),
                datatype=iri("http://www.w3.org/2001/XMLSchema#integer"),
            ),
        ),
        ox.Triple(dataset, iri(f"{void}sparqlEndpoint"), iri(f"{site}sparql")),
        ox.Triple(dataset, iri(f"{void}vocabulary"), iri(f"{store.base}def/")),
    ]
    for vocabulary in (
        "http://data.europa.eu/eli/ontology#",
        "http://www.w3.org/2004/02/skos/core#",
        "http://www.w3.org/ns/prov#",
        "http://purl.org/dc/terms/",
        "http://www.w3.org/ns/org#",
        "http://schema.org/",
    ):
        triples.append(ox.Triple(dataset, iri(f"{void}vocabulary"), iri(vocabulary)))
    for suffix, media_type in DUMP_MEDIA_TYPES.items():
        dump = iri(f"{site}dump.{suffix}")
        distribution = ox.NamedNode(f"{site}dump.{suffix}#distribution")
        triples += [
            ox.Triple(dataset, iri(f"{void}dataDump"), dump),
            ox.Triple(dataset, iri(f"{dcat}distribution"), distribution),
            ox.Triple(distribution, rdf_type, iri(f"{dcat}Distribution")),
            ox.Triple(distribution, iri(f"{dcat}downloadURL"), dump),
            ox.Triple(
                distribution,
                iri(f"{dcat}mediaType"),
                iri(f"https://www.iana.org/assignments/media-types/{media_type}"),
            ),
        ]
    for name in ("ontology", "shapes", "kg"):
        subset = iri(store.graph_iri(name))
        triples += [
            ox.Triple(dataset, iri(f"{void}subset"), subset),
            ox.Triple(subset, rdf_type, iri(f"{void}Dataset")),
        ]
    return triples


# Dump file suffixes and their media types; the suffix is also the store's export format name.
DUMP_MEDIA_TYPES = {
    "nt": "application/n-triples",
    "ttl": "text/turtle",
    "jsonld": "application/ld+json",
    "trig": "application/trig",
}


@dataclass(frozen=True)
class TermDoc:
    """One ontology term as its documentation page shows it."""

    iri: str
    name: str
    labels: dict[str, str]
    definition: str
    parents: list[str]
    domain: list[str]
    range: list[str]


def ontology_terms(store: KnowledgeStore, kind: str) -> list[TermDoc]:
    """The classes (``kind="class"``) or properties (``"property"``) of the ontology graph."""
    types = {
        "class": "<http://www.w3.org/2002/07/owl#Class>",
        "property": "<http://www.w3.org/2002/07/owl#ObjectProperty> "
        "<http://www.w3.org/2002/07/owl#DatatypeProperty>",
    }[kind]
    namespace = f"{store.base}def/"
    query = f"""
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?term ?label ?definition ?parent ?domain ?range WHERE {{
            GRAPH <{store.graph_iri("ontology")}> {{
                VALUES ?type {{ {types} }}
                ?term a ?type ; rdfs:label ?label ; skos:definition ?definition .
                OPTIONAL {{ ?term rdfs:subClassOf|rdfs:subPropertyOf ?parent }}
                OPTIONAL {{ ?term rdfs:domain ?domain }}
                OPTIONAL {{ ?term rdfs:range ?range }}
            }}
        }}"""
    terms: dict[str, dict] = {}
    for row in store.query(query):
        iri = row["term"].value
        entry = terms.setdefault(
            iri,
            {
                "labels": {},
                "definition": row["definition"].value,
                "parents": set(),
                "domain": set(),
                "range": set(),
            },
        )
        entry["labels"][row["label"].language] = row["label"].value
        for key in ("parent", "domain", "range"):
            if row[key] is not None:
                entry["parents" if key == "parent" else key].add(row[key].value)
    return [
        TermDoc(
            iri=iri,
            name=iri.removeprefix(namespace),
            labels=entry["labels"],
            definition=entry["definition"],
            parents=sorted(entry["parents"]),
            domain=sorted(entry["domain"]),
            range=sorted(entry["range"]),
        )
        for iri, entry in sorted(terms.items())
    ]


def jsonld_context(store: KnowledgeStore) -> dict[str, object]:
    """A JSON-LD context for our vocabulary: each term by its local name; object properties
    typed ``@id``, datatype properties typed by their range."""
    context: dict[str, object] = {
        "odr": f"{store.base}def/",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "schema": "http://schema.org/",
        "id": "@id",
        "type": "@type",
    }
    query = f"""
        PREFIX owl: <http://www.w3.org/2002/07/owl#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?term ?type ?range WHERE {{
            GRAPH <{store.graph_iri("ontology")}> {{
                VALUES ?type {{ owl:Class owl:ObjectProperty owl:DatatypeProperty }}
                ?term a ?type .
                OPTIONAL {{ ?term rdfs:range ?range }}
            }}
        }} ORDER BY ?term"""
    namespace = f"{store.base}def/"
    for row in store.query(query):
        iri = row["term"].value
        name = iri.removeprefix(namespace)
        if "/" in name:  # a term of another vocabulary under def/, e.g. def/lookup/
            continue
        kind = row["type"].value.rsplit("#", 1)[-1]
        if kind == "Class":
            context[name] = iri
        elif kind == "ObjectProperty":
            context[name] = {"@id": iri, "@type": "@id"}
        elif row["range"] is not None and row["range"].value.startswith(
            "http://www.w3.org/2001/XMLSchema#"
        ):
            context[name] = {"@id": iri, "@type": row["range"].value}
        else:
            context[name] = {"@id": iri}
    return {"@context": context}
