"""Validating case graphs against the SHACL shapes, with pySHACL.

A case graph describes one dispute. It is parsed by pyoxigraph, which reads nothing but the
bytes it is given: no remote JSON-LD context, no ``file:`` reference, no network. It is then
validated together with the ontology and the knowledge graph, so that the shapes can check
classes through ``rdfs:subClassOf`` and read the data-driven rules (which articles ground which
remedy, which channel offers an advance refund, which forum a route goes to) from the graph.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib.namespace import RDF, SH

from odr_kg import formats, resources
from odr_kg.limits import InputTooDeepError, check_json_depth
from odr_kg.store import KnowledgeStore

CASE_FORMATS: dict[str, ox.RdfFormat] = formats.CASE_FILE_FORMATS
CASE_MEDIA_TYPES: dict[str, ox.RdfFormat] = {
    fmt.media_type: fmt.syntax for fmt in formats.CASE_GRAPHS
}

# The graphs a case is validated with: the shapes read classes and rules from both.
CONTEXT_GRAPHS = ("ontology", "kg")
# rdflib logs a warning with a traceback for each literal whose lexical form does not fit its
# datatype; a case graph's ill-formed literals are reported by the shapes, and a client could
# otherwise fill the log (1,900 bad dates in a 92 KB request wrote 1.3 MB to it).
logging.getLogger("rdflib.term").setLevel(logging.ERROR)
CASE_SHAPES = "case-shapes.ttl"
KG_SHAPES = "kg-shapes.ttl"


class UnreadableCaseError(ValueError):
    """A case graph that cannot be read: a syntax error (with its line) or an unknown format
    (400)."""

    status = 400

    def __init__(self, source: str, message: str, line: int | None = None) -> None:
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")
        self.source = source
        self.message = message
        self.line = line

    def to_json(self) -> dict[str, object]:
        """The error as the JSON API gives it: the message, and the line where it is."""
        return {"message": str(self), "line": self.line}


@dataclass(frozen=True)
class ValidationResult:
    """One SHACL validation result, with its message in each language the shape gives."""

    focus_node: str
    source_shape: str
    severity: str
    path: str | None
    value: str | None
    messages: dict[str, str]

    def message(self, lang: str = "en") -> str:
        return (
            self.messages.get(lang)
            or self.messages.get("en")
            or next(iter(self.messages.values()), "")
        )

    def to_json(self) -> dict[str, object]:
        return {
            "focusNode": self.focus_node,
            "sourceShape": self.source_shape,
            "severity": self.severity,
            "resultPath": self.path,
            "value": self.value,
            "message": self.messages,
        }


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating one case graph; ``graph`` is pySHACL's report as RDF."""

    source: str
    conforms: bool
    results: list[ValidationResult] = field(default_factory=list)
    graph: rdflib.Graph = field(default_factory=rdflib.Graph, repr=False, compare=False)

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "conforms": self.conforms,
            "results": [result.to_json() for result in self.results],
        }

    def text(self, lang: str = "en") -> str:
        """A readable report: one line for the verdict, one per result."""
        if self.conforms:
            return f"{self.source}: conforms"
        count = len(self.results)
        lines = [f"{self.source}: does not conform ({count} result{'s' * (count != 1)})"]
        for result in self.results:
            severity = result.severity.rsplit("#", 1)[-1]
            shape = result.source_shape.rsplit("/", 1)[-1]
            path = f" {result.path}" if result.path else ""
            value = f" = {result.value}" if result.value is not None else ""
            lines.append(f"  {severity} [{shape}] <{result.focus_node}>{path}{value}")
            lines.append(f"    {result.message(lang)}")
        return "\n".join(lines)


def case_format_for(name: str) -> ox.RdfFormat:
    """The RDF format of a case file, by its extension."""
    suffix = Path(name).suffix.lower()
    try:
        return CASE_FORMATS[suffix]
    except KeyError:
        known = ", ".join(CASE_FORMATS)
        raise UnreadableCaseError(
            name, f"unknown case graph format {suffix or '(no extension)'!r}; use {known}"
        ) from None


def parse_case(data: bytes | str, rdf_format: ox.RdfFormat, source: str) -> rdflib.Graph:
    """Parse a case graph from ``data`` alone; raise :class:`UnreadableCaseError` with the
    parser's message and line."""
    return case_graph(parse_case_triples(data, rdf_format, source))


