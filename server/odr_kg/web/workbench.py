"""The query workbench's page at ``/sparql`` and what its editor reads: the presentation side of
the SPARQL endpoint. :mod:`odr_kg.web.sparql` answers the protocol and hands a browser's request
here; :mod:`odr_kg.workbench` shapes results and errors for people.

The page works without JavaScript: a form whose textarea holds the query, sent by GET so that
the address of an answer holds its question (a second button sends a long query by POST), the
examples as links, the results as a table and, for one label and one number column, a bar
chart. With JavaScript, ``static/build/sparql-editor.js`` (CodeMirror, built by ``make``)
turns the textarea into an editor that completes from ``/sparql/completions``."""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    render_template,
    url_for,
)

from odr_kg.sparql_protocol import ProtocolRequest
from odr_kg.web.extension import get_store
from odr_kg.workbench import (
    DOWNLOAD_FORMATS,
    ResultTable,
    bar_chart,
    completion_vocabulary,
    example_queries,
    prefix_declarations,
    syntax_problem,
)

bp = Blueprint("workbench", __name__)

# What the workbench shows first, after the PREFIX lines of every prefix the store knows.
DEFAULT_QUERY = """
SELECT ?class ?label
WHERE {
  ?class a owl:Class ;
         rdfs:label ?label .
  FILTER (lang(?label) = "en")
}
ORDER BY ?class
"""
# The workbench shows this many rows at most; the download links give them all.
TABLE_ROW_LIMIT = 1000
COMPLETIONS_KEY = "odr_kg.completions"


@bp.before_app_request
def start_clock() -> None:
    g.request_started = time.perf_counter()


@bp.get("/sparql/completions")
def completions() -> Response:
    """The prefixes and labelled terms the editor completes; computed once per application
    (the store changes only at start-up)."""
    vocabulary = current_app.extensions.get(COMPLETIONS_KEY)
    if vocabulary is None:
        vocabulary = completion_vocabulary(get_store())
        current_app.extensions[COMPLETIONS_KEY] = vocabulary
    response = jsonify(vocabulary)
    response.cache_control.max_age = 3600
    return response


def workbench(
    query: str | None = None,
    operation: ProtocolRequest | None = None,
    table: ResultTable | None = None,
    error: str | None = None,
    status: int = 200,
    truncated: bool = False,
) -> Response:
    """The workbench page: ``query`` in the editor (the default query when ``None``), the
    results ``table`` of ``operation`` with its download links, or the ``error`` it met."""
    store = get_store()
    if query is None:
        query = prefix_declarations(store.prefixes, store.base) + DEFAULT_QUERY
    graphs = {
        "default-graph-uri": (operation.default_graphs or []) if operation else [],
        "named-graph-uri": (operation.named_graphs or []) if operation else [],
    }
    downloads = []
    if table is not None:
        downloads = [
            {
                "label": label,
                "file": f"results.{extension}",
                "url": url_for("sparql.endpoint", query=query, format=name, **graphs),
            }
            for name, (label, extension) in DOWNLOAD_FORMATS[table.kind].items()
        ]
    examples = example_queries(store.base)
    # A browser sends a textarea's lines ended by CRLF (HTML, form submission).
    lines = query.replace("\r\n", "\n")
    started = g.get("request_started")
    config = current_app.config
    page = render_template(
        "sparql.html",
        examples=examples,
        selected=next((e["name"] for e in examples if e["text"] == lines), None),
        query=query,
        graphs=graphs,
        table=table,
        chart=bar_chart(table) if table is not None else None,
        downloads=downloads,
        error=error,
        problem=syntax_problem(lines, error) if error else None,
        status=status,
        truncated=truncated,
        max_rows=config["MAX_ROWS"],
        max_url=config["MAX_URL_LENGTH"],
        seconds=time.perf_counter() - started if started is not None else None,
    )
    response = make_response(page, status)
    response.vary.add("Accept")
    return response
