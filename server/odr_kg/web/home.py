"""The front door: the home page, the page on linking to the dataset, the health check, and the
site's error pages (a styled page for browsers, the plain answer for everyone else)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from odr_kg.store import GRAPH_NAMES
from odr_kg.web import api
from odr_kg.web.extension import get_store
from odr_kg.web.negotiation import negotiate
from odr_kg.workbench import example_queries

bp = Blueprint("home", __name__)

# Where a first visit may start reading: paths under the base, with what they are.
STARTING_POINTS = (
    ("id/scheme/stages", "The four stages of a dispute"),
    ("eli/alibaba/transaction-dispute-rules", "Transaction Dispute Rules and their articles"),
    ("eli/alibaba/trade-assurance-rules", "Trade Assurance Services Rules"),
    ("id/forum/hkiac", "Hong Kong International Arbitration Centre"),
    ("id/treaty/new-york-convention", "New York Convention"),
    ("id/confidence/low", "What rests on a weak source"),
)
# The example question that lists every outgoing link with its source and confidence.
LINKS_QUESTION = "17-links-to-other-datasets.rq"


@bp.get("/")
def index() -> str:
    store = get_store()
    sizes = store.graph_sizes()
    graphs = [
        {"name": name, "iri": store.graph_iri(name), "triples": sizes.get(store.graph_iri(name), 0)}
        for name in GRAPH_NAMES
    ]
    graphs += [
        {"name": "loaded", "iri": iri, "triples": size}
        for iri, size in sizes.items()
        if iri not in {graph["iri"] for graph in graphs}
    ]
    return render_template(
        "index.html",
        base=store.base,
        graphs=graphs,
        total=len(store),
        examples=len(example_queries(store.base)),
        starting_points=STARTING_POINTS,
    )


@bp.get("/linking")
def linking() -> str:
    store = get_store()
    (question,) = [e for e in example_queries(store.base) if e["name"] == LINKS_QUESTION]
    return render_template(
        "linking.html",
        base=store.base,
        links=list(store.query(question["text"])),
        question=question,
    )


@bp.get("/health")
def health() -> Response:
    return jsonify(status="ok", triples=len(get_store()))


@bp.app_errorhandler(HTTPException)
def error_page(error: HTTPException) -> HTTPException | tuple[str | Response, int]:
    """A browser gets the error in the site's layout; an API client gets it as JSON, like every
    other refusal of the API (also where no view of the API was reached: a method not allowed,
    an unknown address, an over-long URL); a SPARQL client gets the answer it always had."""
    # By the address: a method not allowed or an unknown address matches no view of the API.
    if request.path.startswith(f"{api.bp.url_prefix}/"):
        return api.refused(error)
    wants_page = (
        negotiate(["text/plain", "application/json", "text/html"], default="text/plain")
        == "text/html"
    )
    if not wants_page:
        return error
    page = render_template(
        "error.html", code=error.code, name=error.name, description=error.description
    )
    return page, error.code
