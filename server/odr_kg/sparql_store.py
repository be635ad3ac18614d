"""The knowledge store on an external SPARQL 1.1 store (Oxigraph server, Fuseki, Virtuoso,
GraphDB...), reached over HTTP with SPARQLWrapper.

Queries go to the query endpoint; writes go to the Graph Store Protocol endpoint when one is
given (``PUT`` replaces a graph in one request) and otherwise to the update endpoint as SPARQL
Update (``DROP SILENT GRAPH`` then ``INSERT DATA``, in one request). Every failure of the store
(down, slow, refusing, answering nonsense) becomes one of the :class:`ExternalStoreError`
subclasses, never a hang: each request has a timeout.

The union default graph: our queries expect the default graph to be the union of the named
graphs. Oxigraph server gives it per request with the ``union-default-graph`` parameter
(:data:`OXIGRAPH_UNION_PARAMETER`); Virtuoso's default graph is the union already, and Fuseki's
is with ``tdb2:unionDefaultGraph``: for those, pass ``union_parameter=None``.

Credentials: an update or Graph Store endpoint written ``http://user:password@host/path`` is
sent those credentials (HTTP Basic or Digest, whichever the store asks for) and the URL without
them; the query endpoint should need none. Virtuoso's ``/sparql`` refuses updates to its
anonymous user; it takes Graph Store writes at ``/sparql-graph-crud-auth`` (and SPARQL Update at
``/sparql-auth``, though its SPARQL compiler refuses an ``INSERT DATA`` as big as our graphs)
from an account with the ``SPARQL_UPDATE`` role.

Virtuoso 7.2 answers ``ASK`` with a one-column table (``__ASK_RETVAL``, 1 or no row) rather than
a boolean, and a ``CONSTRUCT`` with a table of ``s p o`` rows rather than a graph;
:meth:`SparqlEndpointStore.query` reads each as what it stands for.

Row caps: some stores cut a SELECT result at a configured number of rows without saying so
(Virtuoso's ``ResultSetMaxRows``). Given ``max_rows``, a result of exactly that many rows is
taken to be cut and raises :class:`TruncatedResultError` rather than pass as complete; the
reads this module makes itself (graph contents, sizes) page with ``LIMIT``/``OFFSET`` below
the cap.
"""

from __future__ import annotations

import re
import socket
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator, Mapping, Sequence
from http.client import HTTPException

import pyoxigraph as ox
from SPARQLWrapper import INSERT, POST, SELECT, SPARQLWrapper

from odr_kg import formats, resources
from odr_kg.http_credentials import credentials_opener, split_credentials
from odr_kg.rdf import QueryResult, as_query_triples, query_boolean, query_solutions
from odr_kg.sparql_tokens import keywords
from odr_kg.store import DEFAULT_TIMEOUT, OXIGRAPH_UNION_PARAMETER, KnowledgeStore
from odr_kg.store_errors import (
    ExternalStoreError,
    QuerySyntaxError,
    StoreResponseError,
    StoreTimeoutError,
    StoreUnavailableError,
)

# What we ask for: SPARQL JSON results for SELECT and ASK, N-Triples for CONSTRUCT and DESCRIBE.
ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9, text/turtle;q=0.8"
# The formats of the answers we read, by the media type the store labels them with.
RESULTS_BY_MEDIA_TYPE: dict[str, ox.QueryResultsFormat] = {
    media_type: fmt.syntax
    for media_type, fmt in formats.by_media_type(formats.named("json", "xml"), every=True).items()
}
GRAPHS_BY_MEDIA_TYPE: dict[str, ox.RdfFormat] = {
    media_type: fmt.syntax
    for media_type, fmt in formats.by_media_type(
        formats.named("ntriples", "turtle"), every=True
    ).items()
}
# Rows per page when this module reads a whole graph; below Virtuoso's shipped cap.
PAGE_ROWS = 10_000
# The variable of Virtuoso's table-shaped answer to ASK.
VIRTUOSO_ASK_VARIABLE = "__ASK_RETVAL"


class TruncatedResultError(StoreResponseError):
    """A SELECT result has as many rows as the store's cap: it may be cut short."""


