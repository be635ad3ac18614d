from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from odr_kg.rdf import GRAPH_FORMATS, RESULTS_FORMATS, compact_iri, serialize_results, used_prefixes
from odr_kg.resources import DEFAULT_BASE
from odr_kg.store import EXPORT_FORMATS, GRAPH_NAMES, EmbeddedStore, KnowledgeStore
from odr_kg.store_errors import (
    DataSyntaxError,
    InvalidBaseError,
    QuerySyntaxError,
    UnsupportedFormatError,
)
from odr_kg.stores import open_store

OTHER_BASE = "https://example.org/odr/"


@pytest.fixture
def store(any_store: KnowledgeStore) -> KnowledgeStore:
    """Every test here that takes the store runs on the embedded one and on an external one."""
    return any_store


def iris_of(quad: ox.Quad) -> list[str]:
    terms = [quad.subject, quad.predicate, quad.object, quad.graph_name]
    iris = [term.value for term in terms if isinstance(term, ox.NamedNode)]
    if isinstance(quad.object, ox.Literal):
        iris.append(quad.object.datatype.value)
    return iris


def test_the_three_named_graphs_exist_and_are_not_empty(store: KnowledgeStore) -> None:
    sizes = store.graph_sizes()
    assert set(sizes) == {store.graph_iri(name) for name in GRAPH_NAMES}
    assert all(size > 0 for size in sizes.values()), sizes
    assert sum(sizes.values()) == len(store)


def test_graph_iris_sit_under_the_base(store: KnowledgeStore) -> None:
    assert store.graph_iri("kg") == f"{DEFAULT_BASE}graph/kg"


def test_default_graph_is_the_union_of_the_named_graphs(store: KnowledgeStore) -> None:
    in_default_graph = {
        (row["s"], row["p"], row["o"]) for row in store.query("SELECT * { ?s ?p ?o }")
    }
    in_named_graphs = {
        (row["s"], row["p"], row["o"]) for row in store.query("SELECT * { GRAPH ?g { ?s ?p ?o } }")
    }
    assert in_default_graph == in_named_graphs
    assert len(in_default_graph) == len(store.union_triples())


@pytest.mark.parametrize("name", GRAPH_NAMES)
def test_a_graph_clause_reaches_one_part(store: KnowledgeStore, name: str) -> None:
    assert store.query(f"ASK {{ GRAPH <{store.graph_iri(name)}> {{ ?s ?p ?o }} }}")


def test_a_different_base_rewrites_every_iri(store: KnowledgeStore) -> None:
    rebased = open_store(OTHER_BASE)
    assert len(rebased) == len(store)
    iris = [iri for quad in rebased.quads() for iri in iris_of(quad)]
    assert not [iri for iri in iris if iri.startswith(DEFAULT_BASE)]
    assert any(iri.startswith(OTHER_BASE) for iri in iris)
    assert set(rebased.graph_sizes()) == {f"{OTHER_BASE}graph/{name}" for name in GRAPH_NAMES}


@pytest.mark.parametrize("base", ["https://example.org/odr", "not an iri/", ""])
def test_an_invalid_base_is_refused(base: str) -> None:
    with pytest.raises(InvalidBaseError):
        EmbeddedStore(base)


@pytest.mark.parametrize("fmt", sorted(EXPORT_FORMATS))
def test_export_round_trips(store: KnowledgeStore, fmt: str) -> None:
    rdf_format = EXPORT_FORMATS[fmt]
    parsed = list(ox.parse(store.export(fmt), rdf_format))
    if rdf_format.supports_datasets:
        assert len(parsed) == len(store)
        graphs = {quad.graph_name.value for quad in parsed}
        assert graphs == {store.graph_iri(name) for name in GRAPH_NAMES}
    else:
        assert len(parsed) == len(store.union_triples())
        assert all(quad.graph_name == ox.DefaultGraph() for quad in parsed)


def test_turtle_export_uses_the_prefixes_of_the_data(store: KnowledgeStore) -> None:
    turtle = store.export("ttl").decode()
    declared = [line for line in turtle.splitlines() if line.startswith("@prefix ")]
    assert declared, "the Turtle export declares no prefix"
    assert set(declared) <= {
        f"@prefix {prefix}: <{namespace}> ." for prefix, namespace in store.prefixes.items()
    }


