"""The work a worker process does on untrusted input, and how the web process reads it back.

Three kinds of job, each a small frozen dataclass that crosses the process boundary:

- :class:`QueryJob`: a SPARQL query over the worker's copy of the store, answered as SPARQL
  JSON (solutions, booleans) or N-Triples (graphs), at most ``max_rows`` rows;
- :class:`ParseJob`: a case graph in Turtle, N-Triples or JSON-LD, answered as N-Triples, so
  that a parser crash costs a worker and never the web process;
- :class:`ValidateJob`: a case graph validated with pySHACL against the case shapes, answered
  as the report's JSON (and Turtle when asked).

Each answer is a tuple whose first item names its kind; :func:`handle` makes it in the worker and
the ``read_*`` functions turn it back into results or the exceptions the web layer maps to
statuses. Whatever goes wrong inside a job is answered, never raised: a worker outlives every
job but one that crashes or outruns its limits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
import rdflib

from odr_kg.limits import LimitError
from odr_kg.namespaces import odr_term
from odr_kg.rdf import as_query_triples
from odr_kg.store import EmbeddedStore, KnowledgeStore, QueryResult, QuerySyntaxError
from odr_kg.validation import (
    ShapesValidator,
    UnreadableCaseError,
    case_graph,
    parse_case,
    parse_case_triples,
)

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


class JobFailedError(Exception):
    """The engine could not carry out the job (e.g. an allowed SERVICE did not answer)."""

    status = 502


class CaseTooLargeError(LimitError):
    """A case graph holding more triples or cases than one request may ask about (413)."""

    status = 413


@dataclass(frozen=True)
class QueryJob:
    """One query: the arguments of :meth:`KnowledgeStore.query` and the row cap."""

    sparql: str
    default_graphs: tuple[str, ...] | None
    named_graphs: tuple[str, ...] | None
    base_iri: str | None
    max_rows: int
    max_bytes: int = 8 * 1024 * 1024

    @classmethod
    def of(
        cls,
        sparql: str,
        default_graphs: Sequence[str] | None,
        named_graphs: Sequence[str] | None,
        base_iri: str | None,
        max_rows: int,
        max_bytes: int = 8 * 1024 * 1024,
    ) -> QueryJob:
        return cls(
            sparql,
            None if default_graphs is None else tuple(default_graphs),
            None if named_graphs is None else tuple(named_graphs),
            base_iri,
            max_rows,
            max_bytes,
        )


@dataclass(frozen=True)
class CaseBounds:
    """How much one case graph may hold: triples, and resources typed ``odr:Case``."""

    max_triples: int
    max_cases: int


@dataclass(frozen=True)
class ParseJob:
    """A case graph to read: its bytes, media type (``text/turtle``...) and a name for errors."""

    data: bytes
    media_type: str
    source: str
    bounds: CaseBounds


@dataclass(frozen=True)
class ValidateJob(ParseJob):
    """A case graph to read and validate; ``turtle`` asks for the report graph as well."""

    turtle: bool = False


@dataclass(frozen=True)
class QueryAnswer:
    """A query's result read back from a worker, and whether rows were cut off at the cap."""

    result: QueryResult
    truncated: bool


class WorkerState:
    """What a worker holds: its copy of the store, and the case validator built over it."""

    def __init__(self, store: KnowledgeStore, validate: bool) -> None:
        self.store = store
        self.case_class = ox.NamedNode(odr_term("Case", store.base))
        self.validator = ShapesValidator.for_cases(store) if validate else None
        if self.validator is not None:
            # pySHACL parses its SPARQL constraints on first use: once, here, not in a job.
            self.validator.validate(rdflib.Graph(), "warm-up")


