"""The knowledge store as a Flask extension: built once per application, reached by views."""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, request

from odr_kg.store import ExternalStoreError, KnowledgeStore, open_store

EXTENSION_KEY = "odr_kg"


def init_app(app: Flask) -> None:
    """Open the knowledge store for ``app.config["BASE"]`` and keep it in ``app.extensions``.

    The store is the SPARQL store at ``SPARQL_ENDPOINT`` (with ``SPARQL_UPDATE_ENDPOINT``,
    ``GRAPH_STORE`` and ``STORE_TIMEOUT`` in seconds) when set, else the embedded store on disk
    at ``STORE_PATH`` when set, else in memory. ``app.config["DATA_FILES"]`` lists extra RDF
    files to load as named graphs, each written ``FILE`` or ``FILE=GRAPH_IRI`` like
    ``odr-kg serve --data``.
    """
    config = app.config
    store = open_store(
        config["BASE"],
        path=config.get("STORE_PATH"),
        endpoint=config.get("SPARQL_ENDPOINT"),
        update_endpoint=config.get("SPARQL_UPDATE_ENDPOINT"),
        graph_store=config.get("GRAPH_STORE"),
        timeout=config.get("STORE_TIMEOUT"),
    )
    for option in config.get("DATA_FILES", ()):
        store.add_data(option)
    app.extensions[EXTENSION_KEY] = store
    app.register_error_handler(ExternalStoreError, store_failed)


def get_store() -> KnowledgeStore:
    """The knowledge store of the application handling the current request."""
    return current_app.extensions[EXTENSION_KEY]


def store_failed(error: ExternalStoreError) -> tuple[Response, int]:
    """The external store failed: 502 (it answered badly), 503 (down), 504 (too slow); JSON
    for the API, plain text elsewhere."""
    if request.path.startswith("/api/"):
        return jsonify(error={"status": error.status, "message": str(error)}), error.status
    return Response(str(error) + "\n", mimetype="text/plain"), error.status