def test_used_prefixes_keeps_only_the_namespaces_in_use() -> None:
    triples = [
        ox.Triple(
            ox.NamedNode("https://example.org/odr/kg/a"),
            ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
            ox.Literal("1", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
        )
    ]
    prefixes = {
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        "kg": "https://example.org/odr/kg/",
        "owl": "http://www.w3.org/2002/07/owl#",
    }
    assert used_prefixes(triples, prefixes) == {
        "kg": "https://example.org/odr/kg/",
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
    }


def test_an_unknown_export_format_is_refused(store: KnowledgeStore) -> None:
    with pytest.raises(UnsupportedFormatError, match="rdfxml"):
        store.export("rdfxml")


def test_a_query_syntax_error_carries_the_parser_message(store: KnowledgeStore) -> None:
    broken = "SELEC ?s WHERE { ?s ?p ?o }"
    with pytest.raises(SyntaxError) as from_pyoxigraph:
        ox.Store().query(broken)
    with pytest.raises(QuerySyntaxError) as from_store:
        store.query(broken)
    assert from_store.value.message == from_pyoxigraph.value.msg
    assert str(from_store.value) == from_pyoxigraph.value.msg


@pytest.mark.parametrize("fmt", sorted(RESULTS_FORMATS))
def test_select_results_serialize(store: KnowledgeStore, fmt: str) -> None:
    result = store.query("SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    data = serialize_results(result, fmt)
    if fmt == "csv":  # pyoxigraph does not read CSV results back: they lose the term kinds
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        assert {row["g"] for row in rows} == {store.graph_iri(name) for name in GRAPH_NAMES}
    else:
        parsed = ox.parse_query_results(data, RESULTS_FORMATS[fmt])
        assert {row["g"].value for row in parsed} == {store.graph_iri(n) for n in GRAPH_NAMES}


@pytest.mark.parametrize("fmt", sorted(GRAPH_FORMATS))
def test_construct_results_serialize(store: KnowledgeStore, fmt: str) -> None:
    ontology = store.graph_iri("ontology")
    construct = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{ontology}> {{ ?s ?p ?o }} }}"
    data = serialize_results(store.query(construct), fmt, store.prefixes)
    parsed = list(ox.parse(data, GRAPH_FORMATS[fmt]))
    assert len(parsed) == store.graph_sizes()[store.graph_iri("ontology")]


def test_ask_results_serialize_to_json(store: KnowledgeStore) -> None:
    assert json.loads(serialize_results(store.query("ASK { ?s ?p ?o }"), "json"))["boolean"]


def test_a_result_format_must_fit_the_result(store: KnowledgeStore) -> None:
    with pytest.raises(UnsupportedFormatError, match="SELECT"):
        serialize_results(store.query("SELECT * { ?s ?p ?o } LIMIT 1"), "turtle")
    with pytest.raises(UnsupportedFormatError, match="CONSTRUCT"):
        serialize_results(store.query("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1"), "json")


def test_add_file_loads_and_rebases_into_the_given_graph(tmp_path: Path) -> None:
    case = tmp_path / "case.ttl"
    case.write_text(
        f"@prefix case: <{DEFAULT_BASE}case/> .\ncase:c1 case:claims [ case:amount 10 ] .\n",
        encoding="utf-8",
    )
    extra = EmbeddedStore(OTHER_BASE)
    extra.add_file(case, f"{OTHER_BASE}graph/case")
    assert extra.graph_sizes() == {f"{OTHER_BASE}graph/case": 2}
    assert extra.query(f"ASK {{ <{OTHER_BASE}case/c1> ?p ?o }}")
    assert extra.prefixes == {"case": f"{OTHER_BASE}case/"}


