"""The web application, built flaskr-style by :func:`create_app`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from odr_kg import limits
from odr_kg.resources import DEFAULT_BASE
from odr_kg.web import api, home, linked_data, lookup, openapi, security, sparql, text, workbench
from odr_kg.web.extension import get_store, init_app

__all__ = ["create_app", "get_store", "init_app"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application.

    Configuration, later sources winning: the defaults, ``ODR_KG_*`` environment variables
    (``ODR_KG_BASE``, ``ODR_KG_DATA_FILES`` as a JSON list), then ``test_config``. The limits
    on requests and their defaults are :data:`odr_kg.limits.DEFAULTS`.
    """
    app = Flask(__name__)
    app.config.from_mapping(BASE=DEFAULT_BASE, DATA_FILES=[], **limits.DEFAULTS)
    app.config.from_prefixed_env("ODR_KG")
    if test_config is not None:
        app.config.from_mapping(test_config)

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
