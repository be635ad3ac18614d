"""Bulk case graphs: ``odr-kg cases import`` and ``odr-kg validate`` over many cases, and the
differential test of the two validation engines (pyshacl the reference, pyshacl-turbo)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from odr_kg.bulk_validation import validate_many
from odr_kg.cli import EXIT_DATA_ERROR, EXIT_OK, main
from odr_kg.store import KnowledgeStore
from odr_kg.stores import open_store
from odr_kg.validation import ShapesValidator, case_graph, read_case_triples

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from generate_cases import FAULTS, generate, write  # noqa: E402

CASE_NAMESPACE = "https://example.org/cases/ta-0001/"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example cases, every invalid fixture relabelled to IRIs of its own, and 120
    generated cases of which a third are invalid."""
    folder = tmp_path_factory.mktemp("corpus")
    for path in [*ROOT.glob("cases/*"), *ROOT.glob("tests/cases/invalid/*.ttl")]:
        text = path.read_text(encoding="utf-8")
        text = text.replace(CASE_NAMESPACE, f"https://example.org/cases/{path.stem}/")
        (folder / path.name).write_text(text, encoding="utf-8")
    write(generate(120, seed=7, invalid_share=0.33), folder / "generated", None)
    return folder


def test_both_engines_give_the_same_results(corpus: Path, store: KnowledgeStore) -> None:
    validator = ShapesValidator.for_cases(store)
    cases = [(str(p), read_case_triples(p)) for p in sorted(corpus.rglob("*.*"))]

    def outcome(engine: str) -> list[tuple[str, bool, list[tuple[str, str, str | None]]]]:
        return [
            (r.source, r.conforms, [(x.focus_node, x.source_shape, x.value) for x in r.results])
            for r in validate_many(validator, cases, engine)
        ]

    reference = outcome("pyshacl")
    assert outcome("turbo") == reference
    assert 40 < sum(conforms for _, conforms, _ in reference) < len(reference) - 40


def test_bulk_results_match_one_case_at_a_time(corpus: Path, store: KnowledgeStore) -> None:
    validator = ShapesValidator.for_cases(store)
    paths = sorted(corpus.glob("*.*"))
    cases = [(str(p), read_case_triples(p)) for p in paths]
    for report in validate_many(validator, cases, "turbo"):
        alone = validator.validate(case_graph(dict(cases)[report.source]), report.source)
        shapes = {r.source_shape for r in report.results}
        assert shapes == {r.source_shape for r in alone.results}, report.source


def test_generated_invalid_cases_break_the_shape_of_their_fault(store: KnowledgeStore) -> None:
    import pyoxigraph as ox

    validator = ShapesValidator.for_cases(store)
    generated = list(generate(80, seed=3, invalid_share=0.5))
    cases = [
        (c.name, [q.triple for q in ox.parse("\n".join(c.lines), ox.RdfFormat.N_TRIPLES)])
        for c in generated
    ]
    for case, report in zip(generated, validate_many(validator, cases, "turbo"), strict=True):
        if case.fault is None:
            assert report.conforms, report.text()
        else:
            shapes = {r.source_shape.rsplit("/", 1)[-1] for r in report.results}
            assert FAULTS[case.fault] in shapes, (case.fault, shapes)


def test_validate_a_folder_as_json(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "json", str(corpus / "generated")]) == EXIT_DATA_ERROR
    document = json.loads(capsys.readouterr().out)
    assert document["summary"]["cases"] == 120 == len(document["reports"])
    assert 0 < document["summary"]["conforming"] < 120


def test_cases_import_loads_each_file_into_its_graph_and_reports_a_broken_one(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for path in sorted((corpus / "generated").glob("*.nt"))[:5]:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "broken.ttl").write_text("@prefix : <urn:x:> .\n:a :b :c .\n:a :b\n")
    store_path = tmp_path / "store"
    assert main(["cases", "import", "--atomic", "--store", str(store_path), str(folder)]) == (
        EXIT_DATA_ERROR
    )
    assert re.search(r"broken\.ttl:4: .*line 4", capsys.readouterr().err)
    assert not [g for g in open_store(path=store_path).graph_sizes() if "/case/" in g]
    for _ in range(2):  # idempotent: each case graph is replaced
        assert main(["cases", "import", "--store", str(store_path), str(folder)]) == EXIT_DATA_ERROR
    sizes = open_store(path=store_path).graph_sizes()
    case_graphs = {g: n for g, n in sizes.items() if "/graph/case/" in g}
    assert len(case_graphs) == 5
    assert "5 case graphs loaded, 1 left out" in capsys.readouterr().err


def test_cases_import_into_the_external_store(start_oxigraph, corpus: Path) -> None:

    server = start_oxigraph()
    options = ["--endpoint", server.query, "--update-endpoint", server.update]
    assert main(["load", *options]) == EXIT_OK
    assert main(["cases", "import", *options, str(corpus / "generated")]) == EXIT_OK
    external = open_store(endpoint=server.query)
    (row,) = external.query("SELECT (COUNT(*) AS ?n) { ?c a <https://w3id.org/odr-kg/def/Case> }")
    assert int(row["n"].value) == 120


def test_small_batches_in_parallel_give_the_same_reports(
    corpus: Path, store: KnowledgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from odr_kg import bulk_validation

    validator = ShapesValidator.for_cases(store)
    cases = [(str(p), read_case_triples(p)) for p in sorted(corpus.rglob("*.*"))]
    whole = [r.to_json() for r in validate_many(validator, cases, "turbo")]
    monkeypatch.setattr(bulk_validation, "BATCH_CASES", 7)
    assert len(bulk_validation._batches(cases)) >= len(cases) // 7
    parallel = [r.to_json() for r in validate_many(validator, cases, "turbo", jobs=2)]
    assert parallel == whole
