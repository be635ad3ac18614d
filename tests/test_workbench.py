"""The query workbench at /sparql through the Flask test client: the page a browser gets, its
results table, links, download links, the query in the URL and errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient

from odr_kg.sparql_protocol import FORMAT_NAMES, RESULT_MEDIA_TYPES
from odr_kg.store import KnowledgeStore
from odr_kg.workbench import DOWNLOAD_FORMATS, Cell, example_queries, result_table

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
EXAMPLES = {example["name"]: example for example in example_queries()}
SELECT = "SELECT ?s WHERE { ?s a ?type } ORDER BY ?s LIMIT 2"
CONSTRUCT = "CONSTRUCT { ?s a ?type } WHERE { ?s a ?type } LIMIT 2"
# The resource pages our table links to; `prv:` is a provision of the KG.
PROVISION = "https://w3id.org/odr-kg/id/provision/refund-within-7-business-days"


@dataclass
class Page(HTMLParser):
    """What a test reads of the workbench: the editor, the table, the links, the error."""

    query: str = ""
    error: str = ""
    count: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    table_links: list[str] = field(default_factory=list)
    downloads: dict[str, str] = field(default_factory=dict)
    example_links: list[str] = field(default_factory=list)
    selected_example: str = ""
    scripts: list[str] = field(default_factory=list)
    inline_scripts: int = 0
    inline_handlers: list[str] = field(default_factory=list)
    stylesheets: list[str] = field(default_factory=list)
    _open: list[str] = field(default_factory=list)
    _href: str = ""

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.inline_handlers += [name for name in attributes if name.startswith("on")]
        if "style" in attributes:
            self.inline_handlers.append("style")
        if tag in ("input", "meta", "link", "br"):
            if tag == "link" and attributes.get("rel") == "stylesheet":
                self.stylesheets.append(attributes["href"] or "")
            return
        self._open.append(attributes.get("id") or tag)
        if tag == "script":
            if attributes.get("src"):
                self.scripts.append(attributes["src"] or "")
            else:
                self.inline_scripts += 1
        elif tag == "tr" and "results-table" in self._open and "tbody" in self._open:
            self.rows.append([])
        elif tag == "td" and self.rows:
            self.rows[-1].append("")
        elif tag == "option" and "selected" in attributes:
            self.selected_example = attributes.get("value") or ""
        elif tag == "a":
            self._href = attributes.get("href") or ""
            if "results-table" in self._open:
                self.table_links.append(self._href)
            elif "examples" in self._open:
                self.example_links.append(self._href)

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        where = self._open[-1] if self._open else ""
        if where == "query":
            self.query += data
        elif "error" in self._open:
            self.error += data
        elif "count" in self._open:
            self.count += data
        elif where == "th" and "results-table" in self._open:
            self.columns.append(data)
        elif "td" in self._open and self.rows and "results-table" in self._open:
            self.rows[-1][-1] += data
        if where == "a" and "downloads" in self._open:
            self.downloads[data] = self._href


def read(response) -> Page:
    page = Page()
    page.feed(response.get_data(as_text=True))
    page.close()
    return page


def browse(client: FlaskClient, query: str | None = None, status: int = 200, **params) -> Page:
    query_string = params | ({"query": query} if query is not None else {})
    response = client.get("/sparql", query_string=query_string, headers=BROWSER)
    assert response.status_code == status, response.data[:500]
    assert response.mimetype == "text/html"
    assert "Accept" in response.vary
    return read(response)


# Who gets the workbench -------------------------------------------------------------------

SPARQLWRAPPER_JSON = "application/sparql-results+json,application/json,text/javascript"


@pytest.mark.parametrize(
    ("query", "accept", "media_type"),
    [
        (SELECT, BROWSER["Accept"], "text/html"),
        (SELECT, "text/html", "text/html"),
        (SELECT, None, "application/sparql-results+json"),
        (SELECT, "*/*", "application/sparql-results+json"),
        (SELECT, SPARQLWRAPPER_JSON, "application/sparql-results+json"),
        (SELECT, "application/sparql-results+xml", "application/sparql-results+xml"),
        (SELECT, "application/xml", "application/xml"),
        (SELECT, "text/html;q=0.5, */*", "application/sparql-results+json"),
        (
            SELECT,
            "application/sparql-results+xml, text/html;q=0.1",
            "application/sparql-results+xml",
        ),
        ("ASK {}", BROWSER["Accept"], "text/html"),
        ("ASK {}", "*/*", "application/sparql-results+json"),
        (CONSTRUCT, BROWSER["Accept"], "text/html"),
        (CONSTRUCT, "application/turtle,text/turtle", "text/turtle"),
        (CONSTRUCT, "*/*", "text/turtle"),
    ],
)
def test_browsers_get_the_workbench_and_clients_the_results(
    client: FlaskClient, query: str, accept: str | None, media_type: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    response = client.get("/sparql", query_string={"query": query}, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert "Accept" in response.vary


def test_the_format_parameter_wins_over_a_browser_accept(client: FlaskClient) -> None:
    response = client.get(
        "/sparql", query_string={"query": SELECT, "format": "csv"}, headers=BROWSER
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"


def test_a_browser_posting_a_query_gets_the_workbench(client: FlaskClient) -> None:
    response = client.post("/sparql", data={"query": SELECT}, headers=BROWSER)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert len(read(response).rows) == 2


# The page ---------------------------------------------------------------------------------


def test_the_default_query_declares_the_project_prefixes_and_runs(client: FlaskClient) -> None:
    page = browse(client)
    declared = dict(re.findall(r"^PREFIX (\w*): <([^>]*)>$", page.query, re.MULTILINE))
    for prefix in ("odr", "eli", "skos", "rdfs", "dcterms", "schema", "prov", "org", "owl", "xsd"):
        assert prefix in declared
    assert declared["prv"] == "https://w3id.org/odr-kg/id/provision/"
    assert declared["tdr"] == "https://w3id.org/odr-kg/eli/alibaba/transaction-dispute-rules/"
    # The vocabularies come first, the namespaces of our own resources after them.
    names = list(declared)
    assert names.index("xsd") < names.index("prv")
    assert browse(client, page.query).rows


def test_every_prefix_of_the_project_is_declared(client: FlaskClient, store: KnowledgeStore):
    query = browse(client).query
    for prefix, namespace in store.prefixes.items():
        assert f"PREFIX {prefix}: <{namespace}>\n" in query


def test_the_page_loads_only_its_own_files(client: FlaskClient) -> None:
    page = browse(client)
    assert page.scripts == ["/static/build/sparql-editor.js"]
    assert page.stylesheets == ["/static/site.css", "/static/sparql.css"]
    assert page.inline_scripts == 0 and page.inline_handlers == []
    for path in (*page.scripts, *page.stylesheets):
        response = client.get(path)
        assert response.status_code == 200, f"{path}: run make to build the editor"
        response.close()
    # The editor, CodeMirror bundled by esbuild (make), builds no code from strings and writes
    # no markup, and names no other host to load from.
    script = client.get("/static/build/sparql-editor.js")
    for needle in (b"eval(", b"new Function", b"innerHTML", b"prefix.cc"):
        assert needle not in script.data
    script.close()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_shows_all_its_rows(
    client: FlaskClient, store: KnowledgeStore, name: str
) -> None:
    """The table holds what the query returns (tests/test_queries.py checks that against the
    header's promise)."""
    example = EXAMPLES[name]
    page = browse(client, example["text"])
    rows = len(list(store.query(example["text"])))
    assert len(page.rows) == rows
    assert page.count.startswith(f"{rows} row")
    assert page.query == example["text"]
    assert page.selected_example == example["text"]
    assert all(len(row) == len(page.columns) for row in page.rows)


def test_the_examples_link_to_their_query_in_the_url(client: FlaskClient) -> None:
    page = browse(client)
    assert len(page.example_links) == len(EXAMPLES)
    for link, example in zip(page.example_links, EXAMPLES.values(), strict=True):
        url = urlsplit(link)
        assert url.path == "/sparql"
        assert parse_qs(url.query) == {"query": [example["text"]]}


def test_the_query_is_kept_in_the_url(client: FlaskClient) -> None:
    """The form sends the editor's text as ``query`` by GET, so the address of the answer
    holds the question, and that address shows both again."""
    page = client.get("/sparql", headers=BROWSER).get_data(as_text=True)
    assert re.search(r'<form id="workbench" method="get" action="/sparql"[ >]', page)
    assert '<textarea id="query" name="query"' in page
    shared = browse(client, SELECT)
    assert shared.query == SELECT
    assert len(shared.rows) == 2


def test_iris_link_to_their_pages_here_and_others_to_themselves(client: FlaskClient) -> None:
    query = f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ <{PROVISION}> }} ?s ?p ?o }} ORDER BY ?p ?o"
    page = browse(client, query)
    assert "/id/provision/refund-within-7-business-days" in page.table_links
    assert "/def/TimeLimit" in page.table_links
    assert "http://www.w3.org/1999/02/22-rdf-syntax-ns#type" in page.table_links
    assert ["prv:refund-within-7-business-days", "rdf:type", "odr:TimeLimit"] in page.rows
    for path in ("/id/provision/refund-within-7-business-days", "/def/TimeLimit"):
        resource = client.get(path, headers=BROWSER)
        assert resource.status_code == 200 and resource.mimetype == "text/html"


