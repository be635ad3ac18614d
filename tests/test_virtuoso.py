"""The external store on Virtuoso (Debian's ``virtuoso-opensource``): loaded by ``odr-kg load``
through its Graph Store endpoint, read through :class:`SparqlEndpointStore` with its default
graph as the union (``union_parameter=None``), its row cap (``ResultSetMaxRows``) never taken for
a complete answer, and its public side closed: SQL and HTTP on 127.0.0.1 only, no updates or
``LOAD`` for the anonymous SPARQL user.

Skipped where ``virtuoso-t`` is not installed (``make test`` installs it).
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest

from conftest import free_port, stop_process
from odr_kg import resources
from odr_kg.cli import EXIT_OK, main
from odr_kg.sparql_store import SparqlEndpointStore, TruncatedResultError
from odr_kg.store import EmbeddedStore, KnowledgeStore
from odr_kg.store_errors import StoreResponseError
from odr_kg.stores import open_store

pytestmark = pytest.mark.subprocess

VIRTUOSO = shutil.which("virtuoso-t")
ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "cases" / "trade-assurance-non-delivery.ttl"
QUERIES = resources.data_files("queries")
# Virtuoso's shipped cap, kept as it is: the adapter must cope with it.
RESULT_SET_MAX_ROWS = 10_000
# The account the tests write with; only on this throw-away instance.
ADMIN = "dba:dba"

# The ini of the benchmarks' Virtuoso, with a small buffer pool.
INI = ROOT / "bench" / "virtuoso.ini"


@dataclass(frozen=True)
class Virtuoso:
    """A running Virtuoso: its HTTP base URL and its SQL port."""

    url: str
    sql_port: int
    http_port: int

    @property
    def sparql(self) -> str:
        return f"{self.url}/sparql"

    def authenticated(self, path: str) -> str:
        return self.url.replace("http://", f"http://{ADMIN}@") + path


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    """Virtuoso started with an ini of its own in a temporary folder, bound to 127.0.0.1."""
    if VIRTUOSO is None:
        pytest.skip("Virtuoso is not installed (Debian package virtuoso-opensource)")
    folder = tmp_path_factory.mktemp("virtuoso")
    sql_port, http_port = free_port(), free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(
        INI.read_text().format(
            dir=folder,
            sql_port=sql_port,
            http_port=http_port,
            dirs_allowed=".",
            buffers=10_000,
            dirty_buffers=6_000,
            max_rows=RESULT_SET_MAX_ROWS,
            max_seconds=60,
            threads=4,
            pool_threads=6,
        )
    )
    log = folder / "stdout.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [VIRTUOSO, "+configfile", str(ini), "+foreground"],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Virtuoso(f"http://127.0.0.1:{http_port}", sql_port, http_port)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"virtuoso-t exited with {process.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{server.sparql}?query=ASK%7B%7D", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    pytest.fail(f"Virtuoso did not answer on {server.sparql}")
                time.sleep(0.1)
        yield server
    finally:
        stop_process(process, seconds=20)


@pytest.fixture(scope="module")
def loaded(virtuoso: Virtuoso) -> Virtuoso:
    """Virtuoso holding our graphs, pushed by ``odr-kg load`` to its Graph Store endpoint."""
    options = ["--endpoint", virtuoso.sparql]
    options += ["--graph-store", virtuoso.authenticated("/sparql-graph-crud-auth")]
    for _ in range(2):  # idempotent
        assert main(["load", *options]) == EXIT_OK
    return virtuoso


@pytest.fixture(scope="module")
def virtuoso_store(loaded: Virtuoso) -> SparqlEndpointStore:
    # Virtuoso's default graph is the union of its graphs: no parameter asks for it.
    return open_store(endpoint=loaded.sparql, union_parameter=None, max_rows=RESULT_SET_MAX_ROWS)


def our_graphs(sizes: dict[str, int], store: KnowledgeStore) -> dict[str, int]:
    """The sizes of our graphs only: Virtuoso keeps system graphs of its own beside them."""
    return {iri: size for iri, size in sizes.items() if iri.startswith(store.base)}


# Loading and reading -------------------------------------------------------------------------


def test_load_pushes_our_graphs_through_the_graph_store(
    virtuoso_store: SparqlEndpointStore, store: KnowledgeStore
) -> None:
    assert our_graphs(virtuoso_store.graph_sizes(), store) == store.graph_sizes()
    assert virtuoso_store.has_graph(store.graph_iri("kg"))
    assert not virtuoso_store.has_graph(store.graph_iri("none"))


def test_the_default_graph_is_the_union_without_a_parameter(
    virtuoso_store: SparqlEndpointStore, store: KnowledgeStore
) -> None:
    count = "SELECT (COUNT(DISTINCT ?c) AS ?n) { ?c a <http://www.w3.org/2002/07/owl#Class> }"
    (on_virtuoso,) = virtuoso_store.query(count)
    (embedded,) = store.query(count)
    assert int(on_virtuoso["n"].value) == int(embedded["n"].value) > 0


@pytest.mark.parametrize("entry", QUERIES, ids=lambda entry: entry.name)
def test_question_gives_the_embedded_answer(
    virtuoso_store: SparqlEndpointStore, store: KnowledgeStore, entry
) -> None:
    """The same rows naming the same resources. Literals may differ in form: Virtuoso 7.2
    gives ``true`` as ``1`` and orders ``GROUP_CONCAT`` its own way (SPARQL leaves it open)."""
    text = entry.read_text(encoding="utf-8")
    assert resources_of(virtuoso_store.query(text)) == resources_of(store.query(text))


def resources_of(rows) -> list[tuple[str, ...]]:
    return sorted(
        tuple(term.value for term in row if isinstance(term, ox.NamedNode)) for row in rows
    )


def test_validation_and_lookup_read_virtuoso(
    virtuoso_store: SparqlEndpointStore, store: KnowledgeStore
) -> None:
    from odr_kg.lookup import LookupEngine
    from odr_kg.validation import ShapesValidator, read_case_file

    case = read_case_file(CASE)
    assert ShapesValidator.for_cases(virtuoso_store).validate(case).conforms
    engine = LookupEngine(virtuoso_store)
    facts = engine.facts_from_case(case)
    assert engine.lookup(facts).json == LookupEngine(store).lookup(facts).json


def test_case_graphs_with_blank_nodes_go_in_and_out(loaded: Virtuoso) -> None:
    external = SparqlEndpointStore(
        loaded.sparql,
        union_parameter=None,
        graph_store=loaded.authenticated("/sparql-graph-crud-auth"),
        max_rows=RESULT_SET_MAX_ROWS,
    )
    graph = external.case_graph_iri("ta-0001")
    external.add_file(CASE, graph)
    assert external.graph_sizes()[graph] == len(EmbeddedStore().parse_file(CASE)[0])
    amounts = external.query(
        f"SELECT DISTINCT ?m {{ GRAPH <{graph}> {{ ?m <http://schema.org/value> ?v }} }}"
    )
    assert len(list(amounts)) == 3
    external.clear_graph(graph)
    assert not external.has_graph(graph)


def test_sparql_update_with_credentials_keeps_blank_nodes(loaded: Virtuoso) -> None:
    external = SparqlEndpointStore(
        loaded.sparql,
        union_parameter=None,
        update_endpoint=loaded.authenticated("/sparql-auth"),
    )
    node = ox.BlankNode()
    value = ox.NamedNode("urn:x:value")
    triples = [
        ox.Triple(ox.NamedNode("urn:x:a"), ox.NamedNode("urn:x:p"), node),
        ox.Triple(node, value, ox.Literal("1")),
    ]
    external.add_graphs({"urn:x:update": triples})
    rows = list(
        external.query(
            "SELECT ?o { GRAPH <urn:x:update> { <urn:x:a> <urn:x:p> ?m . ?m <urn:x:value> ?o } }"
        )
    )
    assert [row["o"].value for row in rows] == ["1"]
    assert external.update_endpoint == f"{loaded.url}/sparql-auth"  # no password kept in sight
    external.clear_graph("urn:x:update")


# The row cap ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_graph(loaded: Virtuoso) -> str:
    """A graph of 12,000 triples, more than Virtuoso's ResultSetMaxRows."""
    graph = "urn:x:big"
    p = ox.NamedNode("urn:x:p")
    triples = [ox.Triple(ox.NamedNode(f"urn:x:s{i}"), p, ox.Literal(str(i))) for i in range(12_000)]
    SparqlEndpointStore(
        loaded.sparql, graph_store=loaded.authenticated("/sparql-graph-crud-auth")
    ).add_graphs({graph: triples})
    return graph


