"""The SPARQL 1.1 Protocol over the knowledge store: reading a request, formats and the service
description. No Flask here: the blueprint in :mod:`odr_kg.web.sparql` hands in plain values.
What people see (the result table, the example questions) is :mod:`odr_kg.workbench`'s work.

The endpoint is read-only. Updates are refused, and so are queries that would reach outside the
store (``SERVICE``; ``LOAD`` belongs to updates but is named for clarity), before pyoxigraph
sees them. ``default-graph-uri`` and ``named-graph-uri`` name graphs of our own dataset.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import pyoxigraph as ox

from odr_kg import formats
from odr_kg.limits import check_query_length
from odr_kg.rdf import QueryResult
from odr_kg.sparql_tokens import keywords, service_targets
from odr_kg.store import GRAPH_NAMES, KnowledgeStore

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
QUERY_MEDIA_TYPE = "application/sparql-query"
UPDATE_MEDIA_TYPE = "application/sparql-update"

# The kinds of result, and for each the media types we answer with, preferred first, mapped to
# the serialization names of odr_kg.store. The first entry is what a client without Accept gets.
RESULT_MEDIA_TYPES: dict[str, dict[str, str]] = {
    kind: {
        media_type: fmt.name
        for media_type, fmt in formats.by_media_type(kind_formats, every=True).items()
    }
    for kind, kind_formats in formats.FORMATS_OF_KIND.items()
}
# The `format` parameter: a short name (or a media type of the table above) per kind of result.
# The aliases are the names SPARQLWrapper sends (`xml` and `rdf` mean RDF/XML for a graph).
FORMAT_NAMES: dict[str, dict[str, str]] = {
    kind: {fmt.name: fmt.media_type for fmt in kind_formats}
    | {alias: fmt.media_type for fmt in kind_formats for alias in fmt.aliases}
    for kind, kind_formats in formats.FORMATS_OF_KIND.items()
}
# What a service description is served as; text/html is the page for people.
DESCRIPTION_MEDIA_TYPES: dict[str, str] = {
    fmt.media_type: fmt.name for fmt in formats.named("turtle", "ntriples", "jsonld", "rdfxml")
}

# Keywords refused before evaluation, with the reason given to the client.
FORBIDDEN_KEYWORDS = {
    "SERVICE": "SERVICE (federated query) is not available: this endpoint calls no other "
    "endpoint; remove the SERVICE clause (the engine also reads a word holding SERVICE, such "
    "as SERVICESILENT, and a prefixed name beginning with it before a group, such as "
    "service:x { ... }, as the keyword)",
    "LOAD": "LOAD is not available: this endpoint is read-only and fetches no URL",
}

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")

SD = "http://www.w3.org/ns/sparql-service-description#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_COMMENT = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
VOID_TRIPLES = ox.NamedNode("http://rdfs.org/ns/void#triples")
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")


class ProtocolError(Exception):
    """Base class of the reasons a SPARQL Protocol request is not answered; ``status`` is the
    HTTP status."""

    status = 400


class MalformedRequestError(ProtocolError):
    """The request breaks the protocol: no query, two queries, a body that is not UTF-8..."""


class UnsupportedMediaTypeError(ProtocolError):
    """A POST body of a media type or charset the protocol does not allow for a query."""

    status = 415


class UpdateRefusedError(ProtocolError):
    """A SPARQL Update: this endpoint is read-only."""

    status = 403


class ForbiddenQueryError(ProtocolError):
    """A query using a feature that would reach outside the store (``SERVICE``)."""


class NotAcceptableError(ProtocolError):
    """No result format fits both the result and what the client accepts."""

    status = 406


@dataclass(frozen=True)
class ProtocolRequest:
    """A query operation: the query text, the protocol dataset and the `format` values."""

    query: str
    default_graphs: list[str] | None = None
    named_graphs: list[str] | None = None
    formats: list[str] = field(default_factory=list)
    # Whether the query calls (allowed) SERVICE endpoints.
    federated: bool = False


def is_operation(args: Mapping[str, Sequence[str]]) -> bool:
    """Whether URL parameters ``args`` ask for an operation; a GET without one gets the
    service description."""
    return "query" in args or "update" in args


def read_request(
    method: str,
    mimetype: str,
    mimetype_params: Mapping[str, str],
    args: Mapping[str, Sequence[str]],
    body: bytes,
    allowed_services: Collection[str] = (),
    max_length: int | None = None,
) -> ProtocolRequest:
    """The query operation of an HTTP request, or a :class:`ProtocolError` saying why not.

    ``args`` are the URL parameters (every value of each), ``mimetype`` and
    ``mimetype_params`` the request's ``Content-Type``, ``body`` its raw body. A ``SERVICE``
    is refused unless it names, as a full ``<IRI>``, one of ``allowed_services``. A query
    longer than ``max_length`` characters is refused before any of it is read.
    """
    params = {name: list(values) for name, values in args.items()}
    if method == "HEAD":
        method = "GET"
    if method == "POST":
        if mimetype == UPDATE_MEDIA_TYPE:
            raise UpdateRefusedError("SPARQL Update is refused: this endpoint is read-only")
        if mimetype not in (FORM_MEDIA_TYPE, QUERY_MEDIA_TYPE):
            given = f"Content-Type {mimetype!r}" if mimetype else "no Content-Type"
            raise UnsupportedMediaTypeError(
                f"a query by POST needs Content-Type {FORM_MEDIA_TYPE} or {QUERY_MEDIA_TYPE}; "
                f"the request has {given}"
            )
        text = _utf8_body(body, mimetype_params)
        if mimetype == QUERY_MEDIA_TYPE:
            if "query" in params:
                raise MalformedRequestError(
                    f"a {QUERY_MEDIA_TYPE} POST carries the query in its body; "
                    "remove the query parameter from the URL"
                )
            params["query"] = [text]
        else:
            try:
                form = parse_qs(text, keep_blank_values=True, errors="strict")
            except UnicodeDecodeError as error:
                raise MalformedRequestError(f"the form is not UTF-8: {error}") from None
            for name, values in form.items():
                params.setdefault(name, []).extend(values)

    if "update" in params:
        raise UpdateRefusedError("SPARQL Update is refused: this endpoint is read-only")
    queries = params.get("query", [])
    if len(queries) != 1:
        raise MalformedRequestError(
            "no query parameter"
            if not queries
            else f"the query parameter is given {len(queries)} times; give it once"
        )
    query = queries[0]
    check_query_length(query, max_length)
    words = keywords(query)
    for word in words:
        if word in FORBIDDEN_KEYWORDS and not (word == "SERVICE" and allowed_services):
            raise ForbiddenQueryError(FORBIDDEN_KEYWORDS[word])
    if "SERVICE" in words:
        _check_services(query, words.count("SERVICE"), allowed_services)
    default_graphs = _graph_iris(params, "default-graph-uri")
    named_graphs = _graph_iris(params, "named-graph-uri")
    if default_graphs is not None or named_graphs is not None:
        default_graphs, named_graphs = default_graphs or [], named_graphs or []
    # An empty format (a form's "default" choice) leaves the choice to Accept.
    formats = [value for value in params.get("format", []) if value]
    return ProtocolRequest(query, default_graphs, named_graphs, formats, "SERVICE" in words)


def _check_services(query: str, count: int, allowed: Collection[str]) -> None:
    targets = service_targets(query)
    # The tokenizer errs towards seeing SERVICE; one it cannot place is refused.
    if len(targets) != count or None in targets:
        raise ForbiddenQueryError(
            "SERVICE must name its endpoint as a full <IRI>, one of: " + ", ".join(allowed)
        )
    refused = [target for target in targets if target not in allowed]
    if refused:
        raise ForbiddenQueryError(
            f"SERVICE <{refused[0]}> is not allowed; this endpoint calls only: "
            + ", ".join(allowed)
        )


def _utf8_body(body: bytes, mimetype_params: Mapping[str, str]) -> str:
    charset = mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaTypeError(f"the body must be UTF-8, not {charset!r}")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedRequestError(f"the body is not UTF-8: {error}") from None


def _graph_iris(params: Mapping[str, list[str]], name: str) -> list[str] | None:
    if name not in params:
        return None
    for iri in params[name]:
        try:
            ox.NamedNode(iri)
        except ValueError:
            raise MalformedRequestError(f"{name} is not an absolute IRI: {iri!r}") from None
        if not _SCHEME.match(iri):
            raise MalformedRequestError(f"{name} is not an absolute IRI: {iri!r}")
    return list(params[name])


def result_kind(result: QueryResult) -> str:
    """``boolean`` (ASK), ``solutions`` (SELECT) or ``graph`` (CONSTRUCT, DESCRIBE)."""
    if isinstance(result, ox.QueryBoolean):
        return "boolean"
    if isinstance(result, ox.QueryTriples):
        return "graph"
    return "solutions"


def requested_media_type(kind: str, formats: Sequence[str]) -> str | None:
    """The media type the ``format`` parameter values ask for (the first that fits ``kind``),
    ``None`` when there is none; :class:`NotAcceptableError` when none fits."""
    if not formats:
        return None
    names = FORMAT_NAMES[kind]
    for value in formats:
        if value in names:
            return names[value]
        if value in RESULT_MEDIA_TYPES[kind]:
            return value
    raise NotAcceptableError(
        f"format {', '.join(map(repr, formats))} does not fit a {kind} result; "
        f"use one of {', '.join(names)}"
    )


def service_description(endpoint: str, store: KnowledgeStore) -> list[ox.Triple]:
    """The SPARQL 1.1 Service Description of the endpoint at ``endpoint``: what it answers, in
    which formats, and the dataset: every named graph of ``store``, the default graph being
    their union."""
    service = ox.NamedNode(endpoint)
    dataset = ox.BlankNode("dataset")
    default_graph = ox.BlankNode("defaultGraph")

    def sd(term: str) -> ox.NamedNode:
        return ox.NamedNode(SD + term)

    triples = [
        ox.Triple(service, RDF_TYPE, sd("Service")),
        ox.Triple(service, sd("endpoint"), service),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(service, sd("feature"), sd("UnionDefaultGraph")),
        ox.Triple(
            service,
            RDFS_COMMENT,
            ox.Literal(
                "Read-only SPARQL 1.1 Query endpoint of the ODR knowledge graph. SPARQL Update, "
                "SERVICE and LOAD are refused. default-graph-uri and named-graph-uri name graphs "
                "of this dataset (an unknown name is an empty graph); nothing is fetched.",
                language="en",
            ),
        ),
        ox.Triple(service, sd("defaultDataset"), dataset),
        ox.Triple(dataset, RDF_TYPE, sd("Dataset")),
        ox.Triple(dataset, sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, RDF_TYPE, sd("Graph")),
        ox.Triple(
            default_graph,
            RDFS_COMMENT,
            ox.Literal(
                "The union of all the named graphs (a query with FROM or FROM NAMED, or a "
                "request with default-graph-uri or named-graph-uri, chooses its own).",
                language="en",
            ),
        ),
    ]
    for fmt in formats.FORMATS:
        triples.append(ox.Triple(service, sd("resultFormat"), ox.NamedNode(fmt.w3c_iri)))
    own = {store.graph_iri(name) for name in GRAPH_NAMES}
    for index, (iri, size) in enumerate(store.graph_sizes().items()):
        named_graph = ox.BlankNode(f"namedGraph{index}")
        graph = ox.BlankNode(f"graph{index}")
        triples += [
            ox.Triple(dataset, sd("namedGraph"), named_graph),
            ox.Triple(named_graph, RDF_TYPE, sd("NamedGraph")),
            ox.Triple(named_graph, sd("name"), ox.NamedNode(iri)),
            ox.Triple(named_graph, sd("graph"), graph),
            ox.Triple(graph, RDF_TYPE, sd("Graph")),
            ox.Triple(graph, VOID_TRIPLES, ox.Literal(str(size), datatype=XSD_INTEGER)),
        ]
        if iri not in own:
            triples.append(
                ox.Triple(
                    graph,
                    RDFS_COMMENT,
                    ox.Literal("Loaded at start-up with odr-kg serve --data.", language="en"),
                )
            )
    return triples
