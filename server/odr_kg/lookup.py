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
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
import rdflib
from rdflib.namespace import RDF

from odr_kg import resources
from odr_kg.answer_frame import AnswerFrame, CaseGraph, Framer
from odr_kg.store import KnowledgeStore, used_prefixes

if TYPE_CHECKING:
    from odr_kg.validation import CaseStatements

RULES_FOLDER = "rules"
KNOWLEDGE_RULES_FOLDER = "rules/kg"
MAX_AMOUNT_DIGITS = 18

XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SCHEMA = "http://schema.org/"
DCTERMS = "http://purl.org/dc/terms/"
ELI = "http://data.europa.eu/eli/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

# The request keys that name a concept of the knowledge graph, with the class of the concepts.
ENUMERATED_FIELDS = {
    "role": "PartyRole",
    "channel": "Channel",
    "claim": "ClaimType",
    "contractForum": "ForumChoice",
}
# The party roles a requester can have: those played by a party to the transaction.
REQUESTER_ROLE_CLASSES = ("Buyer", "Seller")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
# Plain decimal notation only: an exponent ("5E+3", "1E+999999999") is refused, so no amount
# changes its meaning between the request, the rules and the answer.
AMOUNT_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)?$")
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The keys of a JSON request; any other key is refused, by name.
REQUEST_KEYS = (
    "role",
    "channel",
    "claim",
    "paid",
    "guarantee",
    "receivedOn",
    "goodsReceivedOn",
    "openedOn",
    "asOf",
    "dissatisfiedWithDecision",
    "contractForum",
    "contractForumExclusive",
)
# The forum choices whose clause may be exclusive or not (the Chinese courts are open to a
# buyer only without an exclusive foreign-court clause: CJO, "Can I sue a supplier in China").
EXCLUSIVE_CHOICES = ("foreign-court",)


class LookupInputError(ValueError):
    """A fact of the request is missing or not acceptable. ``field`` names it; ``allowed``
    lists the values an enumeration accepts. The request is well formed but its facts are not
    acceptable: HTTP 422."""

    status = 422

    def __init__(
        self,
        field_name: str,
        message: str,
        allowed: Iterable[str] = (),
        others: Iterable[LookupInputError] = (),
    ) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message
        self.allowed = list(allowed)
        # Every problem of the request, this one first, so that a form can show them all.
        self.errors = [self, *others]

    def _one_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.allowed:
            error["allowed"] = self.allowed
        return error

    def to_json(self) -> dict[str, Any]:
        error = self._one_json()
        if len(self.errors) > 1:
            error["errors"] = [problem._one_json() for problem in self.errors]
        return error


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str



@dataclass(frozen=True)
class Facts:
    """The facts of one dispute, as notations of the knowledge graph's concepts."""

    role: str
    channel: str
    claim: str
    as_of: dt.date
    paid: Money | None = None
    guarantee: Money | None = None
    received_on: dt.date | None = None
    dissatisfied: bool = False
    contract_forum: str = "unknown"
    opened_on: dt.date | None = None
    goods_received_on: dt.date | None = None
    clause_forum: str | None = None
    # Whether the contract's foreign-court clause is exclusive; None: not known.
    contract_forum_exclusive: bool | None = None


