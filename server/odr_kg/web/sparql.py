"""The SPARQL 1.1 Protocol endpoint, ``/sparql``: queries, the service description and a page
for people. Reading the request and choosing formats is :mod:`odr_kg.sparql_protocol`'s work."""

from __future__ import annotations

from collections.abc import Sequence

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, request, url_for

from odr_kg.sparql_protocol import (
    DESCRIPTION_MEDIA_TYPES,
    HTML_MEDIA_TYPE,
    RESULT_MEDIA_TYPES,
    ForbiddenQueryError,
    MalformedRequestError,
    NotAcceptableError,
    ProtocolError,
    UnsupportedMediaTypeError,
    UpdateRefusedError,
    evaluate,
    example_queries,
    is_operation,
    read_request,
    requested_media_type,
    result_kind,
    service_description,
)
from odr_kg.store import QuerySyntaxError, serialize_results, used_prefixes
from odr_kg.web.extension import get_store

bp = Blueprint("sparql", __name__)

STATUS_OF_ERROR: dict[type[Exception], int] = {
    MalformedRequestError: 400,
    QuerySyntaxError: 400,
    ForbiddenQueryError: 400,
    UpdateRefusedError: 403,
    NotAcceptableError: 406,
    UnsupportedMediaTypeError: 415,
}
DEFAULT_QUERY = """PREFIX odr: <{base}def/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>

SELECT ?class ?label
WHERE {{
  ?class a <http://www.w3.org/2002/07/owl#Class> ;
         rdfs:label ?label .
  FILTER (lang(?label) = "en")
}}
ORDER BY ?class
"""


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response | str:
    args = request.args.to_dict(flat=False)
    if request.method == "GET" and not is_operation(args):
        return describe()
    operation = read_request(
        request.method, request.mimetype, request.mimetype_params, args, request.get_data()
    )
    store = get_store()
    result = evaluate(store, operation, url_for("sparql.endpoint", _external=True))
    kind = result_kind(result)
    media_types = RESULT_MEDIA_TYPES[kind]
    media_type = requested_media_type(kind, operation.formats) or negotiate(list(media_types))
    body = serialize_results(result, media_types[media_type], store.prefixes)
    return _response(body, media_type)


def describe() -> Response | str:
    """The service description for RDF clients, the query page for browsers."""
    media_type = negotiate([*DESCRIPTION_MEDIA_TYPES, HTML_MEDIA_TYPE])
    store = get_store()
    if media_type == HTML_MEDIA_TYPE:
        return render_template(
            "sparql.html",
            examples=example_queries(store.base),
            default_query=DEFAULT_QUERY.format(base=store.base),
        )
    triples = service_description(url_for("sparql.endpoint", _external=True), store)
    rdf_format = ox.RdfFormat.from_media_type(media_type)
    prefixes = {"sd": "http://www.w3.org/ns/sparql-service-description#", **store.prefixes}
    body = ox.serialize(triples, format=rdf_format, prefixes=used_prefixes(triples, prefixes))
    return _response(body, media_type)


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
def refuse(error: ProtocolError | QuerySyntaxError) -> Response:
    status = next(STATUS_OF_ERROR[kind] for kind in type(error).__mro__ if kind in STATUS_OF_ERROR)
    message = str(error)
    if isinstance(error, QuerySyntaxError):
        message = f"SPARQL syntax error: {error.message}"
    response = Response(message + "\n", status=status, mimetype="text/plain")
    response.vary.add("Accept")
    return response
