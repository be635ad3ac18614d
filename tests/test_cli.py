from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import sysconfig
from pathlib import Path
from xml.etree import ElementTree

import pyoxigraph as ox
import pytest

from odr_kg.cli import QUERY_OUTPUT_FORMATS, main
from odr_kg.rdf import compact_iri
from odr_kg.resources import DEFAULT_BASE
from odr_kg.store import EXPORT_FORMATS, GRAPH_NAMES, KnowledgeStore

OTHER_BASE = "https://example.org/odr/"

COUNT_BY_GRAPH = """\
SELECT ?graph (COUNT(*) AS ?triples)
WHERE { GRAPH ?graph { ?s ?p ?o } }
GROUP BY ?graph
ORDER BY ?graph
"""
ASK_KG = f"ASK {{ GRAPH <{DEFAULT_BASE}graph/kg> {{ ?s ?p ?o }} }}\n"
CONSTRUCT_ONTOLOGY = f"""\
CONSTRUCT {{ ?s ?p ?o }}
WHERE {{ GRAPH <{DEFAULT_BASE}graph/ontology> {{ ?s ?p ?o }} }}
"""

# How to read back each output format, and what it must hold.
SELECT_READERS = {
    "json": lambda text: len(json.loads(text)["results"]["bindings"]),
    "csv": lambda text: len(list(csv.reader(io.StringIO(text)))) - 1,
    "tsv": lambda text: len(text.splitlines()) - 1,
    "xml": lambda text: len(
        ElementTree.fromstring(text).findall(".//{http://www.w3.org/2005/sparql-results#}result")
    ),
}
CONSTRUCT_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
}


@pytest.fixture
def query_file(tmp_path: Path):
    def write(text: str) -> str:
        path = tmp_path / "question.rq"
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch):
    def feed(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))

    return feed


