"""The SPARQL 1.1 Protocol endpoint, ``/sparql``: queries and the service description. Reading
the request and choosing formats is :mod:`odr_kg.sparql_protocol`'s work.

A request whose ``Accept`` puts ``text/html`` first (a browser's does; SPARQL clients never ask
for it) gets the query workbench, :mod:`odr_kg.web.workbench`. Every other request gets the
protocol's answer unchanged."""

from __future__ import annotations

import time
from collections.abc import Sequence
from xml.parsers import expat

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request, url_for

from odr_kg.jobs import JobFailedError, QueryAnswer, QueryJob, evaluate, read_outcome
from odr_kg.limits import (
    LimitError,
    check_query_shape,
    query_timeout,
)
from odr_kg.rdf import serialize_results, used_prefixes
from odr_kg.sparql_protocol import (
    DESCRIPTION_MEDIA_TYPES,
    RESULT_MEDIA_TYPES,
    NotAcceptableError,
    ProtocolError,
    ProtocolRequest,
    is_operation,
    read_request,
    requested_media_type,
    result_kind,
    service_description,
)
from odr_kg.store_errors import QuerySyntaxError
from odr_kg.web.extension import get_query_workers, get_store
from odr_kg.web.negotiation import negotiate
from odr_kg.web.security import client_address, get_client_budget
from odr_kg.web.workbench import TABLE_ROW_LIMIT, workbench
from odr_kg.workbench import result_table
from odr_kg.workers import WorkerError

bp = Blueprint("sparql", __name__)

# A request that puts this first gets the workbench; SPARQL clients never ask for it.
HTML_MEDIA_TYPE = "text/html"

TRUNCATED_HEADER = "X-ODR-Truncated"


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response | str:
    args = request.args.to_dict(flat=False)
    if request.method in ("GET", "HEAD") and not is_operation(args):
        return describe()
    config = current_app.config
    operation = read_request(
        request.method,
        request.mimetype,
        request.mimetype_params,
        args,
        request.get_data(),
        allowed_services=config["FEDERATION_ALLOW"],
        max_length=config["MAX_QUERY_LENGTH"],
    )
    check_query_shape(
        operation.query,
        config["MAX_QUERY_LENGTH"],
        config["MAX_QUERY_DEPTH"],
        config["MAX_TRIPLE_PATTERNS"],
        config["MAX_QUERY_OPERATORS"],
    )
    timeout = query_timeout(request.values.get("timeout"), float(config["QUERY_TIMEOUT"]))
    store = get_store()
    answer = run_query(operation, timeout)
    result = answer.result
    kind = result_kind(result)
    media_types = RESULT_MEDIA_TYPES[kind]
    media_type = requested_media_type(kind, operation.formats) or acceptable(
        [*media_types, HTML_MEDIA_TYPE]
    )
    if media_type == HTML_MEDIA_TYPE:
        table = result_table(result, store.prefixes, TABLE_ROW_LIMIT)
        response = workbench(operation.query, operation, table, truncated=answer.truncated)
    else:
        body = serialize_results(result, media_types[media_type], store.prefixes)
        if media_type.endswith("xml"):
            _check_well_formed(body, media_type)
        response = _response(body, media_type)
    if answer.truncated:
        response.headers[TRUNCATED_HEADER] = "true"
    return response


def run_query(operation: ProtocolRequest, timeout: float) -> QueryAnswer:
    """Evaluate ``operation`` within ``timeout`` seconds and at most ``MAX_ROWS`` rows: in a
    worker (one that may reach the allowed endpoints when it calls SERVICE), within the
    client's fair share; on an external store, here (it bounds its own work)."""
    job = QueryJob.of(
        operation.query,
        operation.default_graphs,
        operation.named_graphs,
        url_for("sparql.endpoint", _external=True),
        int(current_app.config["MAX_ROWS"]),
        int(current_app.config["MAX_RESULT_MB"]) * 1024 * 1024,
    )
    pool = get_query_workers(federated=operation.federated)
    with get_client_budget().admit(client_address()) as ticket:
        if pool is not None:
            return pool.run(job, timeout, ticket)
        # An external store bounds each request's time itself (its own timeout, and this
        # client's socket timeout); the client's share of concurrency and time counts here.
        ticket.reserve(timeout)
        started = time.monotonic()
        try:
            return read_outcome(evaluate(get_store(), job))
        finally:
            ticket.charge(time.monotonic() - started)


def describe() -> Response | str:
    """The service description for RDF clients, the query page for browsers."""
    media_type = acceptable([*DESCRIPTION_MEDIA_TYPES, HTML_MEDIA_TYPE])
    store = get_store()
    if media_type == HTML_MEDIA_TYPE:
        return workbench()
    triples = service_description(url_for("sparql.endpoint", _external=True), store)
    rdf_format = ox.RdfFormat.from_media_type(media_type)
    prefixes = {"sd": "http://www.w3.org/ns/sparql-service-description#", **store.prefixes}
    body = ox.serialize(triples, format=rdf_format, prefixes=used_prefixes(triples, prefixes))
    return _response(body, media_type)


def prefers_html() -> bool:
    """Whether the request's ``Accept`` puts the workbench before plain text."""
    return negotiate(["text/plain", HTML_MEDIA_TYPE]) == HTML_MEDIA_TYPE


def acceptable(media_types: Sequence[str]) -> str:
    """The entry of ``media_types`` the request's ``Accept`` prefers; the first without one."""
    best = negotiate(media_types)
    if best is None:
        raise NotAcceptableError(
            f"nothing here matches Accept: {request.headers.get('Accept')}; "
            f"this answer is available as {', '.join(media_types)}"
        )
    return best


def _check_well_formed(body: bytes, media_type: str) -> None:
    """Refuse (406) an XML answer the writer could not make well-formed: XML 1.0 cannot carry
    most control characters, and RDF/XML can write a predicate only where its IRI ends in an
    XML name. Checked on the written text, whatever the cause."""
    parser = expat.ParserCreate(namespace_separator=" ")  # namespace-well-formed too
    try:
        parser.Parse(body, True)
    except expat.ExpatError as error:
        raise NotAcceptableError(
            f"this answer cannot be written as {media_type} ({expat.ErrorString(error.code)} "
            f"at line {error.lineno}: a control character, or an IRI that is no XML name); "
            "ask for JSON, Turtle or N-Triples"
        ) from None


def _response(body: bytes, media_type: str) -> Response:
    response = Response(body, mimetype=media_type)
    response.vary.add("Accept")
    return response


@bp.errorhandler(ProtocolError)
@bp.errorhandler(QuerySyntaxError)
@bp.errorhandler(LimitError)
@bp.errorhandler(WorkerError)
@bp.errorhandler(JobFailedError)
def refuse(
    error: ProtocolError | QuerySyntaxError | LimitError | WorkerError | JobFailedError,
) -> Response:
    status = error.status
    message = str(error)
    if isinstance(error, QuerySyntaxError):
        message = f"SPARQL syntax error: {error.message}"
    if prefers_html():
        queries = request.values.getlist("query")
        response = workbench(queries[0] if queries else None, error=message, status=status)
    else:
        response = Response(message + "\n", status=status, mimetype="text/plain")
        response.vary.add("Accept")
    if getattr(error, "retry_after", None) is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response
