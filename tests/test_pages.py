"""The site's pages through the Flask test client, and what shapes them without Flask: the labels
and groups of labels.ttl, a document's structure, the dataset description, links of other
schemes, bar charts and syntax errors for people."""

from __future__ import annotations

import html as html_lib
import re
import urllib.parse
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient

from odr_kg.legal_structure import number_key, structure
from odr_kg.linked_data import describe, is_web_iri, page_vocabulary
from odr_kg.store import KnowledgeStore
from odr_kg.web import create_app
from odr_kg.workbench import ResultTable, bar_chart, result_table, syntax_problem

BASE = "https://w3id.org/odr-kg/"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
UNSAFE = (
    "javascript:alert(1)",
    "JaVaScRiPt:alert(2)",
    "data:text/html,x",
    "vbscript:x",
    "file:///x",
)


@pytest.fixture
def client(any_app: Flask) -> FlaskClient:
    return any_app.test_client()


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path, headers=BROWSER)
    assert response.status_code == status, path
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


# Labels and groups, as data --------------------------------------------------------------


def test_every_property_and_type_of_the_dataset_has_english_and_chinese_labels(
    store: KnowledgeStore,
) -> None:
    labels = page_vocabulary().labels
    used = {
        row["term"].value
        for row in store.query(
            "SELECT DISTINCT ?term WHERE { { ?s ?term ?o } UNION { ?s a ?term } }"
        )
    }
    own = {
        row["term"].value
        for row in store.query(
            "SELECT ?term WHERE { ?term <http://www.w3.org/2000/01/rdf-schema#label> ?en , ?zh "
            'FILTER (lang(?en) = "en" && lang(?zh) = "zh") }'
        )
    }
    missing = sorted(term for term in used - own if not {"en", "zh"} <= set(labels.get(term, {})))
    assert missing == []


def test_groups_are_ordered_and_name_each_property_once() -> None:
    vocabulary = page_vocabulary()
    assert [notation for notation, _, _ in vocabulary.groups] == [
        "identity",
        "content",
        "links",
        "provenance",
    ]
    members = [member for _, _, group in vocabulary.groups for member in group]
    assert len(members) == len(set(members))
    assert vocabulary.group_of("http://purl.org/dc/terms/source")[0] == "provenance"
    assert vocabulary.group_of(f"{BASE}def/legalBasis")[0] == "content"
    assert vocabulary.group_of("urn:x:unknown")[0] == "content"


def test_a_description_marks_its_inferred_statements(store: KnowledgeStore) -> None:
    description = describe(store, f"{BASE}id/forum/hkiac")
    assert description is not None
    forum = ox.NamedNode(f"{BASE}def/Forum")
    institution = ox.NamedNode(f"{BASE}def/ArbitrationInstitution")
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    assert description.is_inferred(rdf_type, forum)
    assert not description.is_inferred(rdf_type, institution)
    assert [group.notation for group in description.groups()][0] == "identity"


# Documents, parts and articles ---------------------------------------------------------


def test_articles_are_ordered_by_their_number() -> None:
    assert sorted(["24", "2.4", "10.5", "3"], key=number_key) == ["2.4", "3", "10.5", "24"]


def test_a_document_has_its_contents_and_an_article_its_trail(store: KnowledgeStore) -> None:
    tdr = f"{BASE}eli/alibaba/transaction-dispute-rules"
    numbers = [entry.number for entry in structure(store, tdr).contents]
    assert numbers == sorted(numbers, key=number_key) and numbers[0] == "17"
    article = structure(store, f"{BASE}eli/alibaba/trade-assurance-rules/part_A/art_2.4")
    assert [entry.iri for entry in article.trail] == [
        f"{BASE}eli/alibaba/trade-assurance-rules",
        f"{BASE}eli/alibaba/trade-assurance-rules/part_A",
    ]
    middle = structure(store, f"{tdr}/art_30")
    assert middle.previous is not None and middle.previous.number == "24"
    assert middle.next is not None and middle.next.number == "31"


