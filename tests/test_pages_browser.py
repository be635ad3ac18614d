"""The home page and the resource pages in a real browser (Debian's headless chromium, driven by
Playwright) against a live ``odr-kg serve --data``, on a desktop and at 390 px; every page may
reach 127.0.0.1 only and must break no rule of the Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from conftest import LocalContext

pytestmark = pytest.mark.subprocess

BASE = "https://w3id.org/odr-kg/"
UNSAFE = (
    "javascript:alert(1)",
    "JaVaScRiPt:alert(2)",
    "data:text/html,x",
    "vbscript:msgbox(3)",
    "file:///etc/passwd",
)
LOADED = f"""
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{BASE}id/test/links>
    rdfs:label "Links of every scheme"@en ;
    rdfs:seeAlso {", ".join(f"<{iri}>" for iri in UNSAFE)} , <https://example.org/fine> .
"""
PHONE = {"viewport": {"width": 390, "height": 844}}
NAVIGATION = ["Procedure lookup", "SPARQL", "Ontology", "Data", "Linking to us"]


@pytest.fixture(scope="module")
def served_url(start_server: Callable[..., str], tmp_path_factory: pytest.TempPathFactory) -> str:
    data = tmp_path_factory.mktemp("data") / "links.ttl"
    data.write_text(LOADED, encoding="utf-8")
    return start_server("--data", str(data))


def fits(page: Page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("local_context", [{}, PHONE], indirect=True, ids=["desktop", "phone"])
def test_the_home_page_leads_everywhere(
    local_context: LocalContext, served_url: str, tmp_path: Path
) -> None:
    page = local_context.new_page()
    response = page.goto(served_url + "/")
    assert response is not None and response.status == 200
    assert page.title() == "ODR knowledge graph"
    nav = page.get_by_role("navigation", name="Site")
    assert nav.get_by_role("link").all_inner_texts() == NAVIGATION
    main = page.locator("main")
    for text in ("Procedure lookup", "SPARQL workbench", "Ontology", "Data", "Linking to us"):
        assert main.get_by_role("link", name=text, exact=True).count() == 1
    assert main.locator("a[href='/dump.trig']").count() == 1
    assert "graph/inferred" in page.locator("#graphs").inner_text()
    width = page.viewport_size["width"] if page.viewport_size else 1280
    assert fits(page, width)
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
    local_context.check(page)
    for name in NAVIGATION:
        page.get_by_role("navigation", name="Site").get_by_role("link", name=name).click()
        page.wait_for_load_state()
        assert page.locator("h1").count() == 1, name
        assert page.title().endswith(" · ODR knowledge graph"), name
        assert fits(page, width), name
        local_context.check(page)
        page.go_back()


@pytest.mark.parametrize("local_context", [{}, PHONE], indirect=True, ids=["desktop", "phone"])
def test_an_article_has_its_trail_neighbours_and_labelled_properties(
    local_context: LocalContext, served_url: str
) -> None:
    page = local_context.new_page()
    page.goto(served_url + "/eli/alibaba/transaction-dispute-rules/art_30")
    assert page.title() == "Transaction Dispute Rules, Article 30 · ODR knowledge graph"
    trail = page.get_by_role("navigation", name="Where this is")
    assert trail.get_by_role("link").all_inner_texts() == ["Transaction Dispute Rules"]
    assert page.locator("a[rel=prev]").inner_text().endswith("Article 24")
    assert "Article 31" in page.locator("a[rel=next]").inner_text()
    groups = page.locator("section.group h2").all_inner_texts()
    assert groups[:1] == ["What it is"] and "Provenance" in groups
    identity = page.locator("#identity").inner_text()
    assert "is part of" in identity and "number" in identity
    assert "http://data.europa.eu/eli/ontology#" not in page.locator("main").inner_text()
    assert "inferred" in identity  # its ELI type, from the inferred graph
    width = page.viewport_size["width"] if page.viewport_size else 1280
    assert fits(page, width)
    page.locator("a[rel=next]").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Transaction Dispute Rules, Article 31"
    local_context.check(page)


def test_a_document_lists_its_articles_in_order(
    local_context: LocalContext, served_url: str
) -> None:
    page = local_context.new_page()
    page.goto(served_url + "/eli/alibaba/trade-assurance-rules")
    contents = page.locator("#contents li").all_inner_texts()
    assert contents[0].endswith("Part A")
    assert any(entry.endswith("Article 2.4") for entry in contents)
    local_context.check(page)


def test_a_chinese_page_is_chinese(local_context: LocalContext, served_url: str) -> None:
    page = local_context.new_page()
    page.goto(served_url + "/id/forum/hkiac?lang=zh")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.locator("h1").inner_text() == "香港国际仲裁中心"
    assert page.locator("section.group h2").first.inner_text() == "基本信息"
    assert page.get_by_role("link", name="English").count() == 1
    local_context.check(page)


def test_loaded_iris_of_other_schemes_are_never_links(
    local_context: LocalContext, served_url: str
) -> None:
    page = local_context.new_page()
    response = page.goto(served_url + "/id/test/links")
    assert response is not None and response.status == 200
    links = page.locator("#links")
    text = links.inner_text()
    hrefs = page.locator("a").evaluate_all("all => all.map(a => a.getAttribute('href') || '')")
    for iri in UNSAFE:
        assert iri in text
        assert not any(href.lower().startswith(iri.split(":")[0].lower()) for href in hrefs)
    assert links.locator("a[href='https://example.org/fine']").count() == 1
    local_context.check(page)


def test_an_unknown_page_is_a_styled_404(local_context: LocalContext, served_url: str) -> None:
    page = local_context.new_page()
    response = page.goto(served_url + "/id/forum/nowhere")
    assert response is not None and response.status == 404
    assert page.title().startswith("404 ")
    assert page.get_by_role("navigation", name="Site").count() == 1
    assert "says nothing about" in page.get_by_role("alert").inner_text()
    colour = page.evaluate("getComputedStyle(document.querySelector('.site-header')).display")
    assert colour == "flex"  # the site's style sheet applies
    local_context.check(page)
