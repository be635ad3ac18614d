"""Framing: the statements the lookup's rules derived for one case, written as the JSON answer.

The answer's shape is data, ``ontology/lookup-answer.frame.json``: for each key, the path of
properties its value is read from and how it is written (a name or a text in the answer's
language, a notation, a flag, an amount, a list in some order). This module follows such paths
through what the rules derived and the knowledge graph; it knows nothing of stages, remedies or
caveats, which the rules and the frame name.

The frame is read once per engine into a reader of each of its keys (:class:`AnswerFrame`
``.compile``): which directive a key uses, the IRIs of its paths and its sort keys are worked out
once, not again for each value of each answer. Terms are read out of pyoxigraph once, into plain
tuples (:func:`native`), and only the statements whose properties the frame reads are kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from odr_kg import resources

if TYPE_CHECKING:
    from odr_kg.lookup import LookupEngine

FRAME_FILE = "lookup-answer.frame.json"
# The keys that make a dict of the frame a reading of one value; any other dict is an object
# whose keys are the answer's.
DIRECTIVES = frozenset(
    {"path", "as", "each", "select", "where", "basis", "object", "first", "use", "unless"}
)
TRUE = ("true", "1")

# A term as the framer reads it: ``(iri, NAMED)``, ``(id, BLANK)`` or ``(lexical form, LITERAL,
# language or None, datatype IRI)``. Two terms are equal exactly when pyoxigraph's are.
NAMED, BLANK, LITERAL = 0, 1, 2
Node = tuple[Any, ...]
NOTHING: tuple[Node, ...] = ()
# What the frame reads a property for: following it forwards, backwards (``^``), selecting the
# nodes given it (``having``).
FORWARD, BACKWARD, HAVING = 1, 2, 4
# A reading of the frame: the value of one key for a node of one case.
Reader = Callable[["CaseGraph", str], Any]


def native(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    """``term`` as a plain tuple (see :data:`Node`)."""
    kind = type(term)
    if kind is ox.NamedNode:
        return (term.value, NAMED)
    if kind is ox.Literal:
        return (term.value, LITERAL, term.language, term.datatype.value)
    return (term.value, BLANK)


def format_amount(amount: Decimal) -> str:
    """An amount with at least two decimals: ``Decimal("5000")`` -> ``"5000.00"``."""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return f"{amount:.2f}"
    return str(amount)


READERS: dict[str, Callable[[CaseGraph, Node], Any]] = {
    "string": lambda graph, value: value[0],
    "label": lambda graph, value: graph.label(value[0]),
    "boolean": lambda graph, value: value[0] in TRUE,
    "integer": lambda graph, value: int(value[0]),
    "amount": lambda graph, value: format_amount(Decimal(value[0])),
}


class AnswerFrame:
    """The frame of the lookup's answer, its prefixes expanded for the store's ``base``."""

    def __init__(self, base: str) -> None:
        text = resources.read_data_text(resources.data_dir("ontology") / FRAME_FILE, base)
        frame = json.loads(text)
        self.prefixes = {
            name: iri.replace("{base}", base) for name, iri in frame["prefixes"].items()
        }
        self.shapes = frame["shapes"]
        self.answer = frame["answer"]
        self.basis_key = tuple(frame["basisKey"])
        self._iris: dict[str, str] = {}

    def iri(self, name: str) -> str:
        """The IRI of a compact name (``lookup:status``)."""
        iri = self._iris.get(name)
        if iri is None:
            prefix, _, local = name.partition(":")
            iri = self._iris[name] = self.prefixes[prefix] + local
        return iri


class Framing:
    """The frame of one engine made into readers: :meth:`answer` frames one case's answer."""

    def __init__(self, frame: AnswerFrame, engine: LookupEngine) -> None:
        self.frame = frame
        self.engine = engine
        self.about = frame.iri("lookup:about")
        # What the frame reads each property for (FORWARD, BACKWARD: ``^``, HAVING: selected
        # by), filled in as the readers are made: statements of other properties the rules
        # derived are not kept.
        self.roles: dict[str, int] = {}
        # Of the knowledge graph alone, so kept for the engine's life: each statement's legal
        # basis in each language as (its key, its entry), and names of the knowledge graph's
        # resources in each language.
        self.basis_cache: dict[tuple[str, str], list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}
        self.labels: dict[tuple[str, str], str] = {}
        self._shapes: dict[str, Reader] = {}
        self._basis_entry = self._object(frame.shapes["basis"])
        self._answer = self._object(frame.answer)
        # The knowledge graph's statements of the properties followed forwards, as plain terms.
        self.known: dict[tuple[str, str], list[Node]] = {
            (subject, predicate): [native(term) for term in objects]
            for subject, predicates in engine._index.items()
            for predicate, objects in predicates.items()
            if self.roles.get(predicate, 0) & FORWARD
        }

    def answer(self, derived: Iterable[ox.Triple], case: str, lang: str) -> dict[str, Any]:
        """The JSON answer for ``case`` in ``lang``, framed from what the rules ``derived``."""
        return self._answer(CaseGraph(self, derived, lang), case)

    # Compiling the frame ------------------------------------------------------------------

    def _shape(self, name: str) -> Reader:
        """The reader of shape ``name``, compiled once; a shape may name itself."""
        shapes = self._shapes
        if name not in shapes:

            def reader(graph: CaseGraph, node: str) -> Any:
                return shapes[name](graph, node)

            shapes[name] = reader
            shapes[name] = self._value(self.frame.shapes[name])
        return shapes[name]

    def _object(self, fields: Mapping[str, Any]) -> Reader:
        readers = [(key, self._value(field)) for key, field in fields.items()]

        def read_object(graph: CaseGraph, node: str) -> dict[str, Any]:
            return {key: reader(graph, node) for key, reader in readers}

        return read_object

    def _value(self, field: Any) -> Reader:
        """The reader of one key of the frame; the directives are taken in this order."""
        if field == "@id":
            return lambda graph, node: node
        if not isinstance(field, Mapping):
            raise ValueError(f"{FRAME_FILE}: a key's reading is '@id' or an object, not {field!r}")
        if "use" in field:
            return self._shape(field["use"])
        if not DIRECTIVES & field.keys():
            return self._object(field)
        if "first" in field:
            return self._first([self._value(reading) for reading in field["first"]])
        if "basis" in field:
            return self._basis(self._path(field["basis"]))
        if "each" in field or "select" in field:
            return self._list(field)
        if "object" in field:
            return self._nested(field)
        return self._read_or_default(field)

    def _first(self, readers: list[Reader]) -> Reader:
        def first(graph: CaseGraph, node: str) -> Any:
            for reader in readers:
                value = reader(graph, node)
                if value is not None:
                    return value
            return None

        return first

    def _nested(self, field: Mapping[str, Any]) -> Reader:
        read_object = self._object(field["object"])
        if "path" not in field:
            return read_object
        follow = self._path(field["path"])

        def nested(graph: CaseGraph, node: str) -> Any:
            found = follow(graph, node)
            return read_object(graph, found[0][0]) if found else None

        return nested

    def _read_or_default(self, field: Mapping[str, Any]) -> Reader:
        read = self._read(field)
        default = field.get("default")
        if default is None and "unless" not in field:
            return read
        unless = self._path(field["unless"]) if "unless" in field else None

        def read_or_default(graph: CaseGraph, node: str) -> Any:
            if unless is not None and unless(graph, node):
                return default
            value = read(graph, node)
            return default if value is None else value

        return read_or_default

    def _read(self, field: Mapping[str, Any]) -> Reader:
        kind = field.get("as", "string")
        if "path" not in field:
            if kind == "label":
                return lambda graph, node: graph.label(node)
            return lambda graph, node: node
        follow = self._path(field["path"])
        if kind == "texts":
            ordered = field.get("sort") == "value"

            def texts(graph: CaseGraph, node: str) -> list[str]:
                found = graph.texts(follow(graph, node), strict=False, every=True)
                return sorted(found) if ordered else found

            return texts
        if kind in ("text", "strict-text"):
            strict = kind == "strict-text"

            def text(graph: CaseGraph, node: str) -> str | None:
                found = graph.texts(follow(graph, node), strict=strict, every=False)
                return found[0] if found else None

            return text
        convert = READERS.get(kind)
        first = self._first_value(field["path"], follow)

        def read(graph: CaseGraph, node: str) -> Any:
            value = first(graph, node)
            if value is None:
                return None
            if convert is None:
                raise KeyError(kind)
            return convert(graph, value)

        return read

    def _first_value(
        self, path: Sequence[str], follow: Callable[[CaseGraph, str], Sequence[Node]]
    ) -> Callable[[CaseGraph, str], Node | None]:
        """The reader of the first value at the end of ``path`` (``follow``'s first): of one
        step forwards, the first derived value, else the first known one."""
        if len(path) != 1 or path[0].startswith("^"):

            def first_followed(graph: CaseGraph, node: str) -> Node | None:
                values = follow(graph, node)
                return values[0] if values else None

            return first_followed
        iri = self.frame.iri(path[0])

        def first_value(graph: CaseGraph, node: str) -> Node | None:
            key = (node, iri)
            found = graph.forward.get(key) or graph.known.get(key)
            return found[0] if found else None

        return first_value

    def _path(self, path: Sequence[str]) -> Callable[[CaseGraph, str], Sequence[Node]]:
        """The reader of the values at the end of ``path`` from a node, in order, each once."""
        if not path:
            return lambda graph, node: [(node, NAMED)]
        steps: list[tuple[bool, str]] = []
        for step in path:
            backward = step.startswith("^")
            iri = self.frame.iri(step[1:] if backward else step)
            self.roles[iri] = self.roles.get(iri, 0) | (BACKWARD if backward else FORWARD)
            steps.append((backward, iri))
        if len(steps) == 1:
            backward, iri = steps[0]
            if backward:
                return lambda graph, node: graph.subjects(iri, node)
            return lambda graph, node: graph.values(node, iri)

        def follow(graph: CaseGraph, node: str) -> Sequence[Node]:
            nodes = [node]
            values: Sequence[Node] = NOTHING
            for backward, iri in steps:
                step = graph.subjects if backward else graph.values_of
                if len(nodes) == 1:
                    # The values of one node are each there once already.
                    values = step(iri, nodes[0])
                else:
                    values = []
                    for value in nodes:
                        values.extend(v for v in step(iri, value) if v not in values)
                nodes = [v[0] for v in values if v[1] != LITERAL]
            return values

        return follow

    def _list(self, field: Mapping[str, Any]) -> Reader:
        nodes = self._nodes(field)
        each = self._value(field["each"])
        skip_null = bool(field.get("skipNull"))
        sort_keys = [self._sort_key(key) for key in reversed(field.get("sort", []))]

        def read_list(graph: CaseGraph, node: str) -> list[Any]:
            items = [(n, each(graph, n)) for n in nodes(graph, node)]
            if skip_null:
                items = [(n, item) for n, item in items if item is not None]
            for sort_key in sort_keys:
                items.sort(key=lambda entry: sort_key(graph, entry))
            return [item for _, item in items]

        return read_list

    def _nodes(self, field: Mapping[str, Any]) -> Callable[[CaseGraph, str], list[str]]:
        """The nodes of a list: at the end of its path, or selected."""
        select = field.get("select")
        found: Callable[[CaseGraph, str], list[str]]
        if select is None:
            follow = self._path(field["path"])

            def found(graph: CaseGraph, node: str) -> list[str]:
                return [v[0] for v in follow(graph, node)]

        elif "class" in select:
            cls = self.frame.iri(select["class"])
            instances = self.engine.instances

            def found(graph: CaseGraph, node: str) -> list[str]:
                return instances(cls)

        else:
            having = self.frame.iri(select["having"])
            self.roles[having] = self.roles.get(having, 0) | HAVING

            def found(graph: CaseGraph, node: str) -> list[str]:
                return list(graph.having.get(having, NOTHING))

        if "where" not in field:
            return found
        where = self._path(field["where"])

        def found_where(graph: CaseGraph, node: str) -> list[str]:
            return [n for n in found(graph, node) if where(graph, n)]

        return found_where

    def _sort_key(self, key: Mapping[str, Any]) -> Callable[[CaseGraph, tuple[str, Any]], Any]:
        """A list's sort key: an answer key (dotted for nested ones) or a path's value; a
        missing value sorts first, or last where ``nulls`` is ``last``."""
        last = key.get("nulls") == "last"
        empty = "" if key.get("as", "string") == "string" else 0
        if "key" in key:
            parts = key["key"].split(".")

            def by_key(graph: CaseGraph, entry: tuple[str, Any]) -> tuple[bool, Any]:
                found = entry[1]
                for part in parts:
                    found = found.get(part) if isinstance(found, dict) else None
                return ((found is None) == last, empty if found is None else found)

            return by_key
        read = self._read({"path": key["path"], "as": key.get("as", "string")})

        def by_path(graph: CaseGraph, entry: tuple[str, Any]) -> tuple[bool, Any]:
            found = read(graph, entry[0])
            return ((found is None) == last, empty if found is None else found)

        return by_path

    def _basis(self, follow: Callable[[CaseGraph, str], Sequence[Node]]) -> Reader:
        """The legal basis of the statements at the end of a path: each one's entries in its
        order, each (document, article, source) once. The statements are taken in the order of
        their IRIs (documents and their articles, then conditions, provisions, stages): the
        order in which the rules derive them depends on the engine's plan and on the other
        cases beside."""
        cache = self.basis_cache
        basis_of = self.basis_of
        by_iri = itemgetter(0)

        def basis(graph: CaseGraph, node: str) -> list[dict[str, Any]]:
            entries: list[dict[str, Any]] = []
            seen: set[tuple[Any, ...]] = set()
            lang = graph.lang
            for statement in sorted(follow(graph, node), key=by_iri):
                # A statement's basis depends on the knowledge graph alone: read once.
                cached = cache.get((statement[0], lang))
                if cached is None:
                    cached = cache[(statement[0], lang)] = basis_of(graph, statement[0])
                for key, entry in cached:
                    if key not in seen:
                        seen.add(key)
                        entries.append(dict(entry))
            return entries

        return basis

    def basis_of(self, graph: CaseGraph, statement: str) -> list[tuple[tuple[Any, ...], dict]]:
        """The basis entries of one statement of the knowledge graph, in order, each with its
        key (document, article, source)."""
        engine = self.engine
        rank = self.frame.iri("lookup:rank")
        nodes = sorted(
            (v.value for v in engine.values(statement, self.frame.iri("lookup:basis"))),
            key=lambda n: engine.first(n, rank) or "",
        )
        entries = [self._basis_entry(graph, node) for node in nodes]
        return [(tuple(entry[name] for name in self.frame.basis_key), entry) for entry in entries]