def test_the_document_and_article_pages(client: FlaskClient) -> None:
    document = page(client, "/eli/alibaba/transaction-dispute-rules")
    assert '<ul id="contents">' in document
    assert (
        document.index("Article 17") < document.index("Article 24") < document.index("Article 56")
    )
    article = page(client, "/eli/alibaba/trade-assurance-rules/part_A/art_2.4")
    assert 'aria-label="Where this is"' in article
    assert '<a href="/eli/alibaba/trade-assurance-rules/part_A">' in article
    assert ">is part of<" in article and "eli/ontology#is_part_of</a>" not in article


def test_a_chinese_page_has_chinese_headings_and_language(client: FlaskClient) -> None:
    html = page(client, "/id/forum/hkiac?lang=zh")
    assert '<html lang="zh-Hans">' in html
    assert "<h1>香港国际仲裁中心</h1>" in html
    assert ">基本信息<" in html and ">出处<" in html and ">What it is<" not in html
    assert '<html lang="en">' in page(client, "/id/forum/hkiac")


def test_the_ontology_page_has_contents_and_labelled_superclasses(client: FlaskClient) -> None:
    html = page(client, "/def")
    assert 'aria-labelledby="toc-heading"' in html
    assert '<a href="#Article">article</a>' in html
    assert ">legal resource subdivision</a>" in html  # odr:Article's superclass, by its label


# The front door, the dataset, errors -----------------------------------------------------


def test_the_home_page_links_every_part_of_the_site(client: FlaskClient) -> None:
    html = page(client, "/")
    for path in ("/lookup", "/sparql", "/def", "/.well-known/void", "/linking", "/dump.ttl"):
        assert f'href="{path}"' in html
    assert '<link rel="stylesheet" href="/static/site.css">' in html
    stylesheet = client.get("/static/site.css")
    assert stylesheet.status_code == 200
    stylesheet.close()


def test_the_linking_page_names_the_patterns_and_every_outgoing_link(
    client: FlaskClient,
) -> None:
    html = page(client, "/linking")
    assert "{issuer}/{document}" in html and "What stays stable" in html
    assert "http://www.wikidata.org/entity/Q8646" in html
    assert "XXII-1.en.xml" in html and "WIPO Lex 973" in html and "UNTS 25567" in html


def test_the_dataset_description_is_a_page_and_says_when_who_and_under_which_license(
    client: FlaskClient,
) -> None:
    html = page(client, "/.well-known/void")
    assert "date modified" in html and "publisher" in html and "license" in html
    turtle = client.get("/.well-known/void", headers={"Accept": "text/turtle"})
    assert turtle.mimetype == "text/turtle"
    predicates = {t.predicate.value for t in ox.parse(turtle.data, ox.RdfFormat.TURTLE)}
    for term in ("modified", "publisher", "license"):
        assert f"http://purl.org/dc/terms/{term}" in predicates
    linksets = [
        t
        for t in ox.parse(turtle.data, ox.RdfFormat.TURTLE)
        if t.object.value == "http://rdfs.org/ns/void#Linkset"
    ]
    assert len(linksets) == 3  # Wikidata (sameAs); UN Treaty Collection, WIPO (seeAlso)


@pytest.mark.parametrize("path", ["/id/forum/nowhere", "/no/such/page"])
def test_a_missing_page_is_styled_for_browsers_and_plain_for_programs(
    client: FlaskClient, path: str
) -> None:
    html = page(client, path, status=404)
    assert "<title>404 Not Found · ODR knowledge graph</title>" in html
    assert 'aria-label="Site"' in html
    plain = client.get(path, headers={"Accept": "text/turtle"})
    assert plain.status_code == 404 and "site-header" not in plain.get_data(as_text=True)


# Only http(s) IRIs become links -------------------------------------------------------------


@pytest.mark.parametrize("iri", UNSAFE)
def test_no_other_scheme_is_a_web_iri(iri: str) -> None:
    assert not is_web_iri(iri)


