"""The knowledge store as a Flask extension: built once per application, reached by views."""

from __future__ import annotations

from flask import Flask, current_app

from odr_kg.store import KnowledgeStore

EXTENSION_KEY = "odr_kg"


def init_app(app: Flask) -> None:
    """Load the knowledge store for ``app.config["BASE"]`` and keep it in ``app.extensions``."""
    app.extensions[EXTENSION_KEY] = KnowledgeStore.load(app.config["BASE"])


def get_store() -> KnowledgeStore:
    """The knowledge store of the application handling the current request."""
    return current_app.extensions[EXTENSION_KEY]