def handle(state: WorkerState, job: object) -> tuple[Any, ...]:
    """The answer to ``job``; an unexpected failure is answered as ``("failed", message)``."""
    try:
        if isinstance(job, QueryJob):
            return evaluate(state.store, job)
        if isinstance(job, ValidateJob):
            return _validate(state, job)
        if isinstance(job, ParseJob):
            triples = _read_case(state, job)
            return ("triples", ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
        return ("failed", f"unknown job {type(job).__name__}")
    except UnreadableCaseError as error:
        return ("unreadable", error.source, error.message, error.line)
    except CaseTooLargeError as error:
        return ("too-large", str(error))
    except Exception as error:  # noqa: BLE001 - a job's failure is its answer, not the worker's end
        return ("failed", f"{type(error).__name__}: {error}")


def evaluate(store: KnowledgeStore, job: QueryJob) -> tuple[Any, ...]:
    """``("syntax", message)``, or the kind of result, its encoding and whether it was cut.
    pyoxigraph evaluates lazily: errors may come while the rows are read, so encoding is
    inside the same ``try``."""
    try:
        result = store.query(
            job.sparql,
            None if job.default_graphs is None else list(job.default_graphs),
            None if job.named_graphs is None else list(job.named_graphs),
            job.base_iri,
        )
        return encode(result, job.max_rows, job.max_bytes)
    except QuerySyntaxError as error:
        return ("syntax", error.message)
    except (OSError, RuntimeError, ValueError) as error:  # evaluation errors, e.g. SERVICE
        return ("failed", str(error))


def _read_case(state: WorkerState, job: ParseJob) -> list[ox.Triple]:
    rdf_format = ox.RdfFormat.from_media_type(job.media_type)
    if rdf_format is None:
        raise UnreadableCaseError(job.source, f"unknown media type {job.media_type}")
    triples = parse_case_triples(job.data, rdf_format, job.source)
    bounds = job.bounds
    if len(triples) > bounds.max_triples:
        raise CaseTooLargeError(
            f"the case graph holds {len(triples)} triples; the limit is {bounds.max_triples} "
            "per request: send fewer, or validate a corpus with `odr-kg validate`"
        )
    cases = {t.subject for t in triples if t.predicate == RDF_TYPE and t.object == state.case_class}
    if len(cases) > bounds.max_cases:
        raise CaseTooLargeError(
            f"the request describes {len(cases)} cases; the limit is {bounds.max_cases} per "
            "request: split them over several requests, or use `odr-kg validate` for a corpus"
        )
    return triples


def _validate(state: WorkerState, job: ValidateJob) -> tuple[Any, ...]:
    if state.validator is None:
        return ("failed", "this worker does not validate")
    report = state.validator.validate(case_graph(_read_case(state, job)), job.source)
    turtle = report.graph.serialize(format="turtle").encode() if job.turtle else None
    return ("report", report.to_json(), turtle)


# Reading the answers back ---------------------------------------------------------------------


def read_outcome(outcome: tuple[Any, ...]) -> Any:
    """The result an answer of :func:`handle` carries, or the error it reports: a
    :class:`QueryAnswer`, an rdflib graph (parse), or ``(report JSON, Turtle or None)``."""
    kind = outcome[0]
    if kind == "syntax":
        raise QuerySyntaxError(outcome[1])
    if kind == "failed":
        raise JobFailedError(f"the request could not be carried out: {outcome[1]}")
    if kind == "unreadable":
        raise UnreadableCaseError(outcome[1], outcome[2], outcome[3])
    if kind == "too-large":
        raise CaseTooLargeError(outcome[1])
    if kind == "triples":
        return parse_case(outcome[1], ox.RdfFormat.N_TRIPLES, "worker answer")
    if kind == "report":
        return outcome[1], outcome[2]
    return QueryAnswer(decode(kind, outcome[1]), truncated=outcome[2])


def encode(
    result: QueryResult, max_rows: int, max_bytes: int = 8 * 1024 * 1024
) -> tuple[str, bytes, bool]:
    """``result`` as ``(kind, bytes, truncated)``: at most ``max_rows`` solutions or triples,
    and no more of them than fit in ``max_bytes`` encoded (a row that does not fit is cut with
    those after it, as rows over the cap are)."""
    if isinstance(result, ox.QueryBoolean):
        return ("boolean", result.serialize(format=ox.QueryResultsFormat.JSON), False)
    if isinstance(result, ox.QueryTriples):
        lines = _fitting(
            (ox.serialize([triple], format=ox.RdfFormat.N_TRIPLES) for triple in result),
            max_rows,
            max_bytes,
        )
        return ("graph", b"".join(lines), lines.truncated)
    variables = [variable.value for variable in result.variables]
    head = json.dumps({"vars": variables}).encode()
    rows = _fitting(
        (
            json.dumps(
                {
                    name: json_term(solution[name])
                    for name in variables
                    if solution[name] is not None
                }
            ).encode()
            for solution in result
        ),
        max_rows,
        max_bytes - len(head) - 64,
    )
    body = b'{"head":' + head + b',"results":{"bindings":[' + b",".join(rows) + b"]}}"
    return ("solutions", body, rows.truncated)


class _Fitted(list[bytes]):
    truncated = False


def _fitting(encoded: Iterator[bytes], max_rows: int, max_bytes: int) -> _Fitted:
    """The first of the ``encoded`` rows, as many as fit in ``max_rows`` and ``max_bytes``
    (a separator's byte counted for each)."""
    fitted, size = _Fitted(), 0
    for row in encoded:
        size += len(row) + 1
        if len(fitted) >= max_rows or size > max_bytes:
            fitted.truncated = True
            break
        fitted.append(row)
    return fitted


def decode(kind: str, body: bytes) -> QueryResult:
    """The pyoxigraph result object of an :func:`encode`\\ d result."""
    if kind == "graph":
        return as_query_triples([quad.triple for quad in ox.parse(body, ox.RdfFormat.N_TRIPLES)])
    return ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)


def json_term(term: ox.Term) -> dict[str, Any]:
    """A term in the SPARQL 1.1 Query Results JSON format (RDF-star triples included)."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        encoded: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            encoded["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            encoded["datatype"] = term.datatype.value
        return encoded
    return {
        "type": "triple",
        "value": {
            "subject": json_term(term.subject),
            "predicate": json_term(term.predicate),
            "object": json_term(term.object),
        },
    }


def open_worker_state(base: str, path: str | None, dump: bytes, validate: bool) -> WorkerState:
    """A worker's state: the store on disk at ``path`` opened read-only (the web process holds
    it open for writing), or the store the N-Quads ``dump`` describes."""
    if path is not None:
        store: KnowledgeStore = EmbeddedStore.read_only(base, path)
    else:
        graphs: dict[str, list[ox.Triple]] = {}
        for quad in ox.parse(dump, ox.RdfFormat.N_QUADS):
            graphs.setdefault(quad.graph_name.value, []).append(quad.triple)
        store = EmbeddedStore(base)
        store.add_graphs(graphs)
    return WorkerState(store, validate)