def parse_case_triples(data: bytes | str, rdf_format: ox.RdfFormat, source: str) -> list[ox.Triple]:
    """The triples of a case graph read from ``data`` alone (the graphs of a dataset merged);
    :class:`UnreadableCaseError` with the parser's message and line."""
    if rdf_format == ox.RdfFormat.JSON_LD:
        _check_json_ld(data, source)
    try:
        return [quad.triple for quad in ox.parse(data, rdf_format, rename_blank_nodes=True)]
    except SyntaxError as error:
        raise UnreadableCaseError(source, error.msg, error.lineno) from error
    except ValueError as error:  # e.g. bytes that are not UTF-8
        raise UnreadableCaseError(source, str(error)) from error


# JSON-LD that the parser would recurse into until its stack overflows (a crash, not an
# error): objects nested thousands deep, or a context whose terms are defined by one another in
# a chain of thousands. A case graph needs a few dozen of either.
MAX_JSON_LD_DEPTH = 256
MAX_JSON_LD_CONTEXT_TERMS = 1000


def _check_json_ld(data: bytes | str, source: str) -> None:
    text = data.encode() if isinstance(data, str) else data
    try:
        check_json_depth(text, MAX_JSON_LD_DEPTH)
        document = json.loads(text)
    except InputTooDeepError as error:
        raise UnreadableCaseError(source, str(error)) from None
    except (ValueError, RecursionError):
        return  # not JSON: the parser says where
    terms = _context_terms(document)
    if terms > MAX_JSON_LD_CONTEXT_TERMS:
        raise UnreadableCaseError(
            source,
            f"the JSON-LD contexts define {terms} terms; the limit is {MAX_JSON_LD_CONTEXT_TERMS}",
        )


def _context_terms(value: object, in_context: bool = False) -> int:
    """How many keys the ``@context`` values within ``value`` hold (nested ones included)."""
    if isinstance(value, list):
        return sum(_context_terms(item, in_context) for item in value)
    if not isinstance(value, dict):
        return 0
    count = len(value) if in_context else 0
    for key, item in value.items():
        count += _context_terms(item, in_context or key == "@context")
    return count


def case_graph(triples: Iterable[ox.Triple]) -> rdflib.Graph:
    """The rdflib graph of ``triples``, as pySHACL takes it."""
    graph = rdflib.Graph()
    for triple in triples:
        graph.add(
            (_to_rdflib(triple.subject), _to_rdflib(triple.predicate), _to_rdflib(triple.object))
        )
    return graph


class CaseStatements:
    """The statements of a case graph, read as :meth:`rdflib.Graph.value`, ``objects`` and
    ``subjects`` read the :func:`case_graph` of the same statements (the first object in
    statement order; each term as :func:`case_graph` converts it, so literals read the same),
    without building that graph: what the lookup reads of a case is a dozen statements."""

    def __init__(self, triples: Iterable[ox.Triple]) -> None:
        self._triples = list(triples)
        self._by_subject: dict[tuple[bool, str, str], list[ox.Term]] = {}
        for subject, predicate, obj in self._triples:
            objects = self._by_subject.setdefault(
                (isinstance(subject, ox.BlankNode), subject.value, predicate.value), []
            )
            if obj not in objects:
                objects.append(obj)

    def objects(
        self, subject: rdflib.term.Node, predicate: rdflib.URIRef
    ) -> Iterable[rdflib.term.Node]:
        if not isinstance(subject, rdflib.URIRef | rdflib.BNode):
            return []
        key = (isinstance(subject, rdflib.BNode), str(subject), str(predicate))
        return [_to_rdflib(obj) for obj in self._by_subject.get(key, [])]

    def value(self, subject: rdflib.term.Node, predicate: rdflib.URIRef) -> rdflib.term.Node | None:
        if not isinstance(subject, rdflib.URIRef | rdflib.BNode):
            return None
        key = (isinstance(subject, rdflib.BNode), str(subject), str(predicate))
        objects = self._by_subject.get(key)
        return _to_rdflib(objects[0]) if objects else None

    def subjects(
        self, predicate: rdflib.URIRef, obj: rdflib.URIRef | None = None
    ) -> Iterable[rdflib.term.Node]:
        """The subjects with ``predicate``, to ``obj`` (an IRI) if given, else to any object."""
        found: list[rdflib.term.Node] = []
        for subject, p, o in self._triples:
            if p.value != str(predicate):
                continue
            if obj is None or (isinstance(o, ox.NamedNode) and o.value == str(obj)):
                node = _to_rdflib(subject)
                if node not in found:
                    found.append(node)
        return found


def read_case_file(path: str | Path) -> rdflib.Graph:
    """Read a case graph file (Turtle, N-Triples or JSON-LD, by extension)."""
    return case_graph(read_case_triples(path))


