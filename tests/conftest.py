from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from odr_kg.store import KnowledgeStore
from odr_kg.web import create_app


@pytest.fixture(autouse=True)
def _no_base_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI and the app read ODR_KG_BASE; a developer's shell must not change test results.
    monkeypatch.delenv("ODR_KG_BASE", raising=False)


@pytest.fixture(scope="session")
def store() -> KnowledgeStore:
    return KnowledgeStore.load()


@pytest.fixture
def app() -> Iterator[Flask]:
    yield create_app({"TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
