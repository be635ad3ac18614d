"""The OpenAPI description at /openapi.json names exactly the routes of /api/*."""

from __future__ import annotations

from flask import Flask

from odr_kg.web.openapi import SPEC


def test_the_description_is_served(app: Flask) -> None:
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    assert response.json == SPEC
    assert response.json["openapi"].startswith("3.")


def test_the_description_names_every_api_route_and_method(app: Flask) -> None:
    routes = {
        (rule.rule, method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    described = {(path, method) for path, item in SPEC["paths"].items() for method in item}
    assert described == routes
