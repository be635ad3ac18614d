"""The knowledge store as a Flask extension: built once per application, reached by views."""

from __future__ import annotations

from flask import Flask, current_app

from odr_kg.store import KnowledgeStore

EXTENSION_KEY = "odr_kg"


def init_app(app: Flask) -> None:
    """Load the knowledge store for ``app.config["BASE"]`` and keep it in ``app.extensions``.

    ``app.config["DATA_FILES"]`` lists extra RDF files to load as named graphs, each written
    ``FILE`` or ``FILE=GRAPH_IRI`` like ``odr-kg serve --data``.
    """
    store = KnowledgeStore.load(app.config["BASE"])
    for option in app.config.get("DATA_FILES", ()):
        store.add_data(option)
    app.extensions[EXTENSION_KEY] = store


def get_store() -> KnowledgeStore:
    """The knowledge store of the application handling the current request."""
    return current_app.extensions[EXTENSION_KEY]