def test_a_construct_is_a_table_of_triples_linked_to_their_pages(client: FlaskClient) -> None:
    page = browse(client, f"DESCRIBE <{PROVISION}>")
    assert page.columns == ["subject", "predicate", "object"]
    assert page.count.endswith("triples.")
    assert "/id/provision/refund-within-7-business-days" in page.table_links
    opened = client.get(page.table_links[0], headers=BROWSER)
    assert opened.status_code == 200 and opened.mimetype == "text/html"


def test_an_ask_shows_its_answer(client: FlaskClient) -> None:
    page = browse(client, "ASK { ?s a <http://www.w3.org/2002/07/owl#Class> }")
    assert page.count.strip() == "ASK answers true."
    assert page.rows == []


@pytest.mark.parametrize(
    ("query", "kind"), [(SELECT, "solutions"), ("ASK {}", "boolean"), (CONSTRUCT, "graph")]
)
def test_download_links_name_every_format(client: FlaskClient, query: str, kind: str) -> None:
    page = browse(client, query)
    expected = {label for label, _ in DOWNLOAD_FORMATS[kind].values()}
    assert set(page.downloads) == expected
    for name, (label, _) in DOWNLOAD_FORMATS[kind].items():
        url = urlsplit(page.downloads[label])
        assert url.path == "/sparql"
        assert parse_qs(url.query) == {"query": [query], "format": [name]}
        # A download is the results themselves, even to the browser that shows the page.
        response = client.get(page.downloads[label], headers=BROWSER)
        assert response.status_code == 200
        assert response.mimetype == FORMAT_NAMES[kind][name]
        assert response.mimetype in RESULT_MEDIA_TYPES[kind]


