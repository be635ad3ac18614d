"""The dataset as a whole: its VoID and DCAT description, the documentation of its ontology
and a JSON-LD context for it. The fixed part of the description (title, publisher, license,
dates) is data, ``dataset.ttl`` beside this module; counts, dumps, subsets and links are
computed from the store. Nothing here imports Flask."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.resources import files

import pyoxigraph as ox

from odr_kg import formats, resources
from odr_kg.namespaces import odr_namespace
from odr_kg.store import GRAPH_NAMES, KnowledgeStore

VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
# The vocabularies the dataset uses, besides its own.
VOCABULARIES = (
    "http://data.europa.eu/eli/ontology#",
    "http://www.w3.org/2004/02/skos/core#",
    "http://www.w3.org/ns/prov#",
    "http://purl.org/dc/terms/",
    "http://www.w3.org/ns/org#",
    "http://schema.org/",
)
# The predicates of links to other datasets: one void:Linkset per predicate and target site.
LINK_PREDICATES = (
    "http://www.w3.org/2002/07/owl#sameAs",
    "http://www.w3.org/2004/02/skos/core#exactMatch",
    "http://www.w3.org/2000/01/rdf-schema#seeAlso",
)


@functools.cache
def fixed_description(base: str) -> tuple[ox.Triple, ...]:
    """The statements of ``dataset.ttl``, rebased."""
    text = resources.rebase((files("odr_kg") / "dataset.ttl").read_text(encoding="utf-8"), base)
    return tuple(ox.parse(text, ox.RdfFormat.TURTLE))


def dataset_description(store: KnowledgeStore, site: str) -> list[ox.Triple]:
    """A VoID and DCAT description of the dataset served at ``site`` (ending in ``/``)."""
    dataset = ox.NamedNode(f"{store.base}dataset")

    def iri(value: str) -> ox.NamedNode:
        return ox.NamedNode(value)

    def count(value: int) -> ox.Literal:
        return ox.Literal(str(value), datatype=XSD_INTEGER)

    triples = [
        *fixed_description(store.base),
        ox.Triple(dataset, RDF_TYPE, iri(f"{VOID}Dataset")),
        ox.Triple(dataset, RDF_TYPE, iri(f"{DCAT}Dataset")),
        ox.Triple(dataset, iri(f"{VOID}uriSpace"), ox.Literal(store.base)),
        ox.Triple(dataset, iri(f"{VOID}triples"), count(store.distinct_triple_count())),
        ox.Triple(dataset, iri(f"{VOID}sparqlEndpoint"), iri(f"{site}sparql")),
        ox.Triple(dataset, iri(f"{VOID}vocabulary"), iri(odr_namespace(store.base))),
    ]
    for vocabulary in VOCABULARIES:
        triples.append(ox.Triple(dataset, iri(f"{VOID}vocabulary"), iri(vocabulary)))
    for suffix, media_type in DUMP_MEDIA_TYPES.items():
        dump = iri(f"{site}dump.{suffix}")
        distribution = ox.NamedNode(f"{site}dump.{suffix}#distribution")
        triples += [
            ox.Triple(dataset, iri(f"{VOID}dataDump"), dump),
            ox.Triple(dataset, iri(f"{DCAT}distribution"), distribution),
            ox.Triple(distribution, RDF_TYPE, iri(f"{DCAT}Distribution")),
            ox.Triple(distribution, iri(f"{DCAT}downloadURL"), dump),
            ox.Triple(
                distribution,
                iri(f"{DCAT}mediaType"),
                iri(f"https://www.iana.org/assignments/media-types/{media_type}"),
            ),
        ]
    sizes = store.graph_sizes()
    for name in GRAPH_NAMES:
        subset = iri(store.graph_iri(name))
        triples += [
            ox.Triple(dataset, iri(f"{VOID}subset"), subset),
            ox.Triple(subset, RDF_TYPE, iri(f"{VOID}Dataset")),
            ox.Triple(subset, iri(f"{VOID}triples"), count(sizes.get(subset.value, 0))),
        ]
    return triples + linksets(store, dataset, f"{site}.well-known/void")


def linksets(store: KnowledgeStore, dataset: ox.NamedNode, document: str) -> list[ox.Triple]:
    """One void:Linkset (named in ``document``) per link predicate and target site of the
    knowledge graph's links to other datasets."""
    values = " ".join(f"<{predicate}>" for predicate in LINK_PREDICATES)
    rows = store.query(
        f"""SELECT ?predicate ?site (COUNT(*) AS ?links) WHERE {{
          VALUES ?predicate {{ {values} }}
          GRAPH <{store.graph_iri("kg")}> {{ ?s ?predicate ?o }}
          BIND (REPLACE(STR(?o), "^(https?://[^/]+/).*$", "$1") AS ?site)
        }} GROUP BY ?predicate ?site ORDER BY ?predicate ?site"""
    )
    triples = []
    for row in rows:
        site = row["site"].value
        name = site.split("//", 1)[-1].strip("/").removeprefix("www.")
        predicate = row["predicate"].value
        linkset = ox.NamedNode(f"{document}#links-{name}-{predicate.rsplit('#', 1)[-1]}")
        triples += [
            ox.Triple(dataset, ox.NamedNode(f"{VOID}subset"), linkset),
            ox.Triple(linkset, RDF_TYPE, ox.NamedNode(f"{VOID}Linkset")),
            ox.Triple(linkset, ox.NamedNode(f"{VOID}linkPredicate"), ox.NamedNode(predicate)),
            ox.Triple(linkset, ox.NamedNode(f"{VOID}target"), dataset),
            ox.Triple(linkset, ox.NamedNode(f"{VOID}target"), ox.NamedNode(site)),
            ox.Triple(linkset, ox.NamedNode(f"{VOID}triples"), row["links"]),
        ]
    return triples


# Dump file suffixes and their media types; the suffix is also the store's export format name.
DUMP_MEDIA_TYPES = {
    fmt.extension: fmt.media_type for fmt in formats.named("ntriples", "turtle", "jsonld", "trig")
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
    namespace = odr_namespace(store.base)
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
        "odr": odr_namespace(store.base),
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
    namespace = odr_namespace(store.base)
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
