"""Dereferenceable IRIs, dumps and the dataset description.

An IRI ``<base><path>`` is served at ``/<path>`` on this host. The IRIs are slash IRIs, so each
answers directly (no 303 redirect): HTML for browsers, Turtle, JSON-LD or N-Triples by content
negotiation, or by a suffix (``.ttl``, ``.jsonld``, ``.nt``) for links.
"""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, abort, jsonify, render_template, request

from odr_kg.linked_data import (
    CONFIDENCE,
    DUMP_MEDIA_TYPES,
    dataset_description,
    describe,
    jsonld_context,
    ontology_terms,
)
from odr_kg.store import used_prefixes
from odr_kg.web.extension import get_store

bp = Blueprint("linked_data", __name__)

HTML = "text/html"
# Media types a resource is served in, and the pyoxigraph format of each.
RESOURCE_FORMATS: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
}
SUFFIXES = {".ttl": "text/turtle", ".jsonld": "application/ld+json", ".nt": "application/n-triples"}
MINTED_FOLDERS = ("id", "eli", "def", "shapes")


def negotiate(path: str) -> tuple[str, str | None]:
    """The path without a format suffix, and the media type asked for (None: not acceptable)."""
    for suffix, media_type in SUFFIXES.items():
        if path.endswith(suffix):
            return path.removesuffix(suffix), media_type
    if not request.accept_mimetypes:  # no Accept header: anything will do
        return path, HTML
    return path, request.accept_mimetypes.best_match([HTML, *RESOURCE_FORMATS])


@bp.get("/def")
@bp.get("/<any(id, eli, def, shapes):folder>/<path:rest>")
def resource(folder: str = "def", rest: str = "") -> Response | str:
    path, media_type = negotiate(f"{folder}/{rest}" if rest else folder)
    if media_type is None:
        abort(
            406,
            description="This resource is available as "
            + ", ".join([HTML, *RESOURCE_FORMATS])
            + ".",
        )
    store = get_store()
    iri = store.base + path
    try:
        ox.NamedNode(iri)
    except ValueError:
        abort(404, description="No IRI of this dataset is written like that.")
    description = describe(store, iri)
    if description is None:
        abort(404, description=f"The dataset says nothing about <{iri}>.")
    if media_type == HTML and path == "def":
        return render_template(
            "ontology.html",
            description=description,
            classes=ontology_terms(store, "class"),
            properties=ontology_terms(store, "property"),
        )
    if media_type == HTML:
        lang = "zh" if request.args.get("lang") == "zh" else "en"
        return render_template(
            "resource.html",
            description=description,
            lang=lang,
            base=store.base,
            confidence=[t.object for t in description.outgoing if t.predicate.value == CONFIDENCE],
        )
    triples = description.triples()
    body = ox.serialize(
        triples,
        format=RESOURCE_FORMATS[media_type],
        prefixes=used_prefixes(triples, store.prefixes),
    )
    return Response(body, mimetype=media_type, headers={"Vary": "Accept"})


@bp.get("/dump.<any(nt, ttl, jsonld, trig):suffix>")
def dump(suffix: str) -> Response:
    body = get_store().export(suffix)
    return Response(
        body,
        mimetype=DUMP_MEDIA_TYPES[suffix],
        headers={"Content-Disposition": f'attachment; filename="odr-kg.{suffix}"'},
    )


@bp.get("/context.jsonld")
def context() -> Response:
    response = jsonify(jsonld_context(get_store()))
    response.mimetype = "application/ld+json"
    return response


@bp.get("/.well-known/void")
def void() -> Response:
    store = get_store()
    triples = dataset_description(store, request.host_url)
    prefixes = {
        "dcat": "http://www.w3.org/ns/dcat#",
        "dcterms": "http://purl.org/dc/terms/",
        "void": "http://rdfs.org/ns/void#",
    }
    body = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes)
    return Response(body, mimetype="text/turtle")


@bp.app_template_filter("local_link")
def local_link(iri: str) -> str:
    """The path on this host of an IRI under the base, else the IRI itself."""
    base = get_store().base
    if iri.startswith(base) and iri[len(base) :].split("/", 1)[0] in MINTED_FOLDERS:
        return "/" + iri[len(base) :]
    return iri
