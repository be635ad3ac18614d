"""Procedure lookup: which stages apply to a dispute, what Alibaba can decide and advance, where
to object, by when, and on what legal basis.

The reasoning is data: the SPARQL CONSTRUCT rules in ``queries/rules/*.rq`` run, in file-name
order, over the knowledge graph and a small case graph built from the request's facts; each rule
sees what the earlier ones derived, down to the caveats and reasons in words. Those in
``queries/rules/kg/`` follow from the knowledge graph alone (each statement's legal basis, the
names of things in each language) and run once. Python only gathers the facts (from JSON, a web
form, the command line or a Turtle/JSON-LD case graph), runs the rules and frames what they
derived into the JSON answer by ``ontology/lookup-answer.frame.json`` (:mod:`odr_kg.answer_frame`).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
import rdflib

from odr_kg import resources
from odr_kg.answer_frame import AnswerFrame, Framing
from odr_kg.lookup_facts import (
    ENUMERATED_FIELDS,
    REQUESTER_ROLE_CLASSES,
    Facts,
    FactsReader,
)
from odr_kg.namespaces import odr_term
from odr_kg.store import KnowledgeStore, used_prefixes

if TYPE_CHECKING:
    from odr_kg.validation import CaseStatements

RULES_FOLDER = "rules"
# The lookups one thread's copy of the knowledge graph serves before it is made anew
# (LookupEngine._thread_store).
RENEW_AFTER = 100
KNOWLEDGE_RULES_FOLDER = "rules/kg"

XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
SCHEMA = "http://schema.org/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_DOMAIN = "http://www.w3.org/2000/01/rdf-schema#domain"


@dataclass
class Answer:
    """The answer to a lookup: the JSON of the API and the graph it was shaped from."""

    json: dict[str, Any]
    statements: list[ox.Triple] = field(repr=False)
    prefixes: dict[str, str] = field(repr=False)

    @functools.cached_property
    def triples(self) -> list[ox.Triple]:
        """The case graph and the derived statements, each once, in one order. Sorted only
        when asked for (the Turtle answer): most lookups want the JSON alone."""
        return sorted(set(self.statements), key=str)

    def turtle(self) -> bytes:
        """The case graph and the derived statements, in Turtle."""
        return ox.serialize(
            self.triples,
            format=ox.RdfFormat.TURTLE,
            prefixes=used_prefixes(self.triples, self.prefixes),
        )


class LookupEngine:
    """Runs the lookup rules over the knowledge graph of ``store`` and one case at a time."""

    def __init__(self, store: KnowledgeStore) -> None:
        self.base = store.base
        self.knowledge = ox.Store()
        self._per_thread = threading.local()
        # A copy of the ontology and the knowledge graph, whichever store holds them: the rules
        # write each case's derivations beside it, which a shared or remote store must not see.
        # Copied in one order, so that the answer's lists come out in the same order from any
        # store (the copy iterates in insertion order).
        self.knowledge.extend(
            sorted(
                (
                    ox.Quad(quad.subject, quad.predicate, quad.object, ox.DefaultGraph())
                    for name in ("ontology", "kg")
                    for quad in store.quads(store.graph_iri(name))
                ),
                key=lambda quad: (str(quad.subject), str(quad.predicate), str(quad.object)),
            )
        )
        # What follows from the knowledge graph alone (each statement's legal basis, the names
        # of things in each language of the answer) is derived once, beside it.
        for _name, rule in load_rules(store.base, KNOWLEDGE_RULES_FOLDER):
            self.knowledge.extend(
                ox.Quad(t.subject, t.predicate, t.object) for t in self.knowledge.query(rule)
            )
        self._index: dict[str, dict[str, list[ox.NamedNode | ox.Literal | ox.BlankNode]]] = (
            defaultdict(lambda: defaultdict(list))
        )
        for quad in self.knowledge:
            if isinstance(quad.subject, ox.NamedNode):
                objects = self._index[quad.subject.value][quad.predicate.value]
                if quad.object not in objects:
                    objects.append(quad.object)
        self._instances_of: dict[str, list[str]] = {}
        self.rules = load_rules(store.base)
        self.frame = AnswerFrame(store.base)
        self.framing = Framing(self.frame, self)
        self._name = self.frame.iri("lookup:name")
        self.prefixes = {**store.prefixes, "lookup": self.frame.prefixes["lookup"]}
        self.vocabulary = self._vocabulary()
        self.reader = FactsReader(self)

    # The knowledge graph ------------------------------------------------------------------

    def values(self, subject: str, predicate: str) -> list[Any]:
        return self._index.get(subject, {}).get(predicate, [])

    def iris(self, subject: str, predicate: str) -> list[str]:
        return [o.value for o in self.values(subject, predicate) if isinstance(o, ox.NamedNode)]

    def first(self, subject: str, predicate: str) -> str | None:
        values = self.values(subject, predicate)
        return values[0].value if values else None

    def label(self, iri: str, lang: str = "en") -> str:
        """The name of ``iri`` in ``lang`` (else in English), as the knowledge-graph rule
        kg/20-names gives it in each language of the answer; else its last segment."""
        names = {
            name.language: name.value
            for name in self.values(iri, self._name)
            if isinstance(name, ox.Literal)
        }
        return names.get(lang) or names.get("en") or re.split(r"[/#]", iri.rstrip("/"))[-1]

    def notation(self, iri: str) -> str | None:
        return self.first(iri, SKOS + "notation")

    def case_property(self, event: str) -> str | None:
        """The name of the case's property that dates ``event`` (``receivedOn``), if any."""
        prop = self.first(event, odr_term("caseProperty", self.base))
        return prop.rsplit("/", 1)[-1] if prop else None

    def _instances(self, class_name: str) -> list[str]:
        return self.instances(odr_term(class_name, self.base))

    def instances(self, cls: str) -> list[str]:
        """The instances of the class ``cls`` in the knowledge graph, sorted."""
        if cls not in self._instances_of:
            self._instances_of[cls] = sorted(
                subject
                for subject, predicates in self._index.items()
                if any(o.value == cls for o in predicates.get(RDF_TYPE, []))
            )
        return self._instances_of[cls]

    def _vocabulary(self) -> dict[str, dict[str, str]]:
        """For each enumerated request key, its allowed notations and the concept of each."""
        vocabulary: dict[str, dict[str, str]] = {}
        for key, class_name in ENUMERATED_FIELDS.items():
            concepts = self._instances(class_name)
            if key == "role":
                classes = {odr_term(name, self.base) for name in REQUESTER_ROLE_CLASSES}
                concepts = [
                    c
                    for c in concepts
                    if set(self.iris(c, odr_term("roleOf", self.base))) & classes
                ]
            if key == "notYet":
                # The events of the order a case dates (confirmed receipt, the goods' receipt),
                # which may also not have happened yet.
                order = odr_term("TransactionContract", self.base)
                concepts = [
                    c
                    for c in concepts
                    if any(
                        order in self.iris(p, RDFS_DOMAIN)
                        for p in self.iris(c, odr_term("caseProperty", self.base))
                    )
                ]
            vocabulary[key] = {
                notation: concept
                for concept in concepts
                if (notation := self.notation(concept)) is not None
            }
        return vocabulary

    def vocabulary_json(self, lang: str = "en") -> dict[str, list[dict[str, str]]]:
        """The allowed values of each enumerated request key, with their concepts and labels."""
        return {
            key: [
                {"id": notation, "iri": iri, "label": self.label(iri, lang)}
                for notation, iri in concepts.items()
            ]
            for key, concepts in self.vocabulary.items()
        }

    # Running the rules -----------------------------------------------------------------------

    def lookup(self, facts: Facts, lang: str = "en") -> Answer:
        """Run the rules over the case graph of ``facts`` and shape the answer."""
        case_triples = self.case_triples(facts)
        derived = self._run_rules(case_triples)
        answer = self.answer(derived, case_triples[0].subject.value, lang)
        return Answer(json=answer, statements=case_triples + derived, prefixes=self.prefixes)

    def answer(self, derived: Iterable[ox.Triple], case: str, lang: str = "en") -> dict[str, Any]:
        """The JSON answer for ``case``, framed from what the rules ``derived`` for it."""
        return self.framing.answer(derived, case, lang)

    def _run_rules(self, case_triples: list[ox.Triple]) -> list[ox.Triple]:
        """The statements the rules derive from ``case_triples`` and the knowledge graph.

        Each thread has its own copy of the knowledge graph, so the case and what the rules
        derive from it can sit in the default graph beside it (a single graph is about twice
        as fast to query as a union of two) and be taken out again afterwards.
        """
        store = self._thread_store()
        added: list[ox.Quad] = []

        def add(triples: Iterable[ox.Triple]) -> None:
            quads = [ox.Quad(t.subject, t.predicate, t.object) for t in triples]
            fresh = [quad for quad in quads if quad not in store]
            store.extend(fresh)
            added.extend(fresh)

        derived: list[ox.Triple] = []
        try:
            add(case_triples)
            for _name, rule in self.rules:
                result = list(store.query(rule))
                add(result)
                derived.extend(result)
        finally:
            for quad in added:
                store.remove(quad)
        return derived

    def _thread_store(self) -> ox.Store:
        """This thread's copy of the knowledge graph, renewed after :data:`RENEW_AFTER`
        lookups: pyoxigraph's in-memory store keeps each statement taken out of it (marked
        removed, never freed) and, for a statement added and taken out again, each time it
        was, so a copy that took many cases reads ever slower (twice as slow after some 600
        lookups). A new copy costs about as much as one lookup."""
        store = getattr(self._per_thread, "store", None)
        uses = getattr(self._per_thread, "uses", 0)
        if store is None or uses >= RENEW_AFTER:
            store = ox.Store()
            store.extend(self.knowledge)
            self._per_thread.store = store
            uses = 0
        self._per_thread.uses = uses + 1
        return store

    def case_triples(self, facts: Facts, case: ox.NamedNode | None = None) -> list[ox.Triple]:
        """The case graph of ``facts`` in the project's vocabulary: the case ``case`` (whose
        findings the rules derive; ``urn:odr-kg:lookup:case`` by default) and, when ``case`` is
        given, blank nodes for its transaction, parties and amounts, so that many case graphs
        can share a store."""
        named = case is None

        def node(name: str) -> ox.NamedNode | ox.BlankNode:
            return ox.NamedNode(f"urn:odr-kg:lookup:{name}") if named else ox.BlankNode()

        if case is None:
            case = ox.NamedNode("urn:odr-kg:lookup:case")
        order = node("order")
        party = node("complainant")

        def iri(name: str) -> ox.NamedNode:
            return ox.NamedNode(odr_term(name, self.base))

        def date(value: dt.date) -> ox.Literal:
            return ox.Literal(value.isoformat(), datatype=ox.NamedNode(XSD + "date"))

        role_class = next(
            c for c in self.iris(self.vocabulary["role"][facts.role], odr_term("roleOf", self.base))
        )
        rdf_type = ox.NamedNode(RDF_TYPE)
        triples = [
            ox.Triple(case, rdf_type, iri("Case")),
            ox.Triple(
                case, iri("channel"), ox.NamedNode(self.vocabulary["channel"][facts.channel])
            ),
            ox.Triple(case, iri("claimType"), ox.NamedNode(self.vocabulary["claim"][facts.claim])),
            ox.Triple(case, iri("complainant"), party),
            ox.Triple(party, rdf_type, ox.NamedNode(role_class)),
            ox.Triple(case, iri("transaction"), order),
            ox.Triple(order, rdf_type, iri("TransactionContract")),
            ox.Triple(case, ox.NamedNode(self.frame.iri("lookup:asOf")), date(facts.as_of)),
        ]
        for prop, money in (("amountPaid", facts.paid), ("guaranteeAmount", facts.guarantee)):
            if money is not None:
                amount = node(prop)
                triples += [
                    ox.Triple(order, iri(prop), amount),
                    ox.Triple(amount, rdf_type, ox.NamedNode(SCHEMA + "MonetaryAmount")),
                    ox.Triple(
                        amount,
                        ox.NamedNode(SCHEMA + "value"),
                        ox.Literal(str(money.amount), datatype=ox.NamedNode(XSD + "decimal")),
                    ),
                    ox.Triple(
                        amount, ox.NamedNode(SCHEMA + "currency"), ox.Literal(money.currency)
                    ),
                ]
        if facts.received_on is not None:
            triples.append(ox.Triple(order, iri("receivedOn"), date(facts.received_on)))
        if facts.goods_received_on is not None:
            triples.append(ox.Triple(order, iri("goodsReceivedOn"), date(facts.goods_received_on)))
        if facts.opened_on is not None:
            triples.append(ox.Triple(case, iri("openedOn"), date(facts.opened_on)))
        for event in facts.not_yet:
            triples.append(
                ox.Triple(order, iri("notYet"), ox.NamedNode(self.vocabulary["notYet"][event]))
            )
        clause = node("forum-clause")
        triples += [
            ox.Triple(order, iri("forumClause"), clause),
            ox.Triple(clause, rdf_type, iri("ForumClause")),
            ox.Triple(
                clause,
                iri("forumChoice"),
                ox.NamedNode(self.vocabulary["contractForum"][facts.contract_forum]),
            ),
        ]
        if facts.clause_forum is not None:
            triples.append(ox.Triple(clause, iri("forum"), ox.NamedNode(facts.clause_forum)))
        if facts.contract_forum_exclusive is not None:
            triples.append(
                ox.Triple(
                    clause,
                    iri("exclusiveJurisdiction"),
                    ox.Literal(
                        "true" if facts.contract_forum_exclusive else "false",
                        datatype=ox.NamedNode(XSD + "boolean"),
                    ),
                )
            )
        if facts.dissatisfied:
            objection = node("objection")
            triples += [
                ox.Triple(case, iri("objection"), objection),
                ox.Triple(objection, rdf_type, iri("Objection")),
            ]
        return triples

    # Reading the facts (odr_kg.lookup_facts) -------------------------------------------------

    def facts_from_json(self, request: Any, today: dt.date | None = None) -> Facts:
        """The facts of a JSON request (see the API contract); raise :class:`LookupInputError`
        naming the first problem, with every problem of the request in its ``errors``."""
        return self.reader.from_json(request, today)

    def facts_from_case(
        self,
        case_graph: rdflib.Graph | CaseStatements,
        as_of: dt.date | None = None,
        dissatisfied: bool | None = None,
    ) -> Facts:
        """The facts of a case graph (``odr:Case`` with its transaction contract)."""
        return self.reader.from_case(case_graph, as_of, dissatisfied)

    def claims_of_role(self, role: str) -> list[str]:
        """The claim types a party in ``role`` can bring, as the knowledge graph says."""
        return self.reader.claims_of_role(role)


def load_rules(
    base: str = resources.DEFAULT_BASE, folder_name: str = RULES_FOLDER
) -> list[tuple[str, str]]:
    """The lookup rules, ``(file name, SPARQL)`` in file-name order, rebased onto ``base``:
    those run for each case, or (``KNOWLEDGE_RULES_FOLDER``) those run once over the knowledge
    graph."""
    folder = resources.data_dir("queries")
    for part in folder_name.split("/"):
        folder = folder / part
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".rq")),
        key=lambda entry: entry.name,
    )
    return [(entry.name, resources.read_data_text(entry, base)) for entry in entries]
