"""The web application, built flaskr-style by :func:`create_app`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from odr_kg import limits
from odr_kg.resources import DEFAULT_BASE
from odr_kg.store import DEFAULT_TIMEOUT, OXIGRAPH_UNION_PARAMETER
from odr_kg.web import api, home, linked_data, lookup, openapi, security, sparql, text, workbench
from odr_kg.web.extension import get_store, init_app

__all__ = ["create_app", "get_store", "init_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application.

    Configuration, later sources winning: the defaults, ``ODR_KG_*`` environment variables
    (``ODR_KG_BASE``, ``ODR_KG_DATA_FILES`` as a JSON list), then ``config``: the options of
    ``odr-kg serve``, or a test's settings. Every key is declared here, with its default: those
    of the store below (:func:`odr_kg.web.extension.init_app` says what each means), the limits
    on requests in :data:`odr_kg.limits.DEFAULTS`.
    """
    app = Flask(__name__)
    app.config.from_mapping(
        BASE=DEFAULT_BASE,
        DATA_FILES=[],
        STORE_PATH=None,
        SPARQL_ENDPOINT=None,
        SPARQL_UPDATE_ENDPOINT=None,
        GRAPH_STORE=None,
        STORE_TIMEOUT=DEFAULT_TIMEOUT,
        STORE_UNION_PARAMETER=OXIGRAPH_UNION_PARAMETER,
        STORE_MAX_ROWS=None,
        PUBLIC_URL=None,
        **limits.DEFAULTS,
    )
    app.config.from_prefixed_env("ODR_KG")
    if config is not None:
        app.config.from_mapping(config)
    _use_public_url(app)

    security.init_app(app)
    text.init_app(app)
    init_app(app)
    app.register_blueprint(home.bp)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(workbench.bp)
    app.register_blueprint(linked_data.bp)
    api.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(lookup.bp)
    app.register_blueprint(openapi.bp)
    return app


def _use_public_url(app: Flask) -> None:
    """With ``PUBLIC_URL`` (``https://kg.example.org``), the addresses the service gives of
    itself (its endpoint in the service description and VoID, links in answers) are built on
    that name, never on a request's ``Host`` header, which any client may set."""
    public_url = app.config["PUBLIC_URL"]
    if not public_url:
        return
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
        raise ValueError(
            f"PUBLIC_URL must be a scheme and a host, such as https://kg.example.org, "
            f"not {public_url!r}"
        )
    app.config.update(SERVER_NAME=parts.netloc, PREFERRED_URL_SCHEME=parts.scheme)
