"""Procedure lookup: which stages apply to a dispute, what Alibaba can decide and advance, where
to object, by when, and on what legal basis.

The reasoning is data: the SPARQL CONSTRUCT rules in ``queries/rules/*.rq`` run, in file-name
order, over the knowledge graph and a small case graph built from the request's facts; each rule
sees what the earlier ones derived. Python only gathers the facts (from JSON, a web form, the
command line or a Turtle/JSON-LD case graph), runs the rules and shapes the derived statements
into the answer of the JSON API. Every derived statement names, with ``lookup:basedOn``, the
statement of the knowledge graph it rests on; the legal basis, source and confidence of the
answer are read from there.
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
from odr_kg.store import KnowledgeStore, used_prefixes

if TYPE_CHECKING:
    from odr_kg.validation import CaseStatements

RULES_FOLDER = "rules"
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

    def to_json(self) -> dict[str, str]:
        return {"amount": format_amount(self.amount), "currency": self.currency}


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


def format_amount(amount: Decimal) -> str:
    """An amount with at least two decimals: ``Decimal("5000")`` -> ``"5000.00"``."""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return f"{amount:.2f}"
    return str(amount)


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
        self._knowledge_caveat_calls: dict[tuple[tuple[str, ...], str], list[Any]] = {}
        self.rules = load_rules(store.base)
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
        cls = self._odr + class_name
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
        answer = _AnswerShaper(self, facts, derived, lang).shape()
        triples = sorted(set(case_triples) | set(derived), key=str)
        return Answer(json=answer, triples=triples, prefixes=self.prefixes)

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


def load_rules(base: str = resources.DEFAULT_BASE) -> list[tuple[str, str]]:
    """The lookup rules, ``(file name, SPARQL)`` in file-name order, rebased onto ``base``."""
    folder = resources.data_dir("queries") / RULES_FOLDER
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


class _AnswerShaper:
    """Turns the statements the rules derived into the JSON answer."""

    def __init__(self, engine: LookupEngine, facts: Facts, derived: list[ox.Triple], lang: str):
        self.engine = engine
        self.facts = facts
        self.lang = lang
        self.lookup_ns = engine._lookup_ns
        self.odr = engine._odr
        # What the rules derived, by the resource it is about: a finding's statements are read
        # as statements about its lookup:about (the derived statements are of one case).
        about = engine._lookup_ns + "about"
        # Each term read once (reading one from a triple makes a new object each time).
        rows = [(s.value, p.value, o) for s, p, o in derived]
        subjects = {s: o.value for s, p, o in rows if p == about}
        self.graph: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        for s, p, o in rows:
            objects = self.graph[subjects.get(s, s)][p]
            if o not in objects:
                objects.append(o)
        self.used: list[str] = []
        self.cited_together: list[tuple[str, ...]] = []
        self.caveats: list[str] = []
        self._reverse: dict[str, dict[str, list[str]]] = {}

    def _subjects_with(self, name: str, value: str) -> list[str]:
        """The subjects that have ``value`` for the derived ``name``, in the derived order: read
        for every stage, so indexed once an answer."""
        index = self._reverse.get(name)
        if index is None:
            index = {}
            for subject, predicates in self.graph.items():
                for obj in predicates.get(self.lookup_ns + name, []):
                    subjects = index.setdefault(obj.value, [])
                    if subject not in subjects:
                        subjects.append(subject)
            self._reverse[name] = index
        return index.get(value, [])

    def _derived(self, subject: str, name: str) -> list[Any]:
        return self.graph.get(subject, {}).get(self.lookup_ns + name, [])

    def _flag(self, subject: str, name: str) -> bool | None:
        values = self._derived(subject, name)
        return values[0].value == "true" if values else None

    def _text(self, subject: str, name: str) -> str | None:
        return self._in_language(self._derived(subject, name))

    def _in_language(self, literals: list[Any]) -> str | None:
        for wanted in (self.lang, "en"):
            for literal in literals:
                if isinstance(literal, ox.Literal) and literal.language == wanted:
                    return literal.value
        return None

    def _notation_of(self, subject: str, name: str) -> str | None:
        values = self._derived(subject, name)
        return self.engine.notation(values[0].value) if values else None

    def _frame(self, name: str) -> str:
        frame = self.engine.text(self.lookup_ns + name, (self.lookup_ns + "frame",), self.lang)
        if frame is None:
            raise LookupError(f"lookup:{name} has no lookup:frame")
        return frame

    def _caveat(self, name: str, **values: str) -> None:
        text = self._frame(name).format(**values)
        if text not in self.caveats:
            self.caveats.append(text)

    def basis(self, subject: str) -> list[dict[str, Any]]:
        """The legal basis of the derived statements about ``subject``."""
        bases: list[dict[str, Any]] = []
        # Each (document, article, source) once: two statements of one item resting on the same
        # source, with no article, read to the user as one source listed twice.
        seen: set[tuple[Any, Any, Any]] = set()
        statements = [o.value for o in self._derived(subject, "basedOn")]
        for statement in statements:
            for basis in self.basis_of(statement):
                key = (basis["document"], basis["article"], basis["source"])
                if key not in seen:
                    seen.add(key)
                    bases.append(basis)
        # The statements cited together for one item of the answer: a confidence caveat on
        # one of them weighs every source the item cites.
        if statements and tuple(statements) not in self.cited_together:
            self.cited_together.append(tuple(statements))
        return bases

    def basis_of(self, statement: str) -> list[dict[str, Any]]:
        """The legal basis of one statement of the knowledge graph, noted as used."""
        if statement not in self.used:
            self.used.append(statement)
        # The basis of a statement depends on the knowledge graph alone: computed once.
        key = (statement, self.lang)
        if key not in self.engine._bases:
            self.engine._bases[key] = self._read_basis_of(statement)
        return [dict(basis) for basis in self.engine._bases[key]]

    def _read_basis_of(self, statement: str) -> list[dict[str, Any]]:
        """Each article paired only with the sources that state it; then each source of the
        statement that states none of its articles, on its own. A pair's confidence is the
        source's own grade (a statement two sources support may stand higher than either)."""
        engine = self.engine

        def grade(source: str, statement: str) -> str | None:
            return engine._first(source, self.odr + "sourceGrade") or engine._first(
                statement, self.odr + "confidence"
            )

        def entry(iri: str, article: str | None, source: str, level: str | None) -> dict[str, Any]:
            document, number = (None, None) if article is None else self._document_of(article)
            return {
                "iri": iri,
                "document": document,
                "article": number,
                "source": engine._first(source, SCHEMA + "url") or source,
                "confidence": engine.notation(level) if level else None,
            }

        bases: list[dict[str, Any]] = []
        stating: set[str] = set()
        for article in engine._iris(statement, self.odr + "legalBasis"):
            for source in engine._iris(article, DCTERMS + "source"):
                stating.add(source)
                bases.append(entry(article, article, source, grade(source, article)))
        for source in engine._iris(statement, DCTERMS + "source"):
            if source not in stating:
                bases.append(entry(statement, None, source, grade(source, statement)))
        return bases

    def _document_of(self, article: str) -> tuple[str, str | None]:
        engine = self.engine
        number = engine._first(article, ELI + "number")
        document = article
        seen = {article}
        while parents := [p for p in engine._iris(document, ELI + "is_part_of") if p not in seen]:
            document = parents[0]
            seen.add(document)
        return engine.label(document, self.lang), number

    def shape(self) -> dict[str, Any]:
        stages = [self._stage(stage) for stage in self._stages()]
        decisions = self._decisions()
        enforcement = {"advanceRefund": self._advance_refund()}
        objections = self._objections()
        # The caveats the rules found hold (lookup:caveat), each in its frame's words.
        for predicates in self.graph.values():
            for caveat in predicates.get(self.lookup_ns + "caveat", []):
                self._caveat(caveat.value.rsplit("/", 1)[-1])
        # The caveats the rules wrote out whole (a frame filled with the case's values).
        for predicates in self.graph.values():
            texts = predicates.get(self.lookup_ns + "caveatText", [])
            for wanted in (self.lang, "en"):
                chosen = [t.value for t in texts if getattr(t, "language", None) == wanted]
                if chosen:
                    break
            for text in chosen:
                if text not in self.caveats:
                    self.caveats.append(text)
        self._tension_caveats()
        self._knowledge_caveats()
        return {
            "stages": stages,
            "decisions": decisions,
            "enforcement": enforcement,
            "objections": objections,
            "caveats": self.caveats,
        }

    def _stages(self) -> list[str]:
        engine = self.engine
        stages = engine._instances("Stage")
        return sorted(stages, key=lambda s: int(engine._first(s, self.odr + "stageOrder") or 0))

    def _stage(self, stage: str) -> dict[str, Any]:
        engine = self.engine
        return {
            "stage": engine.notation(stage),
            "iri": stage,
            "label": engine.label(stage, self.lang),
            "applies": bool(self._flag(stage, "applies")),
            "status": self._notation_of(stage, "status"),
            "reason": self._text(stage, "reason"),
            "conditions": self._conditions(stage),
            "exception": self._text(stage, "exception"),
            "legalBasis": self.basis(stage),
            "deadlines": self._deadlines(stage),
            "provisions": self._provisions(stage),
            "notStated": self._silences(stage),
        }

    def _conditions(self, subject: str) -> list[dict[str, Any]]:
        return [
            {
                "iri": condition.value,
                "label": self.engine.label(condition.value, self.lang),
                "legalBasis": self.basis_of(condition.value),
            }
            for condition in self._derived(subject, "condition")
        ]

    def _silences(self, subject: str) -> list[str]:
        """What the sources leave unstated about ``subject``, in words."""
        engine = self.engine
        phrases = [
            engine.text(prop, (self.lookup_ns + "silence",), self.lang)
            for prop in engine._iris(subject, self.odr + "notStated")
        ]
        return [phrase for phrase in phrases if phrase]

    def _provisions(self, stage: str) -> list[dict[str, Any]]:
        engine = self.engine
        provisions = sorted(self._subjects_with("provisionOf", stage))
        return [
            {
                "iri": provision,
                "label": engine.label(provision, self.lang),
                "text": self._in_language(
                    [o for o in engine._values(provision, DCTERMS + "description")]
                )
                if self.lang == "en"
                or any(
                    getattr(o, "language", None) == self.lang
                    for o in engine._values(provision, DCTERMS + "description")
                )
                else None,
                "legalBasis": self.basis_of(provision),
            }
            for provision in provisions
        ]

    def _deadlines(self, stage: str) -> list[dict[str, Any]]:
        engine = self.engine
        provisions = self._subjects_with("deadlineOf", stage)
        deadlines = []
        for provision in provisions:
            due = self._derived(provision, "dueOn")
            judged = self._derived(provision, "judgedOn")
            label = engine.label(provision, self.lang)
            version = engine._first(provision, self.odr + "inVersion")
            # Out of time the dispute's own steps are not reached: no date reads as live.
            not_live = self._derived(provision, "notLive")
            live = not not_live
            deadline = {
                "label": label,
                "kind": self._notation_of(provision, "dateKind"),
                "date": due[0].value if due and live else None,
                "passed": self._flag(provision, "passed") if live else None,
                "reached": self._flag(provision, "reached") if live else None,
                "judgedOn": judged[0].value if judged and live else None,
                "assumedOpening": live and bool(self._flag(provision, "assumedStart")),
                "version": engine.label(version, self.lang) if version else None,
                "notLive": self._frame(not_live[0].value.rsplit("/", 1)[-1]) if not_live else None,
                "legalBasis": self.basis(provision),
            }
            deadlines.append(deadline)
            if live:
                self._deadline_caveats(provision, deadline)
        return sorted(deadlines, key=lambda d: (d["date"] is None, d["date"] or "", d["label"]))

    def _deadline_caveats(self, provision: str, deadline: dict[str, Any]) -> None:
        engine = self.engine
        label = deadline["label"]
        if deadline["passed"]:
            self._caveat("caveatPassed", label=label, date=deadline["date"])
            exception = self._in_language(engine._values(provision, self.odr + "exception"))
            if exception:
                self._caveat("caveatException", label=label, exception=exception)
        undated = self._derived(provision, "undated")
        if undated:
            why = self._frame(undated[0].value.rsplit("/", 1)[-1]).format(
                days=engine.label(engine._first(provision, self.odr + "dayCount") or "", self.lang),
                event=engine.label(
                    engine._first(provision, self.odr + "countedFrom") or "", self.lang
                ),
            )
            self._caveat("caveatUndated", label=label, why=why)
            return
        numbering = engine.text(self.lookup_ns + "dayNumbering", (SKOS + "definition",), self.lang)
        if numbering and numbering not in self.caveats:
            self.caveats.append(numbering)
        if deadline["assumedOpening"]:
            self._caveat("caveatAssumedOpening", date=self.facts.as_of.isoformat())
        if self._flag(provision, "daysUnstated"):
            self._caveat("caveatDaysUnstated", label=label)

    def _decisions(self) -> list[dict[str, Any]]:
        engine = self.engine
        remedies = [
            subject
            for subject in self.graph
            if self._derived(subject, "status") and self._derived(subject, "family")
        ]
        decisions = []
        for remedy in remedies:
            family = self._derived(remedy, "family")[0].value
            decisions.append(
                {
                    "remedy": engine.notation(remedy),
                    "iri": remedy,
                    "label": engine.label(remedy, self.lang),
                    "status": self._notation_of(remedy, "status"),
                    # false where the sources deny Alibaba the power; null where they are silent
                    "enforceable": self._flag(remedy, "enforceable"),
                    "family": {
                        "iri": family,
                        "notation": engine.notation(family),
                        "label": engine.label(family, self.lang),
                    },
                    "reason": self._text(remedy, "reason"),
                    "notStated": self._silences(family),
                    "legalBasis": self.basis(remedy),
                }
            )
        return sorted(decisions, key=lambda d: (d["family"]["notation"] or "", d["remedy"] or ""))

    def _advance_refund(self) -> dict[str, Any]:
        remedy = next(
            o.value
            for predicates in self.graph.values()
            for o in predicates.get(self.lookup_ns + "advanceRefund", [])
        )
        status = self._notation_of(remedy, "status")
        cap = None
        caps = self._derived(remedy, "cap")
        if caps:
            node = caps[0].value
            value = self.graph[node][SCHEMA + "value"][0].value
            currency = self.graph[node][SCHEMA + "currency"][0].value
            cap = Money(Decimal(value), currency).to_json()
        elif (
            self._derived(remedy, "basedOn")
            and status != "does-not-apply"
            and self.facts.guarantee is None
        ):
            # Only when the guarantee is what is missing: an out-of-time refund has no cap
            # because it is out of time, not for want of the amount.
            self._caveat("caveatNoCap")
        return {
            "available": bool(self._flag(remedy, "available")),
            "status": status,
            "cap": cap,
            "conditions": self._conditions(remedy),
            "reason": self._text(remedy, "reason"),
            "legalBasis": self.basis(remedy),
        }

    def _objections(self) -> list[dict[str, Any]]:
        engine = self.engine
        routes = [r for r in engine._instances("ObjectionRoute") if self._derived(r, "status")]
        objections = []
        for route in routes:
            forum = self._derived(route, "forum")
            procedure = self._derived(route, "procedure")
            choice = self._derived(route, "forumChoice")
            reason = self._text(route, "reason") or engine.label(route, self.lang)
            if choice:
                clause = engine.label(choice[0].value, self.lang)
                reason = self._frame("frameForumClause").format(reason=reason, clause=clause)
            objections.append(
                {
                    "approach": engine.notation(route),
                    "against": self._derived(route, "against")[0].value,
                    "status": self._notation_of(route, "status"),
                    "procedure": engine.notation(procedure[0].value) if procedure else None,
                    "forum": {
                        "iri": forum[0].value,
                        "label": engine.label(forum[0].value, self.lang),
                    }
                    if forum
                    else None,
                    "reason": reason,
                    "conditions": self._conditions(route),
                    "legalBasis": self.basis(route),
                }
            )
        return sorted(objections, key=lambda o: o["approach"] or "")

    def _tension_caveats(self) -> None:
        """A caveat for each pair of statements the rules found in tension (lookup:tension):
        both statements, each with its sources and their dates where the sources give one."""
        engine = self.engine
        for subject in list(self.graph):
            for other in [o.value for o in self._derived(subject, "tension")]:
                for statement in [o.value for o in self._derived(subject, "basedOn")]:
                    if other in engine._iris(statement, self.odr + "inTensionWith"):
                        self._caveat(
                            "caveatTension",
                            a=engine.label(statement, self.lang),
                            sourceA=self._sources_in_words(statement),
                            b=engine.label(other, self.lang),
                            sourceB=self._sources_in_words(other),
                        )

    def _sources_in_words(self, statement: str) -> str:
        engine = self.engine
        parts = []
        for source in engine._iris(statement, DCTERMS + "source"):
            url = engine._first(source, SCHEMA + "url") or source
            date = engine._first(source, DCTERMS + "date")
            parts.append(
                self._frame("frameSourceDated").format(url=url, date=date)
                if date
                else self._frame("frameSourceUndated").format(url=url)
            )
        return "; ".join(parts)

    def _knowledge_caveats(self) -> None:
        """Caveats where the knowledge graph says a source is silent, conflicting or weak. They
        depend on the statements used and the knowledge graph alone: worked out once for each
        list of statements (most answers of a corpus share theirs), then added in order."""
        key = (tuple(self.used), tuple(self.cited_together), self.lang)
        calls = self.engine._knowledge_caveat_calls.get(key)
        if calls is None:
            calls = self._read_knowledge_caveats()
            self.engine._knowledge_caveat_calls[key] = calls
        for name, values in calls:
            self._caveat(name, **values)

    def _read_knowledge_caveats(self) -> list[tuple[str, dict[str, str]]]:
        engine = self.engine
        calls: list[tuple[str, dict[str, str]]] = []
        not_stated: dict[str, list[str]] = {}
        by_confidence: dict[str, list[str]] = {}
        subjects = list(self.used)
        for statement in self.used:
            for article in engine._iris(statement, self.odr + "legalBasis"):
                if article not in subjects:
                    subjects.append(article)
        for subject in subjects:
            for prop in engine._iris(subject, self.odr + "notStated"):
                not_stated.setdefault(prop, []).append(engine.label(subject, self.lang))
        rank = {"low": 0, "medium": 1, "high": 2}

        def graded_above(statement: str, level: str) -> bool:
            """Whether a source cited with ``statement`` (by the statement itself or by an item
            of the answer that cites it) is graded above ``level``: then the item does not
            rest on ``level`` sources only."""
            together = {statement}.union(
                *(group for group in self.cited_together if statement in group)
            )
            return any(
                rank.get(basis["confidence"] or "", -1) > rank.get(level, -1)
                for other in together
                for basis in engine._bases.get((other, self.lang), [])
            )

        for statement in self.used:
            level_iri = engine._first(statement, self.odr + "confidence")
            level = engine.notation(level_iri) if level_iri else None
            if level is not None and level != "high" and not graded_above(statement, level):
                by_confidence.setdefault(level_iri or "", []).append(
                    engine.label(statement, self.lang)
                )
            for other in engine._iris(statement, self.odr + "conflictsWith"):
                pair = sorted([engine.label(statement, self.lang), engine.label(other, self.lang)])
                calls.append(("caveatConflict", {"a": pair[0], "b": pair[1]}))
        for prop, labels in not_stated.items():
            # Only what the lookup vocabulary can say in words; never a property's name.
            what = engine.text(prop, (self.lookup_ns + "silence",), self.lang)
            if what:
                calls.append(("caveatNotStated", {"what": what, "subjects": "; ".join(labels)}))
        for level_iri, labels in by_confidence.items():
            calls.append(
                (
                    "caveatConfidence",
                    {"level": engine.label(level_iri, self.lang), "subjects": "; ".join(labels)},
                )
            )
        return calls
