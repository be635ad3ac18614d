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


def test_an_answers_conditions_have_the_described_keys(app: Flask) -> None:
    # A Trade Assurance quality claim with only confirmed receipt dated: conditional on
    # protection, the advance refund on its own conditions.
    response = app.test_client().post(
        "/api/lookup",
        json={
            "role": "buyer",
            "channel": "trade-assurance",
            "claim": "quality",
            "asOf": "2026-11-27",
            "paid": {"amount": "3000", "currency": "USD"},
            "receivedOn": "2026-11-10",
            "openedOn": "2026-11-20",
        },
    )
    assert response.status_code == 200
    answer = response.json
    conditions = [c for stage in answer["stages"] for c in stage["conditions"]]
    conditions += [c for decision in answer["decisions"] for c in decision["conditions"]]
    conditions += answer["enforcement"]["advanceRefund"]["conditions"]
    assert conditions
    schema = SPEC["paths"]["/api/lookup"]["post"]["responses"]["200"]["content"]
    stage = schema["application/json"]["schema"]["properties"]["stages"]["items"]
    described = stage["properties"]["conditions"]["items"]
    for condition in conditions:
        assert set(condition) == set(described["properties"])
        assert condition["legalBasis"]
        for basis in condition["legalBasis"]:
            assert set(basis) == set(described["properties"]["legalBasis"]["items"]["properties"])
