"""Case graphs: the examples conform; each invalid fixture fails on the one shape it names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import rdflib
import rdflib.collection
from rdflib.namespace import SH

from odr_kg import resources
from odr_kg.lookup import LookupEngine
from odr_kg.store import KnowledgeStore
from odr_kg.validation import (
    ShapesValidator,
    UnreadableCaseError,
    parse_case,
    read_case_file,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CASES = sorted((ROOT / "cases").iterdir())
INVALID_CASES = sorted((ROOT / "tests" / "cases" / "invalid").glob("*.ttl"))
SHAPES = "https://w3id.org/odr-kg/shapes/"
EXPECT = re.compile(r"^# expect: odrsh:(\w+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def validator(store: KnowledgeStore) -> ShapesValidator:
    return ShapesValidator.for_cases(store)


def test_there_are_examples_and_fixtures() -> None:
    assert len(EXAMPLE_CASES) >= 2
    assert len(INVALID_CASES) >= 12


@pytest.mark.parametrize("path", EXAMPLE_CASES, ids=lambda path: path.name)
def test_example_case_conforms(validator: ShapesValidator, path: Path) -> None:
    report = validator.validate(read_case_file(path), path.name)
    assert report.conforms, report.text()


@pytest.mark.parametrize("path", INVALID_CASES, ids=lambda path: path.stem)
def test_invalid_case_fails_on_the_shape_it_names(validator: ShapesValidator, path: Path) -> None:
    (expected,) = EXPECT.findall(path.read_text(encoding="utf-8"))
    report = validator.validate(read_case_file(path), path.name)
    assert not report.conforms
    assert {result.source_shape for result in report.results} == {SHAPES + expected}
    for result in report.results:
        assert set(result.messages) == {"en", "zh"}


def test_messages_name_what_to_fix_and_the_article(validator: ShapesValidator) -> None:
    path = ROOT / "tests" / "cases" / "invalid" / "advance-refund-above-guarantee.ttl"
    (result,) = validator.validate(read_case_file(path)).results
    assert "guarantee amount" in result.message("en")
    assert "Art. 2.4" in result.message("en")
    assert "第2.4条" in result.message("zh")
    assert result.value == "6000.00"


def test_cases_do_not_leak_into_each_other(validator: ShapesValidator) -> None:
    invalid = ROOT / "tests" / "cases" / "invalid" / "two-buyers.ttl"
    assert not validator.validate(read_case_file(invalid)).conforms
    valid = ROOT / "cases" / "trade-assurance-non-delivery.ttl"
    assert validator.validate(read_case_file(valid)).conforms


def test_a_syntax_error_reports_the_line() -> None:
    with pytest.raises(UnreadableCaseError) as caught:
        parse_case(
            b"@prefix ex: <http://example.org/> .\n\nex:a ex:b ex:c ;\n  ex:d .\n",
            _turtle(),
            "broken.ttl",
        )
    assert caught.value.line == 4
    assert caught.value.source == "broken.ttl"


def test_a_remote_json_ld_context_is_not_fetched() -> None:
    document = b'{"@context": "http://127.0.0.1:9/context.jsonld", "@id": "http://e/a", "n": 1}'
    with pytest.raises(UnreadableCaseError) as caught:
        parse_case(document, _jsonld(), "remote.jsonld")
    assert "context" in caught.value.message


def test_an_unknown_extension_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "case.xlsx"
    path.write_bytes(b"not rdf")
    with pytest.raises(UnreadableCaseError, match="unknown case graph format"):
        read_case_file(path)


def _turtle():
    import pyoxigraph

    return pyoxigraph.RdfFormat.TURTLE


def _jsonld():
    import pyoxigraph

    return pyoxigraph.RdfFormat.JSON_LD


def test_not_yet_allows_the_events_the_lookup_takes(store: KnowledgeStore) -> None:
    # The shape lists the events in sh:in; the lookup reads them from the knowledge graph (the
    # triggers whose case property belongs to the order). The two lists must not drift apart.
    shapes = rdflib.Graph()
    for entry in resources.shapes_files():
        shapes.parse(data=resources.read_data_text(entry, store.base), format="turtle")
    shape = rdflib.URIRef(SHAPES + "TransactionContractNotYetShape")
    (members,) = list(shapes.objects(shape, SH["in"]))
    allowed = {str(item) for item in rdflib.collection.Collection(shapes, members)}
    assert allowed == set(LookupEngine(store).vocabulary["notYet"].values())
    assert len(allowed) == 2
