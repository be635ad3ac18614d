"""The query scanner reads SERVICE and LOAD where the engine does, however they are spelled.

The spellings are data (tests/data/service-spellings.txt). Those marked ``calls`` are checked
against the engine itself, unconfined, in this process: each really makes pyoxigraph call a
canary on 127.0.0.1. The scanner must then find SERVICE or LOAD in every spelling, and nothing
in the queries that only mention the word.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from odr_kg.sparql_tokens import engine_tokens, keywords, service_targets, tokens
from odr_kg.store import EmbeddedStore, KnowledgeStore

SPELLINGS_FILE = Path(__file__).parent / "data" / "service-spellings.txt"


def spellings(kind: str | None = None) -> list[str]:
    """The query templates of the spellings file (``{url}`` to fill in), of ``kind``."""
    found = []
    for line in SPELLINGS_FILE.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        marked, template = line.split("\t", 1)
        if kind is None or marked == kind:
            found.append(template.replace("\\n", "\n"))
    return found


class Canary:
    """An HTTP server on 127.0.0.1 answering any request with one SPARQL JSON row."""

    BODY = b'{"head":{"vars":["x"]},"results":{"bindings":[{"x":{"type":"literal","value":"y"}}]}}'

    def __init__(self) -> None:
        canary = self
        self.hits = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                canary.hits += 1
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(200)
                self.send_header("Content-Type", "application/sparql-results+json")
                self.send_header("Content-Length", str(len(Canary.BODY)))
                self.end_headers()
                self.wfile.write(Canary.BODY)

            do_POST = do_GET  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sparql"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    server = Canary()
    yield server
    server.close()


def test_the_spellings_file_has_both_kinds() -> None:
    assert len(spellings("calls")) >= 25 and len(spellings("names")) >= 20


@pytest.mark.parametrize("template", spellings("calls"))
def test_the_engine_calls_out_on_each_spelling_marked_calls(
    embedded_store: KnowledgeStore, canary: Canary, template: str
) -> None:
    # The unconfined engine, here in the test process: the spelling is a real call.
    assert isinstance(embedded_store, EmbeddedStore)
    before = canary.hits
    result = embedded_store.query(template.format(url=canary.url))
    if not isinstance(result, ox.QueryBoolean):
        list(result)
    assert canary.hits > before


@pytest.mark.parametrize("template", spellings())
def test_the_scanner_finds_service_or_load_in_every_spelling(template: str) -> None:
    words = keywords(template.format(url="http://127.0.0.1:9/sparql"))
    assert "SERVICE" in words or "LOAD" in words


@pytest.mark.parametrize(
    "query",
    [
        'SELECT ?x { ?s ?p "SERVICE <http://127.0.0.1:9/>" }',
        "SELECT ?x { ?s ?p '''\nSERVICE <http://127.0.0.1:9/> { ?x ?y ?z }\n''' }",
        "SELECT ?x { ?s <http://schema.org/Service> ?x }",
        "PREFIX SERVICE: <urn:x:> SELECT ?x { ?s SERVICE:x ?x }",
        "PREFIX ex: <urn:x:> SELECT ?x { ?s ex:SERVICE ?x }",
        "PREFIX ex: <urn:x:> SELECT ?x { ?s ex:a.SERVICE ?x }",
        "SELECT ?x { ?s ?p ?x } # SERVICE <http://127.0.0.1:9/>",
        "SELECT ?SERVICE { ?SERVICE ?p ?o }",
        "SELECT ?x { ?s ?p _:SERVICE }",
        'SELECT ?x { ?s ?p "x"@SERVICE }',
    ],
)
def test_the_scanner_sees_no_service_where_there_is_none(query: str) -> None:
    assert "SERVICE" not in keywords(query)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.SERVICE", [("number", "1"), ("other", "."), ("name", "SERVICE")]),
        ("1.5.SERVICE", [("number", "1.5"), ("other", "."), ("name", "SERVICE")]),
        ("1.e3.x", [("number", "1.e3"), ("other", "."), ("name", "x")]),
        ("1E+3 .5 1.", [("number", "1E+3"), ("number", ".5"), ("number", "1"), ("other", ".")]),
        ("true.x", [("name", "true"), ("other", "."), ("name", "x")]),
        ('"a"@en-GB.x', [("string", '"a"'), ("langtag", "@en-GB"), ("other", "."), ("name", "x")]),
        (
            "'a'^^xsd:int.",
            [("string", "'a'"), ("other", "^^"), ("pname", "xsd:int"), ("other", ".")],
        ),
        ("ex:a.b.c.", [("pname", "ex:a.b.c"), ("other", ".")]),
        ("ex.p:x :y :", [("pname", "ex.p:x"), ("pname", ":y"), ("pname", ":")]),
        ("_:b1.x", [("pname", "_:b1.x")]),
        ("<urn:x>.x", [("iri", "<urn:x>"), ("other", "."), ("name", "x")]),
        ("?o.x $v", [("variable", "?o"), ("other", "."), ("name", "x"), ("variable", "$v")]),
        (
            "a&&b||!c!=d<=e",
            [
                ("name", "a"),
                ("other", "&&"),
                ("name", "b"),
                ("other", "||"),
                ("other", "!"),
                ("name", "c"),
                ("other", "!="),
                ("name", "d"),
                ("other", "<="),
                ("name", "e"),
            ],
        ),
    ],
)
def test_tokens_follow_the_grammar(text: str, expected: list[tuple[str, str]]) -> None:
    assert list(tokens(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SERVICESILENT<urn:a>", [("name", "SERVICE"), ("name", "SILENT"), ("iri", "<urn:a>")]),
        ("SERVICEex: {", [("name", "SERVICE"), ("pname", "ex:"), ("other", "{")]),
        ("service:#c\n{", [("name", "SERVICE"), ("pname", ":"), ("comment", "#c"), ("other", "{")]),
        ("?s service:p ?o", [("variable", "?s"), ("pname", "service:p"), ("variable", "?o")]),
        ("trueSERVICE", [("name", "true"), ("name", "SERVICE")]),
        ("FROMNAMED<g>", [("name", "FROM"), ("name", "NAMED"), ("iri", "<g>")]),
        (
            "?a<(?b)&&?c>?d",
            [
                ("variable", "?a"),
                ("other", "<"),
                ("other", "("),
                ("variable", "?b"),
                ("other", ")"),
                ("other", "&&"),
                ("variable", "?c"),
                ("other", ">"),
                ("variable", "?d"),
            ],
        ),
        ("<http://schema.org/Service>", [("iri", "<http://schema.org/Service>")]),
        ("ex:service", [("pname", "ex:service")]),
    ],
)
def test_engine_tokens_read_what_the_engine_may_read(
    text: str, expected: list[tuple[str, str]]
) -> None:
    assert list(engine_tokens(text)) == expected


def test_service_targets() -> None:
    query = "SELECT * { SERVICE <urn:a> {} SERVICE SILENT <urn:b> {} 1.SERVICE ?v {} }"
    assert service_targets(query) == ["urn:a", "urn:b", None]
    assert service_targets("SELECT * { SERVICESILENT<urn:c> {} SERVICEex: {} }") == ["urn:c", None]


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("SELECT * { " + "SERVICE" * 4500 + " }", "SERVICE"),
        ("SELECT * { ?s ?p ?o " + "SERVICE" * 4500 + ": {} }", "SERVICE"),
        ("SELECT * { " + "FROM" * 8000 + " }", "FROM"),
        ("SELECT * { ?a ?b ?c FILTER(?a<" + "(" * 3000 + "?b&&?c>?d) }", "FILTER"),
    ],
)
def test_thousands_of_glued_keywords_are_read_without_recursion(query: str, word: str) -> None:
    assert word in keywords(query)