def test_download_links_keep_the_graphs_of_the_request(
    client: FlaskClient, store: KnowledgeStore
) -> None:
    kg = store.graph_iri("kg")
    page = browse(client, SELECT, **{"default-graph-uri": kg})
    url = urlsplit(page.downloads["CSV"])
    assert parse_qs(url.query)["default-graph-uri"] == [kg]


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"query": "SELECT * WHERE { ?s ?p }"}, 400, "SPARQL syntax error: error at 1:"),
        ({"query": "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"}, 400, "SERVICE"),
        ({"query": "ASK {}", "format": "turtle"}, 406, "does not fit a boolean result"),
        ({"update": "CLEAR ALL"}, 403, "read-only"),
    ],
)
def test_errors_are_shown_on_the_page(
    client: FlaskClient, params: dict[str, str], status: int, message: str
) -> None:
    page = browse(client, status=status, **params)
    assert message in page.error
    assert str(status) in page.error
    assert page.rows == [] and page.downloads == {}
    if "query" in params:
        assert page.query == params["query"]


def test_errors_stay_plain_text_for_clients(client: FlaskClient) -> None:
    response = client.get("/sparql", query_string={"query": "ASK {"}, headers={"Accept": "*/*"})
    assert response.status_code == 400 and response.mimetype == "text/plain"


# The table, without Flask -----------------------------------------------------------------


def test_result_table_cells_and_limit() -> None:
    store = ox.Store()
    query = """
        SELECT ?iri ?text ?number ?blank ?unbound WHERE {
          VALUES (?iri ?text ?number) {
            (<http://example.org/a> "eins"@de 1)
            (<http://example.org/b> "zwei" 2)
            (<http://example.org/c> "drei" 3)
          }
          BIND (BNODE("x") AS ?blank)
        } ORDER BY ?iri
    """
    table = result_table(store.query(query), {"ex": "http://example.org/"}, limit=2)
    assert table.kind == "solutions" and table.total == 3
    assert table.columns == ["iri", "text", "number", "blank", "unbound"]
    assert len(table.rows) == 2
    first = table.rows[0]
    assert first[0] == Cell("ex:a", iri="http://example.org/a")
    assert first[1] == Cell("eins", note="@de")
    assert first[2] == Cell("1", note="<http://www.w3.org/2001/XMLSchema#integer>", number=1.0)
    assert first[3] is not None and first[3].text.startswith("_:")
    assert first[4] is None
    assert table.rows[1][1] == Cell("zwei")


def test_the_table_shows_at_most_its_limit(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from odr_kg.web import sparql

    monkeypatch.setattr(sparql, "TABLE_ROW_LIMIT", 1)
    page = browse(client, SELECT)
    assert len(page.rows) == 1
    assert "2 rows; the first 1 are shown" in page.count