def test_select_prints_an_aligned_table(
    query_file, store: KnowledgeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["query", query_file(COUNT_BY_GRAPH)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split(" | ")[0].rstrip() == "graph"
    assert lines[0].index("|") == lines[1].index("+") == lines[2].index("|")
    graphs = sorted(store.graph_iri(name) for name in GRAPH_NAMES)
    assert [line.split()[0] for line in lines[2 : 2 + len(graphs)]] == [
        compact_iri(graph, store.prefixes) for graph in graphs
    ]
    assert lines[-1] == f"({len(graphs)} rows)"


def test_ask_from_stdin_prints_true(stdin, capsys: pytest.CaptureFixture[str]) -> None:
    stdin(ASK_KG)
    assert main(["query", "-"]) == 0
    assert capsys.readouterr().out == "true\n"


def test_ask_prints_false(query_file, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", query_file("ASK { <urn:nothing> ?p ?o }")]) == 0
    assert capsys.readouterr().out == "false\n"


def test_construct_prints_turtle_by_default(
    query_file, store: KnowledgeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["query", query_file(CONSTRUCT_ONTOLOGY)]) == 0
    turtle = capsys.readouterr().out
    assert "@prefix " in turtle
    assert (
        len(list(ox.parse(turtle, ox.RdfFormat.TURTLE)))
        == store.graph_sizes()[store.graph_iri("ontology")]
    )


@pytest.mark.parametrize("fmt", sorted(SELECT_READERS))
def test_select_in_every_results_format(
    fmt: str, query_file, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["query", "--format", fmt, query_file(COUNT_BY_GRAPH)]) == 0
    assert SELECT_READERS[fmt](capsys.readouterr().out) == len(GRAPH_NAMES)


@pytest.mark.parametrize("fmt", sorted(CONSTRUCT_FORMATS))
def test_construct_in_every_graph_format(
    fmt: str, stdin, store: KnowledgeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin(CONSTRUCT_ONTOLOGY)
    assert main(["query", "--format", fmt, "-"]) == 0
    parsed = list(ox.parse(capsys.readouterr().out, CONSTRUCT_FORMATS[fmt]))
    assert len(parsed) == store.graph_sizes()[store.graph_iri("ontology")]


def test_construct_as_a_table(query_file, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--format", "table", query_file(CONSTRUCT_ONTOLOGY)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.split() == ["subject", "|", "predicate", "|", "object"]


def test_every_output_format_is_tested() -> None:
    tested = {"table"} | set(SELECT_READERS) | set(CONSTRUCT_FORMATS)
    assert tested == set(QUERY_OUTPUT_FORMATS)


def test_a_format_that_does_not_fit_exits_2(query_file, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--format", "turtle", query_file(COUNT_BY_GRAPH)]) == 2
    assert "does not apply to SELECT" in capsys.readouterr().err


def test_a_syntax_error_prints_the_parser_message_and_exits_2(
    stdin, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = "SELECT ?s WHERE { ?s ?p }"
    with pytest.raises(SyntaxError) as from_pyoxigraph:
        ox.Store().query(broken)
    stdin(broken)
    assert main(["query", "-"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert from_pyoxigraph.value.msg in captured.err


def test_a_missing_query_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", str(tmp_path / "absent.rq")]) == 2
    assert "absent.rq" in capsys.readouterr().err


def test_base_option_rebases_data_and_query(query_file, capsys: pytest.CaptureFixture[str]) -> None:
    # The query names the graph with the default base, as the queries/ files do.
    assert main(["query", "--base", OTHER_BASE, query_file(ASK_KG)]) == 0
    assert capsys.readouterr().out == "true\n"
    assert main(["query", "--base", OTHER_BASE, "--format", "csv", query_file(COUNT_BY_GRAPH)]) == 0
    assert f"{OTHER_BASE}graph/kg," in capsys.readouterr().out


def test_base_defaults_to_the_environment(
    query_file, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ODR_KG_BASE", OTHER_BASE)
    assert main(["query", "--format", "csv", query_file(COUNT_BY_GRAPH)]) == 0
    assert f"{OTHER_BASE}graph/kg," in capsys.readouterr().out


def test_an_invalid_base_exits_2(query_file, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--base", "https://example.org/no-slash", query_file(ASK_KG)]) == 2
    assert "must end with '/'" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", sorted(EXPORT_FORMATS))
def test_export_to_a_file_in_every_format(fmt: str, tmp_path: Path, store: KnowledgeStore) -> None:
    output = tmp_path / f"dataset.{fmt}"
    assert main(["export", "--format", fmt, "-o", str(output)]) == 0
    rdf_format = EXPORT_FORMATS[fmt]
    parsed = list(ox.parse(path=output, format=rdf_format))
    expected = len(store) if rdf_format.supports_datasets else len(store.union_triples())
    assert len(parsed) == expected


def test_export_to_stdout_defaults_to_turtle(
    store: KnowledgeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export"]) == 0
    parsed = list(ox.parse(capsys.readouterr().out, ox.RdfFormat.TURTLE))
    assert len(parsed) == len(store.union_triples())


def test_an_unwritable_output_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "no-such-folder" / "dataset.ttl"
    assert main(["export", "-o", str(output)]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_a_subcommand_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2


@pytest.mark.subprocess
def test_the_installed_console_script_reads_stdin() -> None:
    script = Path(sysconfig.get_path("scripts")) / "odr-kg"
    assert script.is_file(), f"odr-kg is not installed beside {sys.executable}"
    completed = subprocess.run(
        [str(script), "query", "-"],
        input=ASK_KG,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "true\n"

    completed = subprocess.run(
        [str(script), "query", "-"],
        input="ASK {",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert "SPARQL syntax error" in completed.stderr


# validate ----------------------------------------------------------------------------------

CASES = Path(__file__).resolve().parents[1] / "cases"
INVALID = Path(__file__).resolve().parent / "cases" / "invalid"


def test_validate_conforming_cases_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(path) for path in sorted(CASES.iterdir())]
    assert main(["validate", *paths]) == 0
    out = capsys.readouterr().out
    assert out.count(": conforms") == len(paths)


def test_validate_reports_the_violation_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    path = INVALID / "route-a-at-cietac.ttl"
    assert main(["validate", str(path), "--lang", "zh"]) == 1
    out = capsys.readouterr().out
    assert "does not conform (1 result)" in out
    assert "ObjectionForumShape" in out
    assert "香港国际仲裁中心" in out


def test_validate_json_has_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(CASES / "trade-assurance-non-delivery.ttl"), str(INVALID / "two-buyers.ttl")]
    assert main(["validate", "--format", "json", *paths]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["summary"] == {"cases": 2, "conforming": 1, "results": 1}
    (result,) = document["reports"][1]["results"]
    assert result["sourceShape"].endswith("/TransactionContractBuyerShape")
    assert set(result["message"]) == {"en", "zh"}


def test_validate_unreadable_input_exits_2_with_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.ttl"
    broken.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b .\n", encoding="utf-8")
    assert main(["validate", str(broken), str(CASES / "trade-assurance-non-delivery.ttl")]) == 2
    captured = capsys.readouterr()
    assert f"{broken}:2:" in captured.err
    assert ": conforms" in captured.out


def test_validate_a_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path / "nowhere.ttl")]) == 2
    assert "nowhere.ttl" in capsys.readouterr().err


@pytest.mark.parametrize(("written", "status"), [("2026-11-27", 0), ("20261127", 2)])
def test_lookup_reads_as_of_in_one_form_from_options_and_with_a_case_file(
    written: str, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    case = str(Path(__file__).parents[1] / "cases" / "trade-assurance-non-delivery.ttl")
    options = ["--role", "buyer", "--channel", "trade-assurance", "--claim", "quality"]
    assert main(["lookup", *options, "--as-of", written]) == status
    assert main(["lookup", case, "--as-of", written]) == status
    if status:
        assert "asOf: '20261127' is not a date YYYY-MM-DD" in capsys.readouterr().err
