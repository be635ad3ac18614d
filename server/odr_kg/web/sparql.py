"""The SPARQL 1.1 Protocol endpoint, ``/sparql``: queries and the service description. Reading
the request and choosing formats is :mod:`odr_kg.sparql_protocol`'s work.

A request whose ``Accept`` puts ``text/html`` first (a browser's does; SPARQL clients never ask
for it) gets the query workbench, :mod:`odr_kg.web.workbench`. Every other request gets the
protocol's answer unchanged."""

from __future__ import annotations

from collections.abc import Sequence

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, current_app, request, url_for

from odr_kg import query_worker
from odr_kg.limits import (
    InvalidTimeoutError,
    LimitError,
    OverBudgetError,
    QueryTooLargeError,
    check_query_shape,
    query_timeout,
)
from odr_kg.query_worker import QueryAnswer, QueryPool, QueryWorkerError, StoreOptions
from odr_kg.sparql_protocol import (
    DESCRIPTION_MEDIA_TYPES,
    HTML_MEDIA_TYPE,
    RESULT_MEDIA_TYPES,
    ForbiddenQueryError,
    MalformedRequestError,
    NotAcceptableError,
    ProtocolError,
    ProtocolRequest,
    UnsupportedMediaTypeError,
    UpdateRefusedError,
    is_operation,
    read_request,
    requested_media_type,
    result_kind,
    service_description,
)
from odr_kg.store import EmbeddedStore, QuerySyntaxError, serialize_results, used_prefixes
from odr_kg.web.extension import get_store
from odr_kg.web.security import client_address, get_client_budget
from odr_kg.web.workbench import TABLE_ROW_LIMIT, workbench
from odr_kg.workbench import result_table

bp = Blueprint("sparql", __name__)

POOL_KEY = "odr_kg.query_pool"
TRUNCATED_HEADER = "X-ODR-Truncated"

STATUS_OF_ERROR: dict[type[Exception], int] = {
    MalformedRequestError: 400,
    QuerySyntaxError: 400,
    ForbiddenQueryError: 400,
    UpdateRefusedError: 403,
    NotAcceptableError: 406,
    UnsupportedMediaTypeError: 415,
    QueryTooLargeError: 400,
    InvalidTimeoutError: 400,
    OverBudgetError: 429,
}
def init_app(app: Flask) -> None:
    """Start the worker processes that evaluate queries on the embedded store (none for an
    external store, which bounds its own work: ``STORE_TIMEOUT``)."""
    workers = int(app.config["QUERY_WORKERS"])
    store = app.extensions["odr_kg"]
    if workers > 0 and isinstance(store, EmbeddedStore):
        options = StoreOptions.of(store)
        app.extensions[POOL_KEY] = query_worker.shared_pool(options, workers)


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response | str:
    args = request.args.to_dict(flat=False)
    if request.method == "GET" and not is_operation(args):
        return describe()
    config = current_app.config
    operation = read_request(
        request.method,
        request.mimetype,
        request.mimetype_params,
        args,
        request.get_data(),
        allowed_services=config["FEDERATION_ALLOW"],
    )
    check_query_shape(
        operation.query,
        config["MAX_QUERY_LENGTH"],
        config["MAX_QUERY_DEPTH"],
        config["MAX_TRIPLE_PATTERNS"],
    )
    timeout = query_timeout(request.values.get("timeout"), float(config["QUERY_TIMEOUT"]))
    store = get_store()
    with get_client_budget().query(client_address()):
        answer = run_query(operation, timeout)
    result = answer.result
    kind = result_kind(result)
    media_types = RESULT_MEDIA_TYPES[kind]
    media_type = requested_media_type(kind, operation.formats) or negotiate(
        [*media_types, HTML_MEDIA_TYPE]
    )
    if media_type == HTML_MEDIA_TYPE:
        table = result_table(result, store.prefixes, TABLE_ROW_LIMIT)
        response = workbench(operation.query, operation, table, truncated=answer.truncated)
    else:
        body = serialize_results(result, media_types[media_type], store.prefixes)
        response = _response(body, media_type)
    if answer.truncated:
        response.headers[TRUNCATED_HEADER] = "true"
    return response


def run_query(operation: ProtocolRequest, timeout: float) -> QueryAnswer:
    """Evaluate ``operation`` within ``timeout`` seconds and at most ``MAX_ROWS`` rows: in a
    worker process when there is a pool, else here (an external store times out by itself)."""
    max_rows = int(current_app.config["MAX_ROWS"])
    job = query_worker.as_job(
        operation.query,
        operation.default_graphs,
        operation.named_graphs,
        url_for("sparql.endpoint", _external=True),
        max_rows,
    )
    pool: QueryPool | None = current_app.extensions.get(POOL_KEY)
    if pool is not None:
        return pool.run(job, timeout)
    return query_worker.read_outcome(query_worker.evaluate(get_store(), job))


def describe() -> Response | str:
    """The service description for RDF clients, the query page for browsers."""
    media_type = negotiate([*DESCRIPTION_MEDIA_TYPES, HTML_MEDIA_TYPE])
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
    return request.accept_mimetypes.best_match(["text/plain", HTML_MEDIA_TYPE]) == HTML_MEDIA_TYPE


def negotiate(media_types: Sequence[str]) -> str:
    """The entry of ``media_types`` the request's ``Accept`` prefers; the first without one."""
    if not request.accept_mimetypes:
        return media_types[0]
    best = request.accept_mimetypes.best_match(media_types)
    if best is None:
        raise NotAcceptableError(
            f"nothing here matches Accept: {request.headers.get('Accept')}; "
            f"this answer is available as {', '.join(media_types)}"
        )
    return best


def _response(body: bytes, media_type: str) -> Response:
    response = Response(body, mimetype=media_type)
    response.vary.add("Accept")
    return response


@bp.errorhandler(ProtocolError)
@bp.errorhandler(QuerySyntaxError)
@bp.errorhandler(LimitError)
@bp.errorhandler(QueryWorkerError)
def refuse(error: ProtocolError | QuerySyntaxError | LimitError | QueryWorkerError) -> Response:
    if isinstance(error, QueryWorkerError):
        status = error.status
    else:
        status = next(
            STATUS_OF_ERROR[kind] for kind in type(error).__mro__ if kind in STATUS_OF_ERROR
        )
    message = str(error)
    if isinstance(error, QuerySyntaxError):
        message = f"SPARQL syntax error: {error.message}"
    if prefers_html():
        queries = request.values.getlist("query")
        response = workbench(queries[0] if queries else None, error=message, status=status)
    else:
        response = Response(message + "\n", status=status, mimetype="text/plain")
        response.vary.add("Accept")
    if isinstance(error, OverBudgetError):
        response.headers["Retry-After"] = str(error.retry_after)
    return response
