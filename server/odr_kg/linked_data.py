"""Describing one resource of the dataset for its page and its dereferenceable IRI.

A resource's description is every statement with the resource as subject (its properties)
and every statement with it as object (its incoming links), from all named graphs, without
duplicates; those of the inferred graph are marked as such. A page names every term by its
label: ours from the ontology graph, those of the vocabularies we reuse from ``labels.ttl``
beside this module, which also orders a page's properties into groups. Nothing here imports
Flask: the web layer only negotiates the format.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.resources import files

import pyoxigraph as ox

from odr_kg import resources
from odr_kg.namespaces import odr_term
from odr_kg.store import INFERRED_GRAPH_NAME, KnowledgeStore

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS = "http://www.w3.org/2004/02/skos/core#"
LABEL_PREDICATES = (RDFS_LABEL, f"{SKOS}prefLabel")
# The group of a property that no group of labels.ttl names.
DEFAULT_GROUP = "content"
WEB_SCHEMES = ("http://", "https://")


@dataclass(frozen=True)
class PropertyGroup:
    """A heading of a resource page and the properties under it, each with its values."""

    notation: str
    labels: dict[str, str]
    rows: list[tuple[str, list[ox.Term]]] = field(default_factory=list)


@dataclass(frozen=True)
class PageVocabulary:
    """How pages present terms: labels by IRI and language, and the ordered property groups
    (notation, labels, members)."""

    labels: dict[str, dict[str, str]]
    groups: list[tuple[str, dict[str, str], list[str]]]

    def group_of(self, predicate: str) -> tuple[str, int]:
        """The notation of the group ``predicate`` belongs to, and its place in the group."""
        for notation, _, members in self.groups:
            if predicate in members:
                return notation, members.index(predicate)
        return DEFAULT_GROUP, len(self.labels)


@functools.cache
def page_vocabulary(base: str = resources.DEFAULT_BASE) -> PageVocabulary:
    """``labels.ttl`` read once per base."""
    text = resources.rebase((files("odr_kg") / "labels.ttl").read_text(encoding="utf-8"), base)
    store = ox.Store()
    store.load(text, ox.RdfFormat.TURTLE)
    labels: dict[str, dict[str, str]] = {}
    for row in store.query(f"SELECT ?x ?label WHERE {{ ?x <{RDFS_LABEL}> ?label }}"):
        labels.setdefault(row["x"].value, {})[row["label"].language or ""] = row["label"].value
    members: dict[str, list[str]] = {}
    for row in store.query(
        f"""PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
        PREFIX skos: <{SKOS}>
        SELECT ?notation ?member (COUNT(?step) AS ?position) WHERE {{
          ?group skos:notation ?notation ; skos:memberList/rdf:rest* ?step .
          ?step rdf:rest* ?node . ?node rdf:first ?member .
        }} GROUP BY ?notation ?member ORDER BY ?notation ?position"""
    ):
        members.setdefault(row["notation"].value, []).append(row["member"].value)
    groups = []
    for row in store.query(
        f"""PREFIX skos: <{SKOS}>
        SELECT ?notation ?en ?zh WHERE {{
          ?group a skos:OrderedCollection ; skos:notation ?notation ;
                 skos:prefLabel ?en , ?zh .
          FILTER (lang(?en) = "en" && lang(?zh) = "zh")
        }}"""
    ):
        notation = row["notation"].value
        labels_by_language = {"en": row["en"].value, "zh": row["zh"].value}
        groups.append((notation, labels_by_language, members.get(notation, [])))
    order = ["identity", "content", "links", "provenance"]
    groups.sort(key=lambda group: order.index(group[0]) if group[0] in order else len(order))
    return PageVocabulary(labels, groups)


@dataclass(frozen=True)
class ResourceDescription:
    """What the dataset says about one IRI, and what points at it."""

    iri: str
    outgoing: list[ox.Triple]
    incoming: list[ox.Triple]
    labels: dict[str, dict[str, str]]
    inferred: frozenset[ox.Triple] = frozenset()
    vocabulary: PageVocabulary | None = None

    def triples(self) -> list[ox.Triple]:
        return self.outgoing + self.incoming

    def label(self, iri: str, lang: str = "en") -> str | None:
        by_language = self.labels.get(iri, {})
        return (
            by_language.get(lang) or by_language.get("en") or next(iter(by_language.values()), None)
        )

    def is_inferred(self, predicate: str, value: ox.Term) -> bool:
        """Whether the statement (this resource, ``predicate``, ``value``) is inferred."""
        subject = ox.NamedNode(self.iri)
        return ox.Triple(subject, ox.NamedNode(predicate), value) in self.inferred

    def values(self, predicate: str) -> list[ox.Term]:
        return [t.object for t in self.outgoing if t.predicate.value == predicate]

    def confidence(self, base: str) -> list[ox.Term]:
        """The confidence levels the dataset, published under ``base``, gives this resource."""
        return self.values(odr_term("confidence", base))

    def groups(self) -> list[PropertyGroup]:
        """The properties in the page's groups and order; within a group, properties that no
        group lists come after the listed ones, by IRI."""
        vocabulary = self.vocabulary or page_vocabulary()
        by_predicate: dict[str, list[ox.Term]] = {}
        for triple in self.outgoing:
            by_predicate.setdefault(triple.predicate.value, []).append(triple.object)
        groups = {
            notation: PropertyGroup(notation, labels) for notation, labels, _ in vocabulary.groups
        }
        placed = sorted(by_predicate, key=lambda p: (vocabulary.group_of(p)[1], p))
        for predicate in placed:
            notation = vocabulary.group_of(predicate)[0]
            groups[notation].rows.append((predicate, by_predicate[predicate]))
        return [group for group in groups.values() if group.rows]


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
    inferred_graph = ox.NamedNode(store.graph_iri(INFERRED_GRAPH_NAME))
    inferred = frozenset(
        ox.Triple(node, row["p"], row["o"])
        for row in store.query(
            f"SELECT ?p ?o WHERE {{ GRAPH {inferred_graph} {{ {node} ?p ?o }} }}"
        )
    )
    return ResourceDescription(
        iri,
        outgoing,
        incoming,
        labels_of(store, _iris_in(outgoing + incoming)),
        inferred,
        page_vocabulary(store.base),
    )


def labels_of(store: KnowledgeStore, iris: Iterable[str]) -> dict[str, dict[str, str]]:
    """The labels (rdfs:label or skos:prefLabel) of ``iris`` by language: the dataset's, else
    those ``labels.ttl`` gives the terms of other vocabularies."""
    wanted = sorted(set(iris))
    labels = {
        iri: dict(page_vocabulary(store.base).labels[iri])
        for iri in wanted
        if iri in page_vocabulary(store.base).labels
    }
    values = " ".join(str(ox.NamedNode(iri)) for iri in wanted)
    if not values:
        return labels
    predicates = "|".join(f"<{predicate}>" for predicate in LABEL_PREDICATES)
    found: dict[str, dict[str, str]] = {}
    for row in store.query(
        f"SELECT ?x ?label WHERE {{ VALUES ?x {{ {values} }} ?x {predicates} ?label }}"
    ):
        literal = row["label"]
        found.setdefault(row["x"].value, {}).setdefault(literal.language or "", literal.value)
    labels.update(found)
    return labels


def is_web_iri(iri: str) -> bool:
    """Whether ``iri`` may become a link on a page: only http and https IRIs do; a
    ``javascript:``, ``data:`` or ``file:`` IRI from loaded data or a query never does."""
    return iri.lower().startswith(WEB_SCHEMES)


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
