"""The query workbench in a real browser: Debian's headless chromium, driven by Playwright, against
a live ``odr-kg serve``; every page may reach 127.0.0.1 only and must break no rule of the
Content-Security-Policy. Skipped only where /usr/bin/chromium is not installed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Page, expect

from conftest import LocalContext
from odr_kg.store import KnowledgeStore
from odr_kg.workbench import example_queries

pytestmark = pytest.mark.subprocess

# Its rows link to decision families and articles, both pages of ours.
EXAMPLE = next(e for e in example_queries() if e["name"].startswith("01-"))
UNSAFE = (
    "javascript:alert(1)",
    "JaVaScRiPt:alert(2)",
    "data:text/html,x",
    "vbscript:x",
    "file:///etc/passwd",
)
PHONE = {"viewport": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def served_url(start_server: Callable[..., str]) -> str:
    return start_server()


def editor_text(page: Page) -> str:
    return page.evaluate("window.odrEditor.state.doc.toString()")


def set_editor_text(page: Page, text: str) -> None:
    page.evaluate(
        "text => window.odrEditor.dispatch({changes: {from: 0, "
        "to: window.odrEditor.state.doc.length, insert: text}})",
        text,
    )


def accept_completion(page: Page) -> None:
    # CodeMirror ignores Enter for a moment after the list opens (interactionDelay, 75 ms),
    # so that a key pressed as the list appears does not pick from it.
    page.wait_for_timeout(150)
    page.keyboard.press("Enter")


def open_workbench(local_context: LocalContext, url: str) -> Page:
    page = local_context.new_page()
    page.goto(url)
    page.wait_for_selector(".cm-content")
    return page


def test_pick_an_example_run_it_and_open_an_iri(
    local_context: LocalContext, served_url: str, store: KnowledgeStore, tmp_path: Path
) -> None:
    rows = len(list(store.query(EXAMPLE["text"])))
    page = open_workbench(local_context, f"{served_url}/sparql")
    assert "PREFIX odr: <https://w3id.org/odr-kg/def/>" in editor_text(page)
    # The editor replaces the textarea, which stays the form's field.
    assert page.locator("#query").is_hidden()
    assert page.locator(".cm-editor .cm-line").count() > 10

    page.get_by_label("Example question", exact=True).select_option(
        label=f"01 · {EXAMPLE['summary']}"
    )
    assert editor_text(page) == EXAMPLE["text"]
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_selector("#results-table")

    assert page.locator("#results-table tbody tr").count() == rows
    assert page.locator("#count").inner_text() == f"{rows} rows."
    assert page.locator("#time").inner_text().startswith("Answered in ")
    sent = parse_qs(urlsplit(page.url).query)
    assert sent.keys() == {"query"}
    assert sent["query"][0].replace("\r\n", "\n") == EXAMPLE["text"]
    assert page.locator("#example").input_value() == EXAMPLE["text"]
    assert editor_text(page) == EXAMPLE["text"]
    downloads = page.locator("#downloads a")
    assert downloads.all_inner_texts() == ["SPARQL JSON", "SPARQL XML", "CSV", "TSV"]
    screenshot = tmp_path / "workbench-results.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 0
    local_context.check(page)

    link = page.locator("#results-table a[href^='/id/decision-family/']").first
    iri = link.get_attribute("title")
    assert iri is not None and iri.startswith(store.base)
    link.click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path == "/" + iri.removeprefix(store.base)
    assert iri in page.locator("article").inner_text()


def test_typing_completes_terms_and_declares_their_prefix(
    local_context: LocalContext, served_url: str
) -> None:
    page = open_workbench(local_context, f"{served_url}/sparql")
    # The server works the vocabulary out on its first request: on a busy machine that can
    # outlast the completion's wait, so it is asked for once before typing.
    assert page.request.get(f"{served_url}/sparql/completions").ok
    set_editor_text(page, "")
    page.locator(".cm-content").click()
    page.keyboard.type("SELECT ?article WHERE { ?article a eli:LegalResourceSub")
    option = page.locator(".cm-tooltip-autocomplete li", has_text="eli:LegalResourceSubdivision")
    expect(option).to_be_visible(timeout=15_000)
    accept_completion(page)
    text = editor_text(page)
    assert text.startswith("PREFIX eli: <http://data.europa.eu/eli/ontology#>\n")
    assert "?article a eli:LegalResourceSubdivision" in text
    # The keyword and the prefix of a term of ours, with the label beside it.
    page.keyboard.type(" . ?grounded odr:legalBa")
    expect(page.locator(".cm-tooltip-autocomplete .cm-completionDetail").first).to_be_visible()
    accept_completion(page)
    page.keyboard.type(" ?article }")
    assert "PREFIX odr: <https://w3id.org/odr-kg/def/>" in editor_text(page)
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    page.wait_for_selector("#results-table")
    # Every article, found by its ELI type (the inferred graph), that grounds something.
    assert page.locator("#results-table tbody tr").count() > 10
    local_context.check(page)


def test_a_query_too_long_for_an_address_is_sent_by_post(
    local_context: LocalContext, served_url: str
) -> None:
    page = open_workbench(local_context, f"{served_url}/sparql")
    long_query = "# " + "a long comment " * 700 + "\nASK { ?s ?p ?o }"
    assert len(long_query) > 10_000
    set_editor_text(page, long_query)
    with page.expect_response(lambda r: urlsplit(r.url).path == "/sparql") as answer:
        page.get_by_role("button", name="Run", exact=True).click()
    assert answer.value.request.method == "POST"
    assert answer.value.status == 200
    page.wait_for_selector("#boolean")
    page.wait_for_selector(".cm-content")
    assert page.locator("#boolean").inner_text() == "true"
    assert editor_text(page).replace("\r\n", "\n") == long_query
    local_context.check(page)


def test_an_example_never_destroys_typed_text_without_a_way_back(
    local_context: LocalContext, served_url: str
) -> None:
    page = open_workbench(local_context, f"{served_url}/sparql")
    set_editor_text(page, "")
    page.locator(".cm-content").click()
    page.keyboard.type("ASK { ?mine ?own ?words }")
    typed = editor_text(page)
    page.locator("#example").select_option(index=3)
    assert editor_text(page) != typed
    status = page.get_by_role("status")
    expect(status).to_contain_text("The example replaced your query.")
    status.get_by_role("button", name="Undo").click()
    assert editor_text(page) == typed
    local_context.check(page)


def test_a_syntax_error_is_marked_at_its_position_in_plain_words(
    local_context: LocalContext, served_url: str
) -> None:
    page = open_workbench(local_context, f"{served_url}/sparql")
    set_editor_text(page, "SELECT * WHERE {\n  ?s nope:thing ?o\n}")
    with page.expect_response(lambda r: "/sparql?" in r.url) as answer:
        page.locator(".cm-content").press("Control+Enter")
    assert answer.value.status == 400
    page.wait_for_selector(".cm-lintRange-error")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Line 2, column")
    expect(alert).to_contain_text("“nope:thing” is not declared: add a PREFIX line for it")
    marked = page.locator(".cm-lintRange-error")
    expect(marked).to_have_text("nope:thing")
    assert editor_text(page) == "SELECT * WHERE {\n  ?s nope:thing ?o\n}"
    local_context.check(page)


def test_results_sort_by_a_column_and_chart_one_label_and_one_number(
    local_context: LocalContext, served_url: str
) -> None:
    query = (
        "SELECT ?type (COUNT(?s) AS ?resources) WHERE { ?s a ?type } GROUP BY ?type "
        "ORDER BY ?type LIMIT 12"
    )
    page = open_workbench(local_context, f"{served_url}/sparql")
    set_editor_text(page, query)
    with page.expect_navigation():
        page.locator(".cm-content").press("Control+Enter")
    page.wait_for_selector("#results-table")
    page.wait_for_selector("th button.sort")
    numbers = page.locator("#results-table tbody td.number")
    assert numbers.count() == 12
    page.get_by_role("button", name="?resources").click()
    ascending = [float(v) for v in numbers.evaluate_all("cells => cells.map(c => c.dataset.value)")]
    assert ascending == sorted(ascending)
    page.get_by_role("button", name="?resources").click()
    descending = [
        float(v) for v in numbers.evaluate_all("cells => cells.map(c => c.dataset.value)")
    ]
    assert descending == sorted(ascending, reverse=True)
    assert page.locator("#results-table th").nth(1).get_attribute("aria-sort") == "descending"
    chart = page.locator("#chart")
    expect(chart).to_contain_text("Bar chart of ?resources by ?type")
    assert chart.locator(".bars li").count() == 12
    local_context.check(page)


def test_iris_of_other_schemes_in_an_answer_are_never_links(
    local_context: LocalContext, served_url: str
) -> None:
    values = " ".join(f"<{iri}>" for iri in UNSAFE)
    query = f"SELECT ?link WHERE {{ VALUES ?link {{ {values} <https://example.org/ok> }} }}"
    page = local_context.new_page()
    page.goto(f"{served_url}/sparql?{urlencode({'query': query})}")
    page.wait_for_selector("#results-table")
    cells = page.locator("#results-table tbody td")
    assert cells.count() == len(UNSAFE) + 1
    hrefs = page.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert all(
        not href.lower().startswith(("javascript:", "data:", "vbscript:", "file:"))
        for href in hrefs
        if href
    )
    for iri in UNSAFE:
        assert page.locator("#results-table td", has_text=iri).locator("a").count() == 0
    assert page.locator("#results-table a[href='https://example.org/ok']").count() == 1
    local_context.check(page)


@pytest.mark.parametrize("local_context", [PHONE], indirect=True)
def test_the_workbench_fits_a_phone(local_context: LocalContext, served_url: str) -> None:
    page = open_workbench(
        local_context, f"{served_url}/sparql?{urlencode({'query': EXAMPLE['text']})}"
    )
    page.wait_for_selector("#results-table")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator(".cm-editor").bounding_box()
    assert box is not None and box["width"] <= 390 and box["height"] > 100
    local_context.check(page)


@pytest.mark.parametrize("local_context", [{"java_script_enabled": False}], indirect=True)
def test_the_shared_address_shows_the_answer_without_javascript(
    local_context: LocalContext, served_url: str, store: KnowledgeStore
) -> None:
    page = local_context.new_page()
    page.goto(f"{served_url}/sparql")
    assert page.locator("#query").is_visible()
    page.locator("#examples a").first.click()
    page.wait_for_selector("#results-table")
    rows = len(list(store.query(EXAMPLE["text"])))
    assert page.locator("#results-table tbody tr").count() == rows
    shared = page.url
    page.goto("about:blank")
    page.goto(shared)
    assert page.locator("#query").input_value() == EXAMPLE["text"]
    assert page.locator("#results-table tbody tr").count() == rows
    # Without the editor, a long query still runs: by the POST button.
    page.locator("#query").fill("# " + "x" * 9000 + "\nASK {}")
    with page.expect_response(lambda r: urlsplit(r.url).path == "/sparql") as answer:
        page.get_by_role("button", name="Run by POST").click()
    assert answer.value.request.method == "POST" and answer.value.status == 200
    assert local_context.foreign == []