class SparqlEndpointStore(KnowledgeStore):
    """A knowledge store on the SPARQL 1.1 store at ``endpoint``.

    ``update_endpoint`` (default: ``endpoint``) takes SPARQL Update; ``graph_store``, when
    given, takes Graph Store Protocol writes. ``timeout`` bounds each HTTP request, in seconds.
    """

    in_process = False
    # Other clients of the store may write to it: :attr:`generation` moves only with the
    # writes made through this object.
    sees_every_write = False

    def __init__(
        self,
        endpoint: str,
        base: str = resources.DEFAULT_BASE,
        update_endpoint: str | None = None,
        graph_store: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        union_parameter: str | None = OXIGRAPH_UNION_PARAMETER,
        max_rows: int | None = None,
    ) -> None:
        super().__init__(base)
        self.endpoint = endpoint
        self.update_endpoint, update_credentials = split_credentials(update_endpoint or endpoint)
        self.graph_store, graph_store_credentials = (
            split_credentials(graph_store) if graph_store is not None else (None, None)
        )
        self._opener = credentials_opener(
            {self.update_endpoint: update_credentials, self.graph_store: graph_store_credentials}
        )
        self.timeout = timeout
        self.union_parameter = union_parameter
        self.max_rows = max_rows
        self.use_packaged_prefixes()

    # Reading ------------------------------------------------------------------------------

    def query(
        self,
        sparql: str,
        default_graphs: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        if base_iri is not None and "BASE" not in keywords(sparql):
            # On the first line, so that the store's error messages keep their line numbers.
            sparql = f"BASE <{base_iri}> {sparql}"
        wrapper = self._wrapper(self.endpoint, sparql, SELECT)
        if default_graphs is None and named_graphs is None:
            if self.union_parameter and "FROM" not in keywords(sparql):
                wrapper.addParameter(self.union_parameter, "true")
        else:
            for iri in default_graphs or ():
                wrapper.addParameter("default-graph-uri", iri)
            for iri in named_graphs or ():
                wrapper.addParameter("named-graph-uri", iri)
            if not default_graphs:
                # An empty default graph: a name no store holds.
                wrapper.addParameter("default-graph-uri", f"{self.base}graph/none")
        media_type, body = self._send(wrapper)
        if media_type in RESULTS_BY_MEDIA_TYPE:
            results_format = RESULTS_BY_MEDIA_TYPE[media_type]
            if results_format == ox.QueryResultsFormat.JSON and b'"bnode"' in body:
                body = _with_plain_blank_node_ids(body)
            try:
                result = ox.parse_query_results(body, results_format)
            except (SyntaxError, ValueError) as error:
                raise StoreResponseError(
                    self.endpoint, f"sent results that do not parse: {error}"
                ) from error
            if isinstance(result, ox.QuerySolutions) and _is_virtuoso_ask(result, sparql):
                return query_boolean(any(True for _ in result))
            if isinstance(result, ox.QuerySolutions) and _is_virtuoso_graph(result, sparql):
                return as_query_triples([ox.Triple(r["s"], r["p"], r["o"]) for r in result])
            if self.max_rows is not None and isinstance(result, ox.QuerySolutions):
                return self._checked(result)
            return result
        if media_type in GRAPHS_BY_MEDIA_TYPE:
            try:
                triples = [q.triple for q in ox.parse(body, GRAPHS_BY_MEDIA_TYPE[media_type])]
            except (SyntaxError, ValueError) as error:
                raise StoreResponseError(
                    self.endpoint, f"sent RDF that does not parse: {error}"
                ) from error
            return as_query_triples(triples)
        raise StoreResponseError(self.endpoint, f"answered with {media_type or 'no media type'}")

    def _checked(self, result: ox.QuerySolutions) -> ox.QuerySolutions:
        rows = list(result)
        if self.max_rows is not None and len(rows) >= self.max_rows:
            raise TruncatedResultError(
                self.endpoint,
                f"returned {len(rows)} rows, its configured maximum: the result may be cut "
                "short; page the query with LIMIT and OFFSET or raise the cap",
            )
        return query_solutions(result.variables, rows)

    def quads(self, graph_iri: str | None = None) -> Iterator[ox.Quad]:
        if graph_iri is not None:
            graph = ox.NamedNode(graph_iri)
            pattern = f"GRAPH {graph} {{ ?s ?p ?o }}"
        else:
            pattern = "GRAPH ?g { ?s ?p ?o }"
        for row in self._paged(pattern):
            yield ox.Quad(row["s"], row["p"], row["o"], graph if graph_iri else row["g"])

    def _paged(self, pattern: str) -> Iterator[ox.QuerySolution]:
        """The solutions of the graph pattern ``pattern``, a page at a time below the cap.

        The pages are not sorted: Virtuoso refuses to sort past its cap (``ORDER BY`` with an
        ``OFFSET`` beyond ``MaxSortedTopRows``). Unsorted pages of an unchanged store come in
        scan order, stable in practice though SPARQL does not promise it; so a read of more
        than one page is checked against a count and raises :class:`TruncatedResultError`
        when rows went missing or came twice."""
        page = min(PAGE_ROWS, self.max_rows - 1) if self.max_rows else PAGE_ROWS
        offset = 0
        seen: set[str] = set()
        while True:
            rows = list(self.query(f"SELECT * WHERE {{ {pattern} }} LIMIT {page} OFFSET {offset}"))
            if offset == 0 and len(rows) < page:
                yield from rows
                return
            for row in rows:
                seen.add(str(row))
                yield row
            offset += page
            if len(rows) < page:
                break
        (count,) = self.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}")
        if int(count["n"].value) != len(seen) or offset - page + len(rows) != len(seen):
            raise TruncatedResultError(
                self.endpoint,
                f"paged out {len(seen)} distinct rows of {count['n'].value}: the store's order "
                "changed between pages; read again",
            )

    def graph_sizes(self) -> dict[str, int]:
        sizes = {
            row["g"].value: int(row["n"].value)
            for row in self.query(
                "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
            )
        }
        return dict(sorted(sizes.items()))

    def __len__(self) -> int:
        (row,) = self.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
        return int(row["n"].value)

    def has_graph(self, graph_iri: str) -> bool:
        return bool(self.query(f"ASK {{ GRAPH {ox.NamedNode(graph_iri)} {{ ?s ?p ?o }} }}"))

    # Writing ------------------------------------------------------------------------------

    def add_graphs(self, graphs: Mapping[str, Sequence[ox.Triple]], replace: bool = True) -> None:
        if self.graph_store is not None:
            for graph_iri, triples in graphs.items():
                self._put(graph_iri, triples, "PUT" if replace else "POST")
            return
        operations = []
        for graph_iri, triples in graphs.items():
            graph = ox.NamedNode(graph_iri)
            if replace:
                operations.append(f"DROP SILENT GRAPH {graph}")
            # One request: blank node labels are scoped to it, so a node keeps its identity.
            data = "\n".join(f"{t.subject} {t.predicate} {t.object} ." for t in triples)
            if any(isinstance(t.subject, ox.BlankNode) for t in triples) or any(
                isinstance(t.object, ox.BlankNode) for t in triples
            ):
                # Virtuoso refuses blank nodes in INSERT DATA; a template matched once makes
                # one fresh node per label, as INSERT DATA would.
                operations.append(f"INSERT {{ GRAPH {graph} {{\n{data}\n}} }} WHERE {{}}")
            else:
                operations.append(f"INSERT DATA {{ GRAPH {graph} {{\n{data}\n}} }}")
        self._update(" ;\n".join(operations), list(graphs))

    def clear_graph(self, graph_iri: str) -> None:
        if self.graph_store is None:
            self._update(f"DROP SILENT GRAPH {ox.NamedNode(graph_iri)}", [graph_iri])
            return
        self._put(graph_iri, (), "DELETE")

    def update(self, sparql_update: str) -> None:
        """Send a SPARQL Update to the update endpoint; it counts as a write to every graph
        (:meth:`~odr_kg.store.KnowledgeStore.written_since`)."""
        self._update(sparql_update, None)

    def _update(self, sparql_update: str, graph_iris: Sequence[str] | None) -> None:
        """Send a SPARQL Update that writes to the named graphs ``graph_iris`` only (``None``:
        to any)."""
        wrapper = self._wrapper(self.update_endpoint, sparql_update, INSERT)
        try:
            self._send(wrapper)
        finally:
            self._written(graph_iris)

    def _put(self, graph_iri: str, triples: Sequence[ox.Triple], method: str) -> None:
        assert self.graph_store is not None
        url = f"{self.graph_store}?{urllib.parse.urlencode({'graph': graph_iri})}"
        if method == "DELETE":
            request = urllib.request.Request(url, method=method)
        else:
            body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
            request = urllib.request.Request(
                url, data=body, method=method, headers={"Content-Type": "application/n-triples"}
            )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            with error:
                # The Graph Store Protocol answers 404 to deleting a graph that is not there.
                if not (method == "DELETE" and error.code == 404):
                    raise self._translate(error, self.graph_store) from error
        except (OSError, HTTPException) as error:  # network failures, URLError and timeouts
            raise self._translate(error, self.graph_store) from error
        finally:
            self._written([graph_iri])

    # HTTP ---------------------------------------------------------------------------------

    def _wrapper(self, url: str, sparql: str, query_type: str) -> SPARQLWrapper:
        # A wrapper per request: SPARQLWrapper objects hold the query, so threads cannot share.
        wrapper = SPARQLWrapper(url, updateEndpoint=self.update_endpoint)
        wrapper.setMethod(POST)
        wrapper.setOnlyConneg(True)
        wrapper.addCustomHttpHeader("Accept", ACCEPT)
        with warnings.catch_warnings():
            # It guesses the query type and warns when it cannot; the store will say.
            warnings.simplefilter("ignore", RuntimeWarning)
            wrapper.setQuery(sparql)
        # The type is ours to say: an update sent as a query must reach the query endpoint,
        # which refuses it, never the update endpoint.
        wrapper.queryType = query_type
        return wrapper

    def _send(self, wrapper: SPARQLWrapper) -> tuple[str, bytes]:
        url = wrapper.updateEndpoint if wrapper.isSparqlUpdateRequest() else wrapper.endpoint
        # SPARQLWrapper builds the request; we send it, so that an error keeps the store's
        # message (SPARQLWrapper's own exceptions fold it into their text).
        request = wrapper._createRequest()
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return (response.headers.get_content_type() or "").lower(), response.read()
        except urllib.error.HTTPError as error:
            with error:
                if error.code == 400 and not wrapper.isSparqlUpdateRequest():
                    message = _text(error.read()) or "the query does not parse"
                    raise QuerySyntaxError(message) from None
                raise self._translate(error, url) from error
        except (OSError, HTTPException) as error:  # network failures, URLError and timeouts
            raise self._translate(error, url) from error

    def _translate(self, error: OSError | HTTPException, url: str) -> ExternalStoreError:
        if isinstance(error, TimeoutError | socket.timeout):
            return StoreTimeoutError(url, f"did not answer within {self.timeout:g} s")
        if isinstance(error, urllib.error.HTTPError):
            detail = _text(error.read()) if error.fp is not None else ""
            message = f"answered HTTP {error.code} {error.reason}" + (
                f": {detail}" if detail else ""
            )
            if error.code in (502, 503):
                return StoreUnavailableError(url, message)
            if error.code == 504:
                return StoreTimeoutError(url, message)
            return StoreResponseError(url, message)
        if isinstance(error, urllib.error.URLError):
            if isinstance(error.reason, TimeoutError | socket.timeout):
                return StoreTimeoutError(url, f"did not answer within {self.timeout:g} s")
            return StoreUnavailableError(url, f"cannot be reached: {error.reason}")
        return StoreUnavailableError(url, f"broke the connection: {error}")


