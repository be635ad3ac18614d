"""The facts of a lookup request, read and checked: from the JSON API's request, a web form (through
the same JSON), the command line, or a case graph. A fact that is missing or not acceptable
raises :class:`LookupInputError` naming its field, with every other problem of the request."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import rdflib
from rdflib.namespace import RDF

from odr_kg.namespaces import odr_namespace, odr_term

if TYPE_CHECKING:
    from odr_kg.lookup import LookupEngine
    from odr_kg.validation import CaseStatements

MAX_AMOUNT_DIGITS = 18
SCHEMA = "http://schema.org/"

# The request keys that name a concept of the knowledge graph, with the class of the concepts.
ENUMERATED_FIELDS = {
    "role": "PartyRole",
    "channel": "Channel",
    "claim": "ClaimType",
    "contractForum": "ForumChoice",
    "notYet": "TriggerEvent",
}
# The party roles a requester can have: those played by a party to the transaction.
REQUESTER_ROLE_CLASSES = ("Buyer", "Seller")
CURRENCY_PATTERN = re.compile(r"[A-Z]{3}")
# Plain decimal notation only: an exponent ("5E+3", "1E+999999999") is refused, so no amount
# changes its meaning between the request, the rules and the answer.
AMOUNT_PATTERN = re.compile(r"[0-9]+(\.[0-9]+)?")
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
    "notYet",
)
# The forum choices whose clause may be exclusive or not (the Chinese courts are open to a
# buyer only without an exclusive foreign-court clause: CJO, "Can I sue a supplier in China").
EXCLUSIVE_CHOICES = ("foreign-court",)


# A refusal quotes at most this many characters of what it refuses, and lists at most this many
# problems: the message must not hand a request's whole field, or all its keys, back.
QUOTED_CHARACTERS = 20
LISTED_PROBLEMS = 20


def quoted(value: Any) -> str:
    """``value`` as a refusal quotes it: its repr, cut to a few characters."""
    text = value if isinstance(value, str) else repr(value)
    shown = text if len(text) <= QUOTED_CHARACTERS else text[:QUOTED_CHARACTERS] + "…"
    return repr(shown)


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
            listed = self.errors[:LISTED_PROBLEMS]
            error["errors"] = [problem._one_json() for problem in listed]
            if len(self.errors) > len(listed):
                error["unlisted"] = len(self.errors) - len(listed)
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
    # The events of the order that have not happened yet (notations), in the vocabulary's order.
    not_yet: tuple[str, ...] = ()


class FactsReader:
    """Reads and checks the facts of a lookup request against the knowledge graph's concepts."""

    def __init__(self, engine: LookupEngine) -> None:
        self.engine = engine
        self.vocabulary = engine.vocabulary

    # Reading the facts ------------------------------------------------------------------------

    def from_json(self, request: Any, today: dt.date | None = None) -> Facts:
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
                    LookupInputError(
                        quoted(key)[1:-1], "is not a key of the lookup request", REQUEST_KEYS
                    )
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
        given = {"receivedOn": received_on, "goodsReceivedOn": goods_received_on}
        not_yet = read(self._not_yet, request.get("notYet"), given, "notYet", "{}")
        as_of = read(parse_date, request.get("asOf"), "asOf") or today or dt.date.today()
        if values["role"] and values["claim"]:
            read(self._check_claimant, values["role"], values["claim"])
        problems += _after_as_of(
            as_of,
            {
                "receivedOn": received_on,
                "goodsReceivedOn": goods_received_on,
                "openedOn": opened_on,
            },
            "asOf",
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
            not_yet=not_yet or (),
        )

    def claims_of_role(self, role: str) -> list[str]:
        """The claim types a party in ``role`` can bring, as the knowledge graph says."""
        role_iri = self.vocabulary["role"][role]
        return [
            notation
            for notation, claim in self.vocabulary["claim"].items()
            if role_iri in self.engine.iris(claim, odr_term("claimedBy", self.engine.base))
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

    def _not_yet(
        self, value: Any, given: Mapping[str, dt.date | None], name: str, field: str
    ) -> tuple[str, ...]:
        """The events of the order that have not happened yet, as notations: each one of the
        vocabulary's, none twice, none whose date is given too (``field`` names a date's field,
        ``{}`` filled with its key: ``receivedOn`` in JSON, ``odr:receivedOn`` in a case graph)."""
        if value is None:
            return ()
        allowed = self.vocabulary["notYet"]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise LookupInputError(name, "must be a list of events", allowed)
        for item in value:
            if item not in allowed:
                raise LookupInputError(name, f"unknown event {quoted(item)}", allowed)
        if len(set(value)) != len(value):
            raise LookupInputError(name, "names an event twice", allowed)
        for item in value:
            key = self.engine.case_property(allowed[item])
            if given.get(key) is not None:
                raise LookupInputError(
                    name,
                    f"says {item!r} has not happened yet, but {field.format(key)} dates it: "
                    "give one or the other",
                    allowed,
                )
        return tuple(notation for notation in allowed if notation in value)

    def _enumerated(self, request: Mapping[str, Any], key: str) -> str:
        allowed = self.vocabulary[key]
        value = request.get(key)
        if value is None or value == "":
            raise LookupInputError(key, "is required", allowed)
        if not isinstance(value, str) or value not in allowed:
            raise LookupInputError(key, f"unknown value {quoted(value)}", allowed)
        return value

    def from_case(
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
        odr = rdflib.Namespace(odr_namespace(self.engine.base))
        cases = sorted(set(case_graph.subjects(RDF.type, odr.Case)), key=str)
        if len(cases) != 1:
            raise LookupInputError(
                "odr:Case", f"the graph must describe one case, not {len(cases)}"
            )
        (case,) = cases

        def concept(prop: rdflib.URIRef, key: str, subject: rdflib.term.Node = case) -> str:
            value = _only(case_graph, subject, prop)
            by_iri = {iri: notation for notation, iri in self.vocabulary[key].items()}
            if value is None:
                raise LookupInputError(f"odr:{prop.split('/')[-1]}", "is required", by_iri.values())
            if str(value) not in by_iri:
                raise LookupInputError(
                    f"odr:{prop.split('/')[-1]}", f"unknown value <{value}>", by_iri.values()
                )
            return by_iri[str(value)]

        complainant = _only(case_graph, case, odr.complainant)
        classes = (
            {str(c) for c in case_graph.objects(complainant, RDF.type)} if complainant else set()
        )
        roles = [
            notation
            for notation, iri in self.vocabulary["role"].items()
            if set(self.engine.iris(iri, odr_term("roleOf", self.engine.base))) & classes
        ]
        if len(roles) != 1:
            raise LookupInputError(
                "odr:complainant", "must be one odr:Buyer or odr:Seller", self.vocabulary["role"]
            )
        order = _only(case_graph, case, odr.transaction)
        if any(subject != order for subject in case_graph.subjects(odr.notYet)):
            # Read on the transaction only: given elsewhere it would go unread without a word.
            raise LookupInputError(
                "odr:notYet", "is read on the case's odr:transaction only: give it there"
            )
        paid = guarantee = None
        received_on = goods_received_on = None
        not_yet: tuple[str, ...] = ()
        contract_forum = "unknown"
        clause_forum = None
        exclusive = None
        if order is not None:
            paid = _case_money(case_graph, order, odr.amountPaid, "odr:amountPaid")
            guarantee = _case_money(case_graph, order, odr.guaranteeAmount, "odr:guaranteeAmount")
            received = _only(case_graph, order, odr.receivedOn)
            received_on = parse_date(
                str(received) if received is not None else None, "odr:receivedOn"
            )
            goods = _only(case_graph, order, odr.goodsReceivedOn)
            goods_received_on = parse_date(
                str(goods) if goods is not None else None, "odr:goodsReceivedOn"
            )
            events = sorted(case_graph.objects(order, odr.notYet), key=str)
            if events:
                by_iri = {iri: notation for notation, iri in self.vocabulary["notYet"].items()}
                # An event is the trigger's IRI: a literal naming it (its notation) is not.
                not_yet = self._not_yet(
                    [
                        by_iri.get(str(event), f"<{event}>")
                        if isinstance(event, rdflib.URIRef)
                        else f'"{event}"'
                        for event in events
                    ],
                    {"receivedOn": received_on, "goodsReceivedOn": goods_received_on},
                    "odr:notYet",
                    "odr:{}",
                )
            clause = _only(case_graph, order, odr.forumClause)
            if clause is not None and _only(case_graph, clause, odr.forumChoice) is not None:
                contract_forum = concept(odr.forumChoice, "contractForum", clause)
                forum = _only(case_graph, clause, odr.forum)
                clause_forum = str(forum) if isinstance(forum, rdflib.URIRef) else None
                given = _only(case_graph, clause, odr.exclusiveJurisdiction)
                if given is not None:
                    value = given.toPython() if isinstance(given, rdflib.Literal) else given
                    exclusive = _exclusive(value, contract_forum, "odr:exclusiveJurisdiction")
        _same_currency(paid, guarantee)
        opened = _only(case_graph, case, odr.openedOn)
        role, claim = roles[0], concept(odr.claimType, "claim")
        self._check_claimant(role, claim)
        if dissatisfied is None:
            dissatisfied = _only(case_graph, case, odr.objection) is not None
        as_of = as_of or dt.date.today()
        opened_on = parse_date(str(opened) if opened is not None else None, "odr:openedOn")
        late = _after_as_of(
            as_of,
            {
                "odr:receivedOn": received_on,
                "odr:goodsReceivedOn": goods_received_on,
                "odr:openedOn": opened_on,
            },
            "the as-of date",
        )
        if late:
            raise late[0]
        return Facts(
            role=role,
            channel=concept(odr.channel, "channel"),
            claim=claim,
            as_of=as_of,
            paid=paid,
            guarantee=guarantee,
            received_on=received_on,
            dissatisfied=dissatisfied,
            contract_forum=contract_forum,
            opened_on=opened_on,
            goods_received_on=goods_received_on,
            clause_forum=clause_forum,
            contract_forum_exclusive=exclusive,
            not_yet=not_yet,
        )


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
    if not AMOUNT_PATTERN.fullmatch(text):
        raise LookupInputError(
            name, f"{quoted(value)} is not a plain decimal number such as 12000.00 (no exponent)"
        )
    try:
        return Decimal(text)
    except InvalidOperation:
        raise LookupInputError(name, f"{quoted(value)} is not a decimal number") from None


def _currency(value: Any, name: str) -> str:
    if not isinstance(value, str) or not CURRENCY_PATTERN.fullmatch(value):
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
        raise LookupInputError(name, f"{quoted(value)} is not a date YYYY-MM-DD") from None


def _case_money(
    graph: rdflib.Graph | CaseStatements, order: rdflib.term.Node, prop: rdflib.URIRef, name: str
) -> Money | None:
    node = _only(graph, order, prop)
    if node is None:
        return None
    schema = rdflib.Namespace(SCHEMA)
    value = _only(graph, node, schema.value)
    currency = _only(graph, node, schema.currency)
    return Money(
        _amount(str(value) if value is not None else None, f"{name}/schema:value"),
        _currency(str(currency) if currency is not None else None, f"{name}/schema:currency"),
    )


def _only(
    graph: rdflib.Graph | CaseStatements, subject: rdflib.term.Node | None, prop: rdflib.URIRef
) -> rdflib.term.Node | None:
    """The value of ``prop`` of ``subject`` in a case graph: none, or one; a graph stating two
    is refused, since which of them is meant cannot be told."""
    if subject is None:
        return None
    values = list(graph.objects(subject, prop))
    if len(values) > 1:
        prefix = "schema" if str(prop).startswith(SCHEMA) else "odr"
        name = f"{prefix}:{re.split(r'[/#]', str(prop))[-1]}"
        raise LookupInputError(name, "has more than one value; a case states one")
    return values[0] if values else None


def _after_as_of(
    as_of: dt.date, dates: Mapping[str, dt.date | None], as_of_name: str
) -> list[LookupInputError]:
    """A refusal for each of ``dates`` (by field) that lies after the as-of date: an event the
    question is asked before cannot have happened yet."""
    return [
        LookupInputError(name, f"{date.isoformat()} is after {as_of_name} ({as_of.isoformat()})")
        for name, date in dates.items()
        if date is not None and date > as_of
    ]
