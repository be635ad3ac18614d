"""The front page and the health check."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from odr_kg.store import GRAPH_NAMES
from odr_kg.web.extension import get_store

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    store = get_store()
    sizes = store.graph_sizes()
    graphs = [
        {"name": name, "iri": store.graph_iri(name), "triples": sizes.get(store.graph_iri(name), 0)}
        for name in GRAPH_NAMES
    ]
    return render_template("index.html", base=store.base, graphs=graphs, total=len(store))


@bp.get("/health")
def health() -> Response:
    return jsonify(status="ok", triples=len(get_store()))
