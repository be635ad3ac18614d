"""Every question in queries/ runs and returns the rows its header promises."""

from __future__ import annotations

import re

import pytest

from odr_kg import resources
from odr_kg.store import KnowledgeStore

QUERIES = resources.data_files("queries")
HEADER = re.compile(r"^#\+ (\w+): (.+)$", re.MULTILINE)
FILE_NAME = re.compile(r"^\d\d-[a-z0-9-]+\.rq$")


def header(text: str) -> dict[str, str]:
    return dict(HEADER.findall(text))


def test_there_are_at_least_fifteen_questions() -> None:
    assert len(QUERIES) >= 15


@pytest.mark.parametrize("entry", QUERIES, ids=lambda entry: entry.name)
def test_question_has_a_header_and_a_stable_order(entry) -> None:
    text = entry.read_text(encoding="utf-8")
    assert FILE_NAME.match(entry.name)
    fields = header(text)
    assert fields.keys() >= {"summary", "tags", "rows"}
    assert "ORDER BY" in text


@pytest.mark.parametrize("entry", QUERIES, ids=lambda entry: entry.name)
def test_question_returns_the_rows_it_promises(any_store: KnowledgeStore, entry) -> None:
    """On the embedded store and on an Oxigraph server: standard SPARQL runs on both."""
    text = entry.read_text(encoding="utf-8")
    rows = list(any_store.query(text))
    assert len(rows) == int(header(text)["rows"])