def read_case_triples(path: str | Path) -> list[ox.Triple]:
    """The triples of a case graph file (Turtle, N-Triples or JSON-LD, by extension)."""
    path = Path(path)
    rdf_format = case_format_for(path.name)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UnreadableCaseError(str(path), error.strerror or str(error)) from error
    return parse_case_triples(data, rdf_format, str(path))


class ShapesValidator:
    """Validates data graphs with one shapes file, against the ontology and knowledge graph.

    The shapes and the context graph are converted to rdflib once; each validation copies the
    context into a fresh data graph, so no case sees another's triples.
    """

    def __init__(self, shapes: rdflib.Graph, context: rdflib.Graph) -> None:
        self.shapes = shapes
        self.context = context

    @classmethod
    def for_cases(cls, store: KnowledgeStore) -> ShapesValidator:
        """The validator of case graphs (``ontology/case-shapes.ttl``)."""
        return cls(_shapes_graph(CASE_SHAPES, store.base), _context_graph(store))

    @classmethod
    def for_knowledge_graph(cls, store: KnowledgeStore) -> ShapesValidator:
        """The validator of the knowledge graph itself (``ontology/kg-shapes.ttl``)."""
        return cls(_shapes_graph(KG_SHAPES, store.base), _context_graph(store))

    def validate(self, case: rdflib.Graph | None = None, source: str = "case") -> ValidationReport:
        """Validate ``case`` (or, with none, the context alone: the knowledge graph)."""
        # pySHACL is imported here: it takes a third of a second, which the CLI's other
        # commands and the server's start-up need not pay.
        import pyshacl

        data = rdflib.Graph()
        data += self.context
        if case is not None:
            data += case
        conforms, report_graph, _ = pyshacl.validate(
            data,
            shacl_graph=self.shapes,
            inference="none",
            inplace=True,
            allow_warnings=True,
        )
        return ValidationReport(
            source=source,
            conforms=bool(conforms),
            results=results_of(report_graph, self.shapes),
            graph=report_graph,
        )


def _shapes_graph(file_name: str, base: str) -> rdflib.Graph:
    (entry,) = [entry for entry in resources.shapes_files() if entry.name == file_name]
    return rdflib.Graph().parse(data=resources.read_data_text(entry, base), format="turtle")


def _context_graph(store: KnowledgeStore) -> rdflib.Graph:
    context = rdflib.Graph()
    for name in CONTEXT_GRAPHS:
        for quad in store.quads(store.graph_iri(name)):
            context.add(
                (_to_rdflib(quad.subject), _to_rdflib(quad.predicate), _to_rdflib(quad.object))
            )
    return context


def results_of(report: rdflib.Graph, shapes: rdflib.Graph) -> list[ValidationResult]:
    results = []
    for node in report.subjects(RDF.type, SH.ValidationResult):
        # pySHACL drops the language tags of a SPARQL constraint's messages, so the messages
        # are read from the shape (or its SPARQL constraint) with their tags intact.
        messages: dict[str, str] = {}
        for origin in (
            report.value(node, SH.sourceConstraint),
            report.value(node, SH.sourceShape),
        ):
            for message in shapes.objects(origin, SH.message) if origin is not None else ():
                if isinstance(message, rdflib.Literal):
                    messages.setdefault(message.language or "en", str(message))
            if messages:
                break
        for message in report.objects(node, SH.resultMessage):
            if isinstance(message, rdflib.Literal):
                messages.setdefault(message.language or "en", str(message))
        path = report.value(node, SH.resultPath)
        value = report.value(node, SH.value)
        results.append(
            ValidationResult(
                focus_node=str(report.value(node, SH.focusNode)),
                source_shape=str(report.value(node, SH.sourceShape)),
                severity=str(report.value(node, SH.resultSeverity)),
                path=str(path) if isinstance(path, rdflib.URIRef) else None,
                value=str(value) if value is not None else None,
                messages=messages,
            )
        )
    return sorted(results, key=lambda r: (r.focus_node, r.source_shape, r.value or ""))


def _to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> rdflib.term.Node:
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))


def reports_json(reports: list[ValidationReport]) -> str:
    """Several reports as one JSON document for scripts: a summary and each report."""
    summary = {
        "cases": len(reports),
        "conforming": sum(report.conforms for report in reports),
        "results": sum(len(report.results) for report in reports),
    }
    return json.dumps(
        {"summary": summary, "reports": [report.to_json() for report in reports]},
        ensure_ascii=False,
        indent=2,
    )