@dataclass
class Answer:
    """The answer to a lookup: the JSON of the API and the graph it was shaped from."""

    json: dict[str, Any]
    triples: list[ox.Triple] = field(repr=False)
    prefixes: dict[str, str] = field(repr=False)

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
        odr = store.base + "def/"
        self._odr = odr
        self._lookup_ns = odr + "lookup/"
        self._store = ox.Store()
        self._per_thread = threading.local()
        # A copy of the ontology and the knowledge graph, whichever store holds them: the rules
        # write each case's derivations beside it, which a shared or remote store must not see.
        # Copied in one order, so that the answer's lists come out in the same order from any
        # store (the copy iterates in insertion order).
        self._store.extend(
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
            self._store.extend(
                ox.Quad(t.subject, t.predicate, t.object) for t in self._store.query(rule)
            )
        self._index: dict[str, dict[str, list[ox.NamedNode | ox.Literal | ox.BlankNode]]] = (
            defaultdict(lambda: defaultdict(list))
        )
        for quad in self._store:
            if isinstance(quad.subject, ox.NamedNode):
                objects = self._index[quad.subject.value][quad.predicate.value]
                if quad.object not in objects:
                    objects.append(quad.object)
        self._instances_of: dict[str, list[str]] = {}
        self._bases: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._texts: dict[tuple[str, tuple[str, ...], str], str | None] = {}
        self.rules = load_rules(store.base)
        self.frame = AnswerFrame(store.base)
        self.prefixes = {**store.prefixes, "lookup": self._lookup_ns}
        self.vocabulary = self._vocabulary()

    # The knowledge graph ------------------------------------------------------------------

    def _values(self, subject: str, predicate: str) -> list[Any]:
        return self._index.get(subject, {}).get(predicate, [])

    def _iris(self, subject: str, predicate: str) -> list[str]:
        return [o.value for o in self._values(subject, predicate) if isinstance(o, ox.NamedNode)]

    def _first(self, subject: str, predicate: str) -> str | None:
        values = self._values(subject, predicate)
        return values[0].value if values else None

    def label(self, iri: str, lang: str = "en") -> str:
        """The preferred label of ``iri`` in ``lang``, else in English, else its last segment."""
        return (
            self.text(iri, (SKOS + "prefLabel", RDFS + "label"), lang)
            or re.split(r"[/#]", iri.rstrip("/"))[-1]
        )

    def text(self, iri: str, predicates: Iterable[str], lang: str = "en") -> str | None:
        """The first of ``predicates`` that gives ``iri`` a literal in ``lang``, else in
        English; ``None`` when none does. Of the knowledge graph alone, which the engine never
        changes: each is looked up once (an answer asks for about a hundred labels and frames)."""
        key = (iri, tuple(predicates), lang)
        if key not in self._texts:
            self._texts[key] = self._read_text(iri, key[1], lang)
        return self._texts[key]

    def _read_text(self, iri: str, predicates: Iterable[str], lang: str) -> str | None:
        for predicate in predicates:
            literals = [o for o in self._values(iri, predicate) if isinstance(o, ox.Literal)]
            for wanted in (lang, "en"):
                for literal in literals:
                    if literal.language == wanted:
                        return literal.value
        return None

    def notation(self, iri: str) -> str | None:
        return self._first(iri, SKOS + "notation")

    def _instances(self, class_name: str) -> list[str]:
        return self.instances(self._odr + class_name)

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
                classes = {self._odr + name for name in REQUESTER_ROLE_CLASSES}
                concepts = [
                    c for c in concepts if set(self._iris(c, self._odr + "roleOf")) & classes
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
        triples = sorted(set(case_triples) | set(derived), key=str)
        return Answer(json=answer, triples=triples, prefixes=self.prefixes)

    def answer(self, derived: Iterable[ox.Triple], case: str, lang: str = "en") -> dict[str, Any]:
        """The JSON answer for ``case``, framed from what the rules ``derived`` for it."""
        return Framer(self, CaseGraph(self, derived), lang).answer(case)

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
        store = getattr(self._per_thread, "store", None)
        if store is None:
            store = ox.Store()
            store.extend(self._store)
            self._per_thread.store = store
        return store

    def case_triples(self, facts: Facts, case: ox.NamedNode | None = None) -> list[ox.Triple]:
        """The case graph of ``facts`` in the project's vocabulary: the case ``case`` (whose
        findings the rules derive; ``urn:odr-kg:lookup:case`` by default) and, when ``case`` is
        given, blank nodes for its transaction, parties and amounts, so that many case graphs
        can share a store."""
        odr = self._odr

        named = case is None

        def node(name: str) -> ox.NamedNode | ox.BlankNode:
            return ox.NamedNode(f"urn:odr-kg:lookup:{name}") if named else ox.BlankNode()

        if case is None:
            case = ox.NamedNode("urn:odr-kg:lookup:case")
        order = node("order")
        party = node("complainant")

        def iri(name: str) -> ox.NamedNode:
            return ox.NamedNode(odr + name)

        def date(value: dt.date) -> ox.Literal:
            return ox.Literal(value.isoformat(), datatype=ox.NamedNode(XSD + "date"))

        role_class = next(
            c for c in self._iris(self.vocabulary["role"][facts.role], odr + "roleOf")
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
            ox.Triple(case, ox.NamedNode(self._lookup_ns + "asOf"), date(facts.as_of)),
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

    # Reading the facts ------------------------------------------------------------------------

    def facts_from_json(self, request: Any, today: dt.date | None = None) -> Facts:
        """The facts of a JSON request (see the API contract); raise :class:`LookupInputError`
        naming the first problem, with every problem of the request in its ``errors``."""
        if not isinstance(request, Mapping):
            raise LookupInputError("(body)", "the request must be a JSON object")
        problems: list[LookupInputError] = []

        def read(parse: Any, *arguments: Any) -> Any:
            try:
                return parse(*arguments)
            except LookupInputError as problem:
                problems.append(problem)
                return None

        for key in request:
            if key not in REQUEST_KEYS:
                problems.append(
                    LookupInputError(str(key), "is not a key of the lookup request", REQUEST_KEYS)
                )
        values = {key: read(self._enumerated, request, key) for key in ("role", "channel", "claim")}
        contract_forum = (
            read(self._enumerated, request, "contractForum")
            if request.get("contractForum") is not None
            else "unknown"
        )
        exclusive_key = "contractForumExclusive"
        exclusive = read(_exclusive, request.get(exclusive_key), contract_forum, exclusive_key)
        paid = read(_money, request.get("paid"), "paid")
        guarantee = read(_money, request.get("guarantee"), "guarantee")
        read(_same_currency, paid, guarantee)
        dissatisfied = request.get("dissatisfiedWithDecision", False)
        if dissatisfied is None:
            dissatisfied = False
        if not isinstance(dissatisfied, bool):
            problems.append(
                LookupInputError(
                    "dissatisfiedWithDecision", "must be true or false", ["true", "false"]
                )
            )
        received_on = read(parse_date, request.get("receivedOn"), "receivedOn")
        goods_received_on = read(parse_date, request.get("goodsReceivedOn"), "goodsReceivedOn")
        opened_on = read(parse_date, request.get("openedOn"), "openedOn")
        as_of = read(parse_date, request.get("asOf"), "asOf") or today or dt.date.today()
        if values["role"] and values["claim"]:
            read(self._check_claimant, values["role"], values["claim"])
        for name, date in (
            ("receivedOn", received_on),
            ("goodsReceivedOn", goods_received_on),
            ("openedOn", opened_on),
        ):
            if date is not None and date > as_of:
                problems.append(
                    LookupInputError(
                        name, f"{date.isoformat()} is after asOf ({as_of.isoformat()})"
                    )
                )
        if problems:
            first, *others = problems
            raise LookupInputError(first.field, first.message, first.allowed, others)
        return Facts(
            role=values["role"],
            channel=values["channel"],
            claim=values["claim"],
            as_of=as_of,
            paid=paid,
            guarantee=guarantee,
            received_on=received_on,
            dissatisfied=dissatisfied,
            contract_forum=contract_forum,
            opened_on=opened_on,
            goods_received_on=goods_received_on,
            contract_forum_exclusive=exclusive,
        )

    def claims_of_role(self, role: str) -> list[str]:
        """The claim types a party in ``role`` can bring, as the knowledge graph says."""
        role_iri = self.vocabulary["role"][role]
        return [
            notation
            for notation, claim in self.vocabulary["claim"].items()
            if role_iri in self._iris(claim, self._odr + "claimedBy")
        ]

    def _check_claimant(self, role: str, claim: str) -> None:
        allowed = self.claims_of_role(role)
        if claim not in allowed:
            raise LookupInputError(
                "claim",
                f"a {role} cannot bring the claim {claim!r}; the claims a {role} can bring are "
                "listed",
                allowed,
            )

    def _enumerated(self, request: Mapping[str, Any], key: str) -> str:
        allowed = self.vocabulary[key]
        value = request.get(key)
        if value is None or value == "":
            raise LookupInputError(key, "is required", allowed)
        if not isinstance(value, str) or value not in allowed:
            raise LookupInputError(key, f"unknown value {value!r}", allowed)
        return value

    def facts_from_case(
        self,
        case_graph: rdflib.Graph | CaseStatements,
        as_of: dt.date | None = None,
        dissatisfied: bool | None = None,
    ) -> Facts:
        """The facts of a case graph (``odr:Case`` with its transaction contract), as an rdflib
        graph or its statements (:class:`~odr_kg.validation.CaseStatements`, read the same).

        The complainant's class gives the role; an ``odr:objection`` says the party is
        dissatisfied with the decision, unless ``dissatisfied`` says otherwise.
        """
        odr = rdflib.Namespace(self._odr)
        cases = sorted(set(case_graph.subjects(RDF.type, odr.Case)), key=str)
        if len(cases) != 1:
            raise LookupInputError(
                "odr:Case", f"the graph must describe one case, not {len(cases)}"
            )
        (case,) = cases

        def concept(prop: rdflib.URIRef, key: str, subject: rdflib.term.Node = case) -> str:
            value = case_graph.value(subject, prop)
            by_iri = {iri: notation for notation, iri in self.vocabulary[key].items()}
            if value is None:
                raise LookupInputError(f"odr:{prop.split('/')[-1]}", "is required", by_iri.values())
            if str(value) not in by_iri:
                raise LookupInputError(
                    f"odr:{prop.split('/')[-1]}", f"unknown value <{value}>", by_iri.values()
                )
            return by_iri[str(value)]

        complainant = case_graph.value(case, odr.complainant)
        classes = (
            {str(c) for c in case_graph.objects(complainant, RDF.type)} if complainant else set()
        )
        roles = [
            notation
            for notation, iri in self.vocabulary["role"].items()
            if set(self._iris(iri, self._odr + "roleOf")) & classes
        ]
        if len(roles) != 1:
            raise LookupInputError(
                "odr:complainant", "must be one odr:Buyer or odr:Seller", self.vocabulary["role"]
            )
        order = case_graph.value(case, odr.transaction)
        paid = guarantee = None
        received_on = goods_received_on = None
        contract_forum = "unknown"
        clause_forum = None
        exclusive = None
        if order is not None:
            paid = _case_money(case_graph, order, odr.amountPaid, "odr:amountPaid")
            guarantee = _case_money(case_graph, order, odr.guaranteeAmount, "odr:guaranteeAmount")
            received = case_graph.value(order, odr.receivedOn)
            received_on = parse_date(
                str(received) if received is not None else None, "odr:receivedOn"
            )
            goods = case_graph.value(order, odr.goodsReceivedOn)
            goods_received_on = parse_date(
                str(goods) if goods is not None else None, "odr:goodsReceivedOn"
            )
            clause = case_graph.value(order, odr.forumClause)
            if clause is not None and case_graph.value(clause, odr.forumChoice) is not None:
                contract_forum = concept(odr.forumChoice, "contractForum", clause)
                forum = case_graph.value(clause, odr.forum)
                clause_forum = str(forum) if isinstance(forum, rdflib.URIRef) else None
                given = case_graph.value(clause, odr.exclusiveJurisdiction)
                if given is not None:
                    value = given.toPython() if isinstance(given, rdflib.Literal) else given
                    exclusive = _exclusive(value, contract_forum, "odr:exclusiveJurisdiction")
        _same_currency(paid, guarantee)
        opened = case_graph.value(case, odr.openedOn)
        role, claim = roles[0], concept(odr.claimType, "claim")
        self._check_claimant(role, claim)
        if dissatisfied is None:
            dissatisfied = case_graph.value(case, odr.objection) is not None
        return Facts(
            role=role,
            channel=concept(odr.channel, "channel"),
            claim=claim,
            as_of=as_of or dt.date.today(),
            paid=paid,
            guarantee=guarantee,
            received_on=received_on,
            dissatisfied=dissatisfied,
            contract_forum=contract_forum,
            opened_on=parse_date(str(opened) if opened is not None else None, "odr:openedOn"),
            goods_received_on=goods_received_on,
            clause_forum=clause_forum,
            contract_forum_exclusive=exclusive,
        )


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


def _exclusive(value: Any, contract_forum: str | None, name: str) -> bool | None:
    """Whether the contract's forum clause is exclusive: true, false, or absent (not known);
    said only of a clause that gives jurisdiction to a foreign court."""
    if value is None:
        return None
    if not isinstance(value, bool):
        raise LookupInputError(name, "must be true or false (absent: not known)", ["true", "false"])
    if contract_forum not in EXCLUSIVE_CHOICES:
        raise LookupInputError(
            name,
            "says whether a foreign-court clause is exclusive: give it only with contractForum "
            + " or ".join(EXCLUSIVE_CHOICES),
            ["true", "false"],
        )
    return value


def _money(value: Any, name: str) -> Money | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise LookupInputError(name, 'must be an object {"amount": "12000.00", "currency": "USD"}')
    return Money(
        _amount(value.get("amount"), f"{name}.amount"),
        _currency(value.get("currency"), f"{name}.currency"),
    )


def _amount(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise LookupInputError(name, "must be a decimal number, as a string or a number")
    text = str(value).strip()
    if text.startswith("-"):
        raise LookupInputError(name, "must not be negative")
    # Length first: nothing longer than the longest acceptable amount is parsed at all.
    if len(text) > MAX_AMOUNT_DIGITS + 1 or len(text.replace(".", "")) > MAX_AMOUNT_DIGITS:
        raise LookupInputError(name, f"has more than {MAX_AMOUNT_DIGITS} digits")
    if not AMOUNT_PATTERN.match(text):
        raise LookupInputError(
            name, f"{value!r} is not a plain decimal number such as 12000.00 (no exponent)"
        )
    try:
        return Decimal(text)
    except InvalidOperation:
        raise LookupInputError(name, f"{value!r} is not a decimal number") from None


def _currency(value: Any, name: str) -> str:
    if not isinstance(value, str) or not CURRENCY_PATTERN.match(value):
        raise LookupInputError(name, "must be a three-letter ISO 4217 code such as USD")
    return value


def _same_currency(paid: Money | None, guarantee: Money | None) -> None:
    if paid is not None and guarantee is not None and paid.currency != guarantee.currency:
        raise LookupInputError(
            "guarantee.currency",
            f"differs from paid.currency ({guarantee.currency} vs {paid.currency}); "
            "amounts are not converted",
        )


def parse_date(value: Any, name: str) -> dt.date | None:
    """The date ``value`` written in the one form every way into the lookup accepts, ISO 8601's
    extended YYYY-MM-DD (``2026-11-27``; not ``20261127``, which ``date.fromisoformat`` also
    reads); ``None`` when it is absent or empty. :class:`LookupInputError` naming ``name``
    otherwise."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise LookupInputError(name, "must be a date YYYY-MM-DD")
    try:
        if not DATE_PATTERN.fullmatch(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        # Quoted as given, but never more than a date's worth of it: the message must not hand
        # a request's whole field back.
        shown = value if len(value) <= 20 else value[:20] + "…"
        raise LookupInputError(name, f"{shown!r} is not a date YYYY-MM-DD") from None


def _case_money(
    graph: rdflib.Graph | CaseStatements, order: rdflib.term.Node, prop: rdflib.URIRef, name: str
) -> Money | None:
    node = graph.value(order, prop)
    if node is None:
        return None
    schema = rdflib.Namespace(SCHEMA)
    value = graph.value(node, schema.value)
    currency = graph.value(node, schema.currency)
    return Money(
        _amount(str(value) if value is not None else None, f"{name}/schema:value"),
        _currency(str(currency) if currency is not None else None, f"{name}/schema:currency"),
    )


# Shaping the answer ---------------------------------------------------------------------------
#
# Python frames the derived graph and fills in the caveats' sentence frames; the frames, like
# every legal word of the answer, come from the knowledge graph and the lookup vocabulary
# (ontology/lookup.ttl): the rules say which caveat holds and why.