class CaseGraph:
    """What the rules derived for one case, beside the knowledge graph, as one answer in
    ``lang`` reads it: a finding's statements read as statements about the resource it is about
    (``lookup:about``); only the statements of properties the frame reads."""

    __slots__ = ("backward", "forward", "framing", "having", "known", "lang")

    def __init__(self, framing: Framing, derived: Iterable[ox.Triple], lang: str) -> None:
        self.framing = framing
        self.known = framing.known
        self.lang = lang
        about = framing.about
        roles = framing.roles
        subject_of: dict[str, str] = {}
        rows: list[tuple[str, str, Node, int]] = []
        for triple in derived:
            predicate = triple.predicate.value
            if predicate == about:
                subject_of[triple.subject.value] = triple.object.value
            role = roles.get(predicate)
            if role:
                rows.append((triple.subject.value, predicate, native(triple.object), role))
        forward: dict[tuple[str, str], list[Node]] = {}
        backward: dict[tuple[str, str], list[Node]] = {}
        having: dict[str, dict[str, None]] = {}
        for s, p, o, role in rows:
            subject = subject_of.get(s, s)
            if role & FORWARD:
                objects = forward.get((subject, p))
                if objects is None:
                    forward[(subject, p)] = [o]
                elif o not in objects:
                    objects.append(o)
            if role & BACKWARD:
                subjects = backward.get((o[0], p))
                named = (subject, NAMED)
                if subjects is None:
                    backward[(o[0], p)] = [named]
                elif named not in subjects:
                    subjects.append(named)
            if role & HAVING:
                having.setdefault(p, {})[subject] = None
        self.forward = forward
        self.backward = backward
        # The subjects given each property, in the order first given, each once.
        self.having = {p: list(subjects) for p, subjects in having.items()}

    def values(self, node: str, predicate: str) -> Sequence[Node]:
        """The values of ``predicate`` for ``node``: derived first, then known."""
        key = (node, predicate)
        found = self.forward.get(key)
        known = self.known.get(key, NOTHING)
        if found:
            return found + [o for o in known if o not in found] if known else found
        return known

    def values_of(self, predicate: str, node: str) -> Sequence[Node]:
        return self.values(node, predicate)

    def subjects(self, predicate: str, node: str) -> Sequence[Node]:
        """The nodes the rules gave ``predicate`` with the value ``node``."""
        return self.backward.get((node, predicate), NOTHING)

    def texts(self, values: Sequence[Node], strict: bool, every: bool) -> list[str]:
        """The literals of ``values`` in the answer's language (else, unless ``strict``, in
        English): all of them, or (not ``every``) the first."""
        for wanted in (self.lang,) if strict else (self.lang, "en"):
            texts = [v[0] for v in values if v[1] == LITERAL and v[2] == wanted]
            if texts:
                return texts if every else texts[:1]
        return []

    def label(self, iri: str) -> str:
        """The name of ``iri`` in the answer's language (:meth:`LookupEngine.label`), kept
        for the resources of the knowledge graph."""
        framing = self.framing
        key = (iri, self.lang)
        name = framing.labels.get(key)
        if name is None:
            name = framing.engine.label(iri, self.lang)
            if iri in framing.engine._index:
                framing.labels[key] = name
        return name