def test_virtuoso_cuts_big_answers_silently(loaded: Virtuoso, big_graph: str) -> None:
    # What the adapter guards against: told nothing of the cap, the answer looks complete.
    unguarded = SparqlEndpointStore(loaded.sparql, union_parameter=None)
    rows = list(unguarded.query(f"SELECT ?s {{ GRAPH <{big_graph}> {{ ?s ?p ?o }} }}"))
    assert len(rows) == RESULT_SET_MAX_ROWS


def test_a_capped_answer_raises_and_reads_page(
    virtuoso_store: SparqlEndpointStore, big_graph: str
) -> None:
    with pytest.raises(TruncatedResultError, match="cut short"):
        virtuoso_store.query(f"SELECT ?s {{ GRAPH <{big_graph}> {{ ?s ?p ?o }} }}")
    (count,) = virtuoso_store.query(
        f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{big_graph}> {{ ?s ?p ?o }} }}"
    )
    assert int(count["n"].value) == 12_000
    # The store's own reads page below the cap and get every triple.
    quads = list(virtuoso_store.quads(big_graph))
    assert len(quads) == len({str(quad) for quad in quads}) == 12_000
    assert virtuoso_store.graph_sizes()[big_graph] == 12_000


# The public side -----------------------------------------------------------------------------