def _with_plain_blank_node_ids(body: bytes) -> bytes:
    """SPARQL JSON results whose blank node labels are valid in N-Triples: Virtuoso sends
    ``nodeID://b10000``, which pyoxigraph refuses. Each label maps to one hex label."""
    import json

    try:
        document = json.loads(body)
        for binding in document["results"]["bindings"]:
            for term in binding.values():
                if term.get("type") == "bnode" and not _PLAIN_LABEL.fullmatch(term["value"]):
                    term["value"] = "x" + term["value"].encode().hex()
    except (ValueError, KeyError, TypeError, AttributeError):
        return body  # not what it claims to be: the parser will say so
    return json.dumps(document).encode()


_PLAIN_LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def _is_virtuoso_ask(result: ox.QuerySolutions, sparql: str) -> bool:
    names = [variable.value for variable in result.variables]
    return names == [VIRTUOSO_ASK_VARIABLE] and "ASK" in keywords(sparql)


def _is_virtuoso_graph(result: ox.QuerySolutions, sparql: str) -> bool:
    """Virtuoso 7.2 answers a CONSTRUCT or DESCRIBE asked for SPARQL JSON first with a table of
    its triples, one ``s p o`` row each."""
    names = [variable.value for variable in result.variables]
    words = keywords(sparql)
    return names == ["s", "p", "o"] and ("CONSTRUCT" in words or "DESCRIBE" in words)


def _text(data: object) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace").strip()
    return str(data).strip() if data else ""