def test_add_file_names_the_file_that_does_not_parse(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttl"
    broken.write_text("<a> <b> .\n", encoding="utf-8")
    with pytest.raises(DataSyntaxError) as error:
        EmbeddedStore().add_file(broken, f"{DEFAULT_BASE}graph/broken")
    assert error.value.source.endswith("broken.ttl")
    assert "line 1" in error.value.message


def test_add_file_refuses_an_unknown_extension(tmp_path: Path) -> None:
    unknown = tmp_path / "data.owl"
    unknown.write_text("", encoding="utf-8")
    with pytest.raises(UnsupportedFormatError):
        EmbeddedStore().add_file(unknown, f"{DEFAULT_BASE}graph/x")


def test_bulk_load_keeps_the_graph_names_of_generated_cases(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import generate_cases

    data = tmp_path / "cases.nq"
    generate_cases.write(generate_cases.generate(20, seed=3), None, data)
    # The store keeps values in canonical form ("12.50" becomes 12.5): compare with a store
    # loaded by pyoxigraph's ordinary, transactional loader.
    reference = ox.Store()
    reference.load(path=data, format=ox.RdfFormat.N_QUADS)
    expected = set(reference)
    for lenient in (False, True):
        store = EmbeddedStore(path=tmp_path / f"store-{lenient}")
        store.bulk_load(data, lenient=lenient)
        assert set(store.quads()) == expected
        assert len(store.graph_sizes()) == 20
        store.close()
        del store
        # On disk once loaded, with no flush: the store opened again holds the same quads.
        assert set(EmbeddedStore(path=tmp_path / f"store-{lenient}").quads()) == expected


def test_writes_after_a_bulk_load_are_kept_on_disk(tmp_path: Path) -> None:
    data = tmp_path / "data.nq"
    data.write_text(
        '<https://example.org/s> <https://example.org/p> "y" <https://example.org/g> .\n',
        encoding="utf-8",
    )
    a, b = ox.NamedNode("https://example.org/a"), ox.NamedNode("https://example.org/b")
    triple = ox.Triple(a, b, ox.Literal("c"))
    store = EmbeddedStore(path=tmp_path / "store")
    store.bulk_load(data)
    store.add_graphs({"https://example.org/extra": [triple]})
    store.clear_graph("https://example.org/g")
    store.close()
    del store
    again = EmbeddedStore(path=tmp_path / "store")
    assert again.graph_sizes() == {"https://example.org/extra": 1}


@pytest.mark.parametrize(
    "line",
    [
        '<relative> <https://example.org/p> "x" <https://example.org/g> .',
        '<https://example.org/a{b}> <https://example.org/p> "x" <https://example.org/g> .',
    ],
)
def test_bulk_load_checks_iris_unless_told_the_file_is_trusted(tmp_path: Path, line: str) -> None:
    data = tmp_path / "data.nq"
    good = '<https://example.org/s> <https://example.org/p> "y" <https://example.org/g> .'
    data.write_text(f"{good}\n{line}\n", encoding="utf-8")
    with pytest.raises(DataSyntaxError) as error:
        EmbeddedStore().bulk_load(data)
    assert error.value.source.endswith("data.nq")
    assert error.value.line == 2
    # What lenient gives up: the IRI goes into the store as written.
    trusting = EmbeddedStore()
    trusting.bulk_load(data, lenient=True)
    assert len(trusting) == 2


@pytest.mark.parametrize(
    ("iri", "compacted"),
    [
        ("http://www.w3.org/2000/01/rdf-schema#label", "rdfs:label"),
        ("https://example.org/odr/kg/rule-1", "kg:rule-1"),
        ("https://example.org/odr/kg/", "kg:"),
        ("https://example.org/odr/kg/a/b", "<https://example.org/odr/kg/a/b>"),
        ("https://example.org/odr/x", "odr:x"),
        ("urn:other", "<urn:other>"),
    ],
)
def test_compact_iri_takes_the_longest_namespace(iri: str, compacted: str) -> None:
    prefixes = {
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        "odr": "https://example.org/odr/",
        "kg": "https://example.org/odr/kg/",
    }
    assert compact_iri(iri, prefixes) == compacted


def test_counts_follow_every_write() -> None:
    # The embedded store keeps its counts between writes; each write must forget them.
    store = open_store()
    quads, sizes, triples = len(store), store.graph_sizes(), store.distinct_triple_count()
    graph = "https://example.org/graph/extra"
    triple = ox.Triple(
        ox.NamedNode("https://example.org/a"),
        ox.NamedNode("https://example.org/b"),
        ox.Literal("c"),
    )
    store.add_graphs({graph: [triple]})
    assert len(store) == quads + 1
    assert store.graph_sizes()[graph] == 1
    assert store.distinct_triple_count() == triples + 1
    store.clear_graph(graph)
    assert (len(store), store.graph_sizes(), store.distinct_triple_count()) == (
        quads,
        sizes,
        triples,
    )


def test_written_since_tells_a_write_to_a_case_graph_from_one_to_the_knowledge_graph(
    tmp_path: Path,
) -> None:
    store = open_store()
    kg, ontology = store.graph_iri("kg"), store.graph_iri("ontology")
    case, other_case = store.case_graph_iri("c-1"), store.case_graph_iri("c-2")
    triple = ox.Triple(
        ox.NamedNode("https://example.org/a"),
        ox.NamedNode("https://example.org/b"),
        ox.Literal("c"),
    )

    def since(write) -> set[str]:
        """The graphs written_since counts as written by ``write``."""
        before = store.generation
        write()
        assert store.generation > before
        return {g for g in (kg, ontology, case, other_case) if store.written_since(before, [g])}

    # A case import: its graphs, then the inferred graph; never the ontology or the kg.
    assert since(lambda: (store.add_graphs({case: [triple]}), store.infer())) == {
        case,
        other_case,  # graphs outside ours are counted together
    }
    assert since(lambda: store.clear_graph(case)) == {case, other_case}
    knowledge = [quad.triple for quad in store.quads(kg)]
    assert since(lambda: store.add_graphs({kg: knowledge})) == {kg}
    assert since(lambda: store.load_packaged()) == {kg, ontology}
    # A bulk load names its graphs in the file: any graph may have changed.
    data = tmp_path / "case.nq"
    data.write_text(f"{triple} <{case}> .\n", encoding="utf-8")
    assert since(lambda: store.bulk_load(data)) == {kg, ontology, case, other_case}
    # A file declaring prefixes the store had not: every answer written with them may change.
    turtle = tmp_path / "case.ttl"
    turtle.write_text(f"@prefix ex: <https://example.org/> .\n{triple} .\n", encoding="utf-8")
    assert since(lambda: store.add_file(turtle, case)) == {kg, ontology, case, other_case}
    assert since(lambda: store.add_file(turtle, case)) == {case, other_case}