def test_the_sparql_user_can_neither_update_nor_load(
    virtuoso_store: SparqlEndpointStore, store: KnowledgeStore
) -> None:
    anonymous = SparqlEndpointStore(virtuoso_store.endpoint, union_parameter=None)
    for update in (
        f"DROP GRAPH <{store.graph_iri('kg')}>",
        "INSERT DATA { GRAPH <urn:x:g> { <urn:x:a> <urn:x:b> <urn:x:c> } }",
        "LOAD <file:///etc/passwd> INTO GRAPH <urn:x:g>",
    ):
        with pytest.raises(StoreResponseError, match="SECURITY|permission"):
            anonymous.update(update)
    assert virtuoso_store.has_graph(store.graph_iri("kg"))
    assert not virtuoso_store.has_graph("urn:x:g")


def test_both_ports_listen_on_the_loopback_only(virtuoso: Virtuoso) -> None:
    listening = listening_addresses()
    if listening is None:
        pytest.skip("no /proc/net/tcp to read the listening sockets from")
    for port in (virtuoso.sql_port, virtuoso.http_port):
        assert listening.get(port) == {"127.0.0.1"}, port


def listening_addresses() -> dict[int, set[str]] | None:
    """The local IPv4 addresses each listening TCP port is bound to, from /proc/net/tcp."""
    table = Path("/proc/net/tcp")
    if not table.is_file():
        return None
    found: dict[int, set[str]] = {}
    for line in table.read_text().splitlines()[1:]:
        local, _, state = line.split()[1:4]
        if state != "0A":  # LISTEN
            continue
        address, port = local.split(":")
        octets = [str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)]
        found.setdefault(int(port, 16), set()).add(".".join(octets))
    return found
