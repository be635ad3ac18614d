"""Framing: the statements the lookup's rules derived for one case, written as the JSON answer.

The answer's shape is data, ``ontology/lookup-answer.frame.json``: for each key, the path of
properties its value is read from and how it is written (a name or a text in the answer's
language, a notation, a flag, an amount, a list in some order). This module follows such paths
through what the rules derived and the knowledge graph; it knows nothing of stages, remedies or
caveats, which the rules and the frame name.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
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

Term = ox.NamedNode | ox.BlankNode | ox.Literal


def format_amount(amount: Decimal) -> str:
    """An amount with at least two decimals: ``Decimal("5000")`` -> ``"5000.00"``."""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return f"{amount:.2f}"
    return str(amount)


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


class CaseGraph:
    """What the rules derived for one case, beside the knowledge graph: a finding's statements
    read as statements about the resource it is about (``lookup:about``)."""

    def __init__(self, engine: LookupEngine, derived: Iterable[ox.Triple]) -> None:
        self.engine = engine
        about = engine.frame.iri("lookup:about")
        rows = [(s.value, p.value, o) for s, p, o in derived]
        subject_of = {s: o.value for s, p, o in rows if p == about}
        self.forward: dict[str, dict[str, list[Term]]] = defaultdict(lambda: defaultdict(list))
        self.backward: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        self.having: dict[str, list[str]] = defaultdict(list)
        for s, p, o in rows:
            subject = subject_of.get(s, s)
            objects = self.forward[subject][p]
            if o not in objects:
                objects.append(o)
            subjects = self.backward[o.value][p]
            if subject not in subjects:
                subjects.append(subject)
            if subject not in self.having[p]:
                self.having[p].append(subject)

    def values(self, node: str, predicate: str) -> list[Term]:
        derived = self.forward.get(node, {}).get(predicate, [])
        known = self.engine.values(node, predicate)
        return derived + [o for o in known if o not in derived] if derived else known

    def subjects(self, predicate: str, node: str) -> list[str]:
        return self.backward.get(node, {}).get(predicate, [])


class Framer:
    """Writes one case's answer in one language by the frame."""

    def __init__(self, engine: LookupEngine, graph: CaseGraph, lang: str) -> None:
        self.engine = engine
        self.frame = engine.frame
        self.graph = graph
        self.lang = lang

    def answer(self, case: str) -> dict[str, Any]:
        return self._object(self.frame.answer, case)

    # Paths ---------------------------------------------------------------------------------

    def _follow(self, node: str, path: list[str]) -> list[Term]:
        """The values at the end of ``path`` from ``node``, in order, each once."""
        if not path:
            return [ox.NamedNode(node)]
        nodes: list[str] = [node]
        values: list[Term] = []
        for step in path:
            values = []
            for value in nodes:
                if step.startswith("^"):
                    subjects = self.graph.subjects(self.frame.iri(step[1:]), value)
                    found: list[Any] = [ox.NamedNode(subject) for subject in subjects]
                else:
                    found = self.graph.values(value, self.frame.iri(step))
                values.extend(v for v in found if v not in values)
            nodes = [v.value for v in values if not isinstance(v, ox.Literal)]
        return values

    def _nodes(self, field: Mapping[str, Any], node: str) -> list[str]:
        select = field.get("select")
        if select is None:
            found = [v.value for v in self._follow(node, field["path"])]
        elif "class" in select:
            found = self.engine.instances(self.frame.iri(select["class"]))
        else:
            found = list(self.graph.having.get(self.frame.iri(select["having"]), []))
        if "where" in field:
            found = [n for n in found if self._follow(n, field["where"])]
        return found

    # Values --------------------------------------------------------------------------------

    def _object(self, fields: Mapping[str, Any], node: str) -> dict[str, Any]:
        return {key: self._value(field, node) for key, field in fields.items()}

    def _value(self, field: Any, node: str) -> Any:
        if field == "@id":
            return node
        if "use" in field:
            return self._value(self.frame.shapes[field["use"]], node)
        if not DIRECTIVES & field.keys():
            return self._object(field, node)
        if "first" in field:
            readings = (self._value(reading, node) for reading in field["first"])
            return next((value for value in readings if value is not None), None)
        if "basis" in field:
            return self._basis(self._follow(node, field["basis"]))
        if "each" in field or "select" in field:
            return self._list(field, node)
        if "object" in field:
            if "path" not in field:
                return self._object(field["object"], node)
            found = self._follow(node, field["path"])
            return self._object(field["object"], found[0].value) if found else None
        if "unless" in field and self._follow(node, field["unless"]):
            return field.get("default")
        value = self._read(field, node)
        return field.get("default") if value is None else value

    def _read(self, field: Mapping[str, Any], node: str) -> Any:
        kind = field.get("as", "string")
        if "path" not in field:
            return self.engine.label(node, self.lang) if kind == "label" else node
        values = self._follow(node, field["path"])
        if kind == "texts":
            texts = self._in_language(values, strict=False, every=True)
            return sorted(texts) if field.get("sort") == "value" else texts
        if kind in ("text", "strict-text"):
            texts = self._in_language(values, strict=kind == "strict-text", every=False)
            return texts[0] if texts else None
        if not values:
            return None
        return READERS[kind](self, values[0])

    def _in_language(self, values: list[Term], strict: bool, every: bool) -> list[str]:
        for wanted in (self.lang,) if strict else (self.lang, "en"):
            texts = [v.value for v in values if isinstance(v, ox.Literal) and v.language == wanted]
            if texts:
                return texts if every else texts[:1]
        return []

    def _list(self, field: Mapping[str, Any], node: str) -> list[Any]:
        nodes = self._nodes(field, node)
        items = [(n, self._value(field["each"], n)) for n in nodes]
        if field.get("skipNull"):
            items = [(n, item) for n, item in items if item is not None]
        for key in reversed(field.get("sort", [])):
            items.sort(key=self._sort_key(key))
        return [item for _, item in items]

    def _sort_key(self, key: Mapping[str, Any]) -> Callable[[tuple[str, Any]], tuple[bool, Any]]:
        last = key.get("nulls") == "last"

        def value(entry: tuple[str, Any]) -> tuple[bool, Any]:
            node, item = entry
            if "key" in key:
                found = item
                for part in key["key"].split("."):
                    found = found.get(part) if isinstance(found, dict) else None
            else:
                found = self._read({"path": key["path"], "as": key.get("as", "string")}, node)
            empty = "" if key.get("as", "string") == "string" else 0
            return ((found is None) == last, empty if found is None else found)

        return value

    def _basis(self, statements: list[Term]) -> list[dict[str, Any]]:
        """The legal basis of ``statements``: each one's entries in its order, each
        (document, article, source) once. The statements are taken in the order of their IRIs
        (documents and their articles, then conditions, provisions, stages): the order in which
        the rules derive them depends on the engine's plan and on the other cases beside."""
        entries: list[dict[str, Any]] = []
        seen: set[tuple[Any, ...]] = set()
        for statement in sorted(statements, key=lambda term: term.value):
            # A statement's basis depends on the knowledge graph alone: read once.
            cache_key = (statement.value, self.lang)
            cached = self.engine.basis_cache.get(cache_key)
            if cached is None:
                cached = self.engine.basis_cache[cache_key] = self.basis_of(statement.value)
            for entry in cached:
                key = tuple(entry[name] for name in self.frame.basis_key)
                if key not in seen:
                    seen.add(key)
                    entries.append(dict(entry))
        return entries

    def basis_of(self, statement: str) -> list[dict[str, Any]]:
        """The basis entries of one statement of the knowledge graph, in order."""
        basis = self.frame.iri("lookup:basis")
        rank = self.frame.iri("lookup:rank")
        nodes = sorted(
            (v.value for v in self.engine.values(statement, basis)),
            key=lambda n: self.engine.first(n, rank) or "",
        )
        return [self._object(self.frame.shapes["basis"], node) for node in nodes]


READERS: dict[str, Callable[[Framer, Term], Any]] = {
    "string": lambda framer, value: value.value,
    "label": lambda framer, value: framer.engine.label(value.value, framer.lang),
    "boolean": lambda framer, value: value.value in TRUE,
    "integer": lambda framer, value: int(value.value),
    "amount": lambda framer, value: format_amount(Decimal(value.value)),
}