def test_loaded_iris_of_other_schemes_are_text_on_a_resource_page(tmp_path: Path) -> None:
    data = tmp_path / "links.ttl"
    data.write_text(
        f"<{BASE}id/test/links> <http://www.w3.org/2000/01/rdf-schema#seeAlso> "
        + ", ".join(f"<{iri}>" for iri in UNSAFE)
        + ", <https://example.org/fine> .\n",
        encoding="utf-8",
    )
    app = create_app({"TESTING": True, "DATA_FILES": [str(data)], "QUERY_WORKERS": 0})
    html = page(app.test_client(), "/id/test/links")
    for iri in UNSAFE:
        assert iri.replace("&", "&amp;") in html
        assert f'href="{iri}' not in html
    assert 'href="https://example.org/fine"' in html


def test_iris_of_other_schemes_in_an_answer_are_text_in_the_workbench(
    client: FlaskClient,
) -> None:
    values = " ".join(f"<{iri}>" for iri in UNSAFE)
    response = client.get(
        "/sparql",
        query_string={"query": f"SELECT ?x WHERE {{ VALUES ?x {{ {values} }} }}"},
        headers=BROWSER,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for iri in UNSAFE:
        assert f'href="{iri}' not in html and iri in html


# The workbench's presentation, without Flask -----------------------------------------------


def test_a_bar_chart_for_one_label_and_one_number_column() -> None:
    store = ox.Store()
    chart = bar_chart(
        result_table(
            store.query('SELECT ?name ?n WHERE { VALUES (?name ?n) { ("a" 2) ("b" 4) } }'),
            {},
            10,
        )
    )
    assert chart is not None
    assert chart.label_column == "name" and chart.value_column == "n"
    assert chart.bars == [("a", "2", 50.0), ("b", "4", 100.0)]
    assert bar_chart(ResultTable("solutions", ["a"], [], 0)) is None
    two_labels = store.query('SELECT ?a ?b WHERE { VALUES (?a ?b) { ("x" "y") } }')
    assert bar_chart(result_table(two_labels, {}, 10)) is None


def test_a_syntax_error_is_read_for_people() -> None:
    problem = syntax_problem(
        "SELECT * WHERE {\n ?s foo:bar ?o }",
        "error at 2:12: expected one of Prefix not found, ['%'], [_]",
    )
    assert problem is not None
    assert (problem.line, problem.column, problem.near, problem.near_column) == (
        2,
        12,
        "foo:bar",
        5,
    )
    assert "not declared" in problem.explanation
    plain = syntax_problem("SELECT * WHERE { ?s ?p }", 'error at 1:25: expected one of "{", "}"')
    assert plain is not None and plain.expected == ["{", "}"]
    assert plain.explanation.startswith("the query cannot be read here, after “}”")
    assert syntax_problem("ASK {}", "the store is down") is None


def test_the_completions_name_prefixes_and_labelled_terms(client: FlaskClient) -> None:
    completions = client.get("/sparql/completions").get_json()
    assert completions["prefixes"]["odr"] == f"{BASE}def/"
    terms = {term["name"]: term for term in completions["terms"]}
    assert terms["odr:Article"]["kind"] == "class"
    assert terms["odr:legalBasis"]["kind"] == "property"
    assert terms["eli:is_part_of"]["label"] == "is part of"
    assert terms["forum:hkiac"]["label"] == "Hong Kong International Arbitration Centre"


@pytest.mark.parametrize(
    "page",
    [
        "/",
        "/def",
        "/linking",
        "/.well-known/void",
        "/lookup",
        "/sparql",
        "/eli/alibaba/trade-assurance-rules",
        "/eli/alibaba/trade-assurance-rules/part_A",
    ],
)
def test_every_link_of_a_page_to_this_site_resolves(client: FlaskClient, page: str) -> None:
    html = client.get(page, headers={"Accept": "text/html"}).text
    links = {
        urllib.parse.urldefrag(urllib.parse.urljoin(page, html_lib.unescape(href))).url
        for href in re.findall(r'href="([^"]+)"', html)
    }
    local = sorted(link for link in links if link.startswith("/") and not link.startswith("//"))
    assert local
    broken = []
    for link in local:
        response = client.get(link)
        if response.status_code >= 400:
            broken.append(link)
        response.close()
    assert not broken, broken
