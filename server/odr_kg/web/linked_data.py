"""Dereferenceable IRIs, dumps and the dataset description.

An IRI ``<base><path>`` is served at ``/<path>`` on this host. The IRIs are slash IRIs, so each
answers directly (no 303 redirect): HTML for browsers, Turtle, JSON-LD or N-Triples by content
negotiation, or by a suffix (``.ttl``, ``.jsonld``, ``.nt``) for links. The pages show terms by
their labels, in English or (``?lang=zh``) Chinese.
"""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for

from odr_kg import formats
from odr_kg.dataset import DUMP_MEDIA_TYPES, dataset_description, jsonld_context, ontology_terms
from odr_kg.legal_structure import structure
from odr_kg.linked_data import (
    ResourceDescription,
    describe,
    is_web_iri,
    labels_of,
    page_vocabulary,
)
from odr_kg.rdf import used_prefixes
from odr_kg.web.extension import get_store
from odr_kg.web.negotiation import negotiate
from odr_kg.web.text import page_language

bp = Blueprint("linked_data", __name__)

HTML = "text/html"
# Media types a resource is served in, and the pyoxigraph format of each; file suffixes of each.
RESOURCE_FORMATS: dict[str, ox.RdfFormat] = {
    fmt.media_type: fmt.syntax for fmt in formats.named("turtle", "jsonld", "ntriples")
}
SUFFIXES = {
    f".{fmt.extension}": fmt.media_type for fmt in formats.named("turtle", "jsonld", "ntriples")
}
MINTED_FOLDERS = ("id", "eli", "def", "shapes")
ELI_LEGAL_RESOURCE = "http://data.europa.eu/eli/ontology#LegalResource"
ELI_SUBDIVISION = "http://data.europa.eu/eli/ontology#LegalResourceSubdivision"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
VOID_PREFIXES = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dcterms": "http://purl.org/dc/terms/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "void": "http://rdfs.org/ns/void#",
}


def resource_path_and_media_type(path: str) -> tuple[str, str | None]:
    """The path without a format suffix, and the media type asked for (None: not acceptable)."""
    for suffix, media_type in SUFFIXES.items():
        if path.endswith(suffix):
            return path.removesuffix(suffix), media_type
    return path, negotiate([HTML, *RESOURCE_FORMATS])


def not_acceptable(media_types: list[str]) -> None:
    abort(406, description="This resource is available as " + ", ".join(media_types) + ".")


@bp.get("/def")
@bp.get("/def<any('.ttl', '.jsonld', '.nt'):suffix>")
@bp.get("/<any(id, eli, def, shapes):folder>/<path:rest>")
def resource(folder: str = "def", rest: str = "", suffix: str = "") -> Response | str:
    path, media_type = resource_path_and_media_type(f"{folder}/{rest}" if rest else folder + suffix)
    if media_type is None:
        not_acceptable([HTML, *RESOURCE_FORMATS])
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
        return ontology_page(description)
    if media_type == HTML:
        return resource_page(description)
    triples = description.triples()
    body = ox.serialize(
        triples,
        format=RESOURCE_FORMATS[media_type],
        prefixes=used_prefixes(triples, store.prefixes),
    )
    return Response(body, mimetype=media_type, headers={"Vary": "Accept"})


@bp.get("/def/")
def vocabulary_namespace() -> Response:
    """The namespace of the vocabulary's terms is described by the ontology."""
    return redirect(url_for("linked_data.resource"), 303)


def resource_page(description: ResourceDescription) -> str:
    types = {term.value for term in description.values(RDF_TYPE)}
    legal = bool(types & {ELI_LEGAL_RESOURCE, ELI_SUBDIVISION})
    return render_template(
        "resource.html",
        description=description,
        lang=page_language(),
        structure=structure(get_store(), description.iri) if legal else None,
        confidence=description.confidence(get_store().base),
    )


def ontology_page(description: ResourceDescription) -> str:
    store = get_store()
    classes = ontology_terms(store, "class")
    properties = ontology_terms(store, "property")
    mentioned = {
        iri
        for term in (*classes, *properties)
        for iri in (*term.parents, *term.domain, *term.range)
    }
    return render_template(
        "ontology.html",
        description=description,
        classes=classes,
        properties=properties,
        labels=labels_of(store, mentioned),
        lang=page_language(),
    )


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
@bp.get("/.well-known/void.ttl")
@bp.get("/dataset")
def void() -> Response | str:
    """The VoID and DCAT description: Turtle for RDF clients (and at ``void.ttl``), a page
    for browsers."""
    store = get_store()
    triples = dataset_description(store, url_for("home.index", _external=True))
    media_type = (
        negotiate([HTML, "text/turtle"], default="text/turtle")
        if not request.path.endswith(".ttl")
        else "text/turtle"
    )
    if media_type is None:
        not_acceptable(["text/turtle", HTML])
    if media_type == HTML:
        dataset = f"{store.base}dataset"
        subjects = sorted(
            {
                t.subject.value
                for t in triples
                if t.subject.value != dataset and t.predicate.value == RDF_TYPE
            }
        )
        iris = {
            term.value
            for t in triples
            for term in (t.predicate, t.object)
            if isinstance(term, ox.NamedNode)
        }
        labels = labels_of(store, iris) | {
            t.subject.value: {t.object.language or "": t.object.value}
            for t in triples
            if t.predicate.value == "http://www.w3.org/2000/01/rdf-schema#label"
            and t.object.language == "en"
        }
        return render_template(
            "void.html",
            dataset=ResourceDescription(
                dataset,
                [t for t in triples if t.subject.value == dataset],
                [],
                labels,
                vocabulary=page_vocabulary(store.base),
            ),
            parts=[
                ResourceDescription(
                    subject, [t for t in triples if t.subject.value == subject], [], labels
                )
                for subject in subjects
            ],
            lang=page_language(),
        )
    body = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=VOID_PREFIXES)
    return Response(body, mimetype="text/turtle", headers={"Vary": "Accept"})


@bp.app_template_filter("href")
def href(iri: str) -> str | None:
    """Where a link to ``iri`` goes: the page on this host of an IRI we mint, the IRI itself
    for any other http(s) IRI, and nowhere (``None``: no link) for any other scheme, such as
    ``javascript:`` or ``data:`` in loaded data or a query's answer."""
    base = get_store().base
    if iri.startswith(base) and iri[len(base) :].split("/", 1)[0] in MINTED_FOLDERS:
        return "/" + iri[len(base) :]
    if is_web_iri(iri):
        return iri
    return None
