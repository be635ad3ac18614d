"""The query workbench in a real browser: Debian's headless chromium, driven by Playwright, against
a live ``odr-kg serve``. Skipped only where /usr/bin/chromium is not installed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser

from odr_kg.sparql_protocol import example_queries
from odr_kg.store import KnowledgeStore

pytestmark = pytest.mark.subprocess

# Its rows link to decision families and articles, both pages of ours.
EXAMPLE = next(e for e in example_queries() if e["name"].startswith("01-"))


@pytest.fixture(scope="module")
def served_url(start_server: Callable[..., str]) -> str:
    return start_server()


def test_pick_an_example_run_it_and_open_an_iri(
    browser: Browser, served_url: str, store: KnowledgeStore, tmp_path: Path
) -> None:
    rows = len(list(store.query(EXAMPLE["text"])))
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        response = page.goto(f"{served_url}/sparql")
        assert response is not None and response.status == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "PREFIX odr: <https://w3id.org/odr-kg/def/>" in page.locator("#query").input_value()

        page.get_by_label("Example question", exact=True).select_option(
            label=f"01 · {EXAMPLE['summary']}"
        )
        assert page.locator("#query").input_value() == EXAMPLE["text"]
        page.get_by_role("button", name="Run").click()
        page.wait_for_selector("#results-table")

        assert page.locator("#results-table tbody tr").count() == rows
        assert page.locator("#count").inner_text() == f"{rows} rows."
        # A browser sends the lines of a textarea ended by CRLF.
        sent = parse_qs(urlsplit(page.url).query)
        assert sent.keys() == {"query"}
        assert sent["query"][0].replace("\r\n", "\n") == EXAMPLE["text"]
        assert page.locator("#example").input_value() == EXAMPLE["text"]
        assert page.locator("#query").input_value() == EXAMPLE["text"]
        downloads = page.locator("#downloads a")
        assert downloads.all_inner_texts() == ["SPARQL JSON", "SPARQL XML", "CSV", "TSV"]
        screenshot = tmp_path / "workbench-results.png"
        page.screenshot(path=str(screenshot), full_page=True)
        assert screenshot.stat().st_size > 0

        link = page.locator("#results-table a[href^='/id/decision-family/']").first
        iri = link.get_attribute("title")
        assert iri is not None and iri.startswith(store.base)
        link.click()
        page.wait_for_load_state()
        assert urlsplit(page.url).path == "/" + iri.removeprefix(store.base)
        assert page.locator("h1").inner_text()
        assert iri in page.locator("article").inner_text()
    finally:
        page.close()


def test_the_shared_address_shows_the_answer_without_javascript(
    browser: Browser, served_url: str, store: KnowledgeStore
) -> None:
    page = browser.new_page(java_script_enabled=False)
    try:
        page.goto(f"{served_url}/sparql")
        page.locator("#examples a").first.click()
        page.wait_for_selector("#results-table")
        rows = len(list(store.query(EXAMPLE["text"])))
        assert page.locator("#results-table tbody tr").count() == rows
        shared = page.url
        page.goto("about:blank")
        page.goto(shared)
        assert page.locator("#query").input_value() == EXAMPLE["text"]
        assert page.locator("#results-table tbody tr").count() == rows
    finally:
        page.close()


def test_a_syntax_error_is_shown_with_the_parsers_message(
    browser: Browser, served_url: str
) -> None:
    page = browser.new_page()
    try:
        page.goto(f"{served_url}/sparql")
        page.locator("#query").fill("SELECT * WHERE { ?s ?p }")
        with page.expect_response(lambda r: "/sparql?" in r.url) as answer:
            page.locator("#query").press("Control+Enter")
        assert answer.value.status == 400
        alert = page.get_by_role("alert")
        assert "SPARQL syntax error: error at 1:" in alert.inner_text()
        assert page.locator("#query").input_value() == "SELECT * WHERE { ?s ?p }"
    finally:
        page.close()
