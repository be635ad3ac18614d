"""``odr-kg lookup --batch``: the answers of a corpus, set at a time, are the answers of
``POST /api/lookup`` case by case; a case that cannot be read gets an error line; the findings
go into the store for SPARQL."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from odr_kg import resources
from odr_kg.cli import main
from odr_kg.lookup import LookupEngine
from odr_kg.store import KnowledgeStore
from odr_kg.stores import open_store
from odr_kg.validation import read_case_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from generate_cases import KG, generate, write  # noqa: E402

AS_OF = "2026-11-27"
CAPPED_BELOW_PAID = "18-advance-refunds-capped-below-the-amount-paid.rq"


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """36 generated cases (a tenth of them faulty): 24 files of one case, 12 named graphs of
    one N-Quads file."""
    folder = tmp_path_factory.mktemp("corpus")
    cases = list(generate(36, seed=11))
    write(iter(cases[:24]), folder / "files", None)
    write(iter(cases[24:]), None, folder / "more.nq")
    return folder


def test_batch_answers_are_the_apis(corpus: Path, client: FlaskClient, tmp_path: Path) -> None:
    out = tmp_path / "answers.jsonl"
    # Chunks of 5: several chunks, each with several cases in the store at once.
    status = main(
        ["lookup", "--batch", str(corpus), "--as-of", AS_OF, "--out", str(out), "--chunk", "5"]
    )
    lines = lines_of(out)
    assert len(lines) == 36
    assert status == (1 if any("error" in line for line in lines) else 0)
    by_case = {case.name: case for case in generate(36, seed=11)}
    answered = 0
    for line in lines:
        name = line["case"].split("/")[-2]
        turtle = "\n".join(by_case[name].lines).encode()
        response = client.post(f"/api/lookup?asOf={AS_OF}", data=turtle, content_type="text/turtle")
        if "error" in line:
            assert response.status_code == 422
            assert response.get_json()["error"]["field"] == line["error"]["field"]
            continue
        assert response.status_code == 200, response.get_data(as_text=True)
        assert set(line) == {"case", "answer"}
        assert line["answer"] == response.get_json(), line["case"]
        answered += 1
    assert answered >= 30


def test_cases_sharing_a_chunk_get_the_answer_each_gets_alone() -> None:
    """Every role, channel and claim type, with and without an amount paid, in one store: a
    rule that reads another case's statements (a group or UNION branch that does not name its
    case) would change some answer."""
    import datetime as dt
    import itertools

    import pyoxigraph as ox

    from odr_kg.batch_lookup import BatchLookup, CaseSource
    from odr_kg.lookup_facts import LookupInputError

    engine = LookupEngine(open_store())
    vocabulary = engine.vocabulary
    facts = []
    for role, channel, claim in itertools.product(
        vocabulary["role"], vocabulary["channel"], vocabulary["claim"]
    ):
        for paid in (None, "500"):
            request = {"role": role, "channel": channel, "claim": claim, "asOf": AS_OF}
            if paid is not None:
                request["paid"] = {"amount": paid, "currency": "USD"}
                request["guarantee"] = {"amount": "100", "currency": "USD"}
            try:
                facts.append(engine.facts_from_json(request))
            except LookupInputError:
                continue
    assert len(facts) > 20
    iris = [f"urn:example:case:{number}" for number in range(len(facts))]
    sources = [
        CaseSource(iri, triples=engine.case_triples(case, ox.NamedNode(iri)))
        for iri, case in zip(iris, facts, strict=True)
    ]
    batch = BatchLookup(engine, dt.date.fromisoformat(AS_OF), chunk_size=len(sources))
    outcomes = list(batch.run(sources))
    assert len(outcomes) == len(facts)
    for iri, case, outcome in zip(iris, facts, outcomes, strict=True):
        assert outcome.line["case"] == iri
        assert outcome.line["answer"] == engine.lookup(case).json, iri


def test_worker_processes_give_the_same_lines_in_the_same_order(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from odr_kg.batch_lookup import default_workers

    if default_workers() < 2:
        pytest.skip("one core: the batch takes one worker process at most")
    outputs, reports = [], []
    for workers in ("1", str(default_workers())):
        out = tmp_path / f"answers-{workers}.jsonl"
        arguments = ["lookup", "--batch", str(corpus), "--as-of", AS_OF, "--out", str(out)]
        status = main([*arguments, "--chunk", "4", "--workers", workers])
        outputs.append((status, out.read_text(encoding="utf-8")))
        reports.append(capsys.readouterr().err)
    assert outputs[0] == outputs[1]
    assert reports[0] == reports[1]
    assert "could not be read" in reports[0] and "cannot answer" in reports[0]
    assert len(outputs[0][1].splitlines()) == 36


def test_derived_statements_from_workers_keep_each_cases_blank_nodes_apart(corpus: Path) -> None:
    import datetime as dt

    import pyoxigraph as ox

    from odr_kg.batch_lookup import BatchLookup, case_sources

    # The workers are forked after this process drew blank nodes: they start from its state.
    ox.BlankNode()
    engine = LookupEngine(open_store())
    batch = BatchLookup(engine, dt.date.fromisoformat(AS_OF), chunk_size=3, workers=2)
    owners: dict[ox.BlankNode, str] = {}
    capped = 0
    for outcome in batch.run(case_sources(sorted((corpus / "files").iterdir()))):
        for triple in outcome.derived:
            for term in (triple.subject, triple.object):
                if isinstance(term, ox.BlankNode):
                    assert owners.setdefault(term, outcome.line["case"]) == outcome.line["case"]
        answer = outcome.line.get("answer")
        if answer and answer["enforcement"]["advanceRefund"]["cap"] is not None:
            capped += 1
    assert capped > 1 and owners


@pytest.mark.parametrize(
    ("option", "value"),
    [("--workers", "0"), ("--workers", "two"), ("--workers", "100000"), ("--chunk", "0")],
)
def test_workers_and_chunks_are_whole_numbers_from_one_and_workers_one_a_core_at_most(
    option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "answers.jsonl"
    with pytest.raises(SystemExit) as exit_:
        main(["lookup", "--batch", str(tmp_path), "--out", str(out), option, value])
    assert exit_.value.code == 2
    assert option in capsys.readouterr().err


def test_a_file_that_is_no_case_graph_file_gets_an_error_line_and_the_rest_go_on(
    tmp_path: Path,
) -> None:
    import os

    folder = tmp_path / "cases"
    folder.mkdir()
    os.mkfifo(folder / "a-pipe.ttl")  # read, it would never end
    (folder / "b-endless.ttl").symlink_to("/dev/zero")
    with (folder / "c-huge.ttl").open("wb") as huge:
        huge.truncate(16 * 1024 * 1024 + 1)
    good = ROOT / "cases" / "trade-assurance-non-delivery.ttl"
    (folder / "d-good.ttl").write_bytes(good.read_bytes())
    out = tmp_path / "answers.jsonl"
    assert main(["lookup", "--batch", str(folder), "--as-of", AS_OF, "--out", str(out)]) == 1
    pipe, endless, huge_line, answered = lines_of(out)
    assert pipe["error"]["message"] == endless["error"]["message"] == "not a regular file"
    assert "a file of one case graph is at most" in huge_line["error"]["message"]
    assert "answer" in answered


def test_answers_that_cannot_be_written_are_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = ROOT / "cases" / "trade-assurance-non-delivery.ttl"
    status = main(["lookup", "--batch", str(case), "--as-of", AS_OF, "--out", "/dev/full"])
    assert status == 2
    assert "cannot write /dev/full" in capsys.readouterr().err


def test_a_case_that_cannot_be_read_gets_an_error_line(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "a-broken.ttl").write_text("@prefix broken", encoding="utf-8")
    good = ROOT / "cases" / "trade-assurance-non-delivery.ttl"
    (folder / "b-good.ttl").write_bytes(good.read_bytes())
    (folder / "c-two-cases.ttl").write_text(
        "<urn:x:1> a <https://w3id.org/odr-kg/def/Case> .\n"
        "<urn:x:2> a <https://w3id.org/odr-kg/def/Case> .\n",
        encoding="utf-8",
    )
    (folder / "d-outside.nq").write_text(
        f"<urn:x:3> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{KG}def/Case> .\n",
        encoding="utf-8",
    )
    out = tmp_path / "answers.jsonl"
    assert main(["lookup", "--batch", str(folder), "--as-of", AS_OF, "--out", str(out)]) == 1
    broken, answered, two, outside = lines_of(out)
    assert broken["source"].endswith("a-broken.ttl") and broken["error"]["line"] == 1
    assert broken["case"] is None
    assert answered["case"] == "https://example.org/cases/ta-0001/case"
    assert answered["answer"]["enforcement"]["advanceRefund"]["cap"] == {
        "amount": "5000.00",
        "currency": "USD",
    }
    assert two["error"]["field"] == "odr:Case" and two["source"].endswith("c-two-cases.ttl")
    assert "outside any named graph" in outside["error"]["message"]
    assert "1 cases answered, 3 could not be read" in capsys.readouterr().err


def test_a_case_with_not_yet_off_its_transaction_gets_an_error_line(
    corpus: Path, tmp_path: Path
) -> None:
    # The batch reads a case from its statements, not from an rdflib graph: the same refusal.
    folder = tmp_path / "cases"
    folder.mkdir()
    for name in ("not-yet-on-the-case.ttl", "not-yet-and-dated.ttl"):
        fixture = ROOT / "tests" / "cases" / "invalid" / name
        (folder / name).write_bytes(fixture.read_bytes())
    out = tmp_path / "answers.jsonl"
    assert main(["lookup", "--batch", str(folder), "--as-of", AS_OF, "--out", str(out)]) == 1
    dated, on_the_case = lines_of(out)
    assert dated["error"]["field"] == on_the_case["error"]["field"] == "odr:notYet"
    assert "odr:transaction only" in on_the_case["error"]["message"]


def test_into_store_lets_sparql_ask_over_the_findings(corpus: Path, tmp_path: Path) -> None:
    store_path = str(tmp_path / "store")
    files = corpus / "files"
    assert main(["cases", "import", str(files), "--store", store_path]) == 0
    out = tmp_path / "answers.jsonl"
    main(
        ["lookup", "--batch", str(files), "--as-of", AS_OF, "--out", str(out)]
        + ["--store", store_path, "--into-store", "--chunk", "7", "--workers", "2"]
    )
    lines = [line for line in lines_of(out) if "answer" in line]
    # The expected rows, from the answers and the amounts paid in the case graphs.
    store = open_store(path=store_path)
    engine = LookupEngine(store)
    expected: dict[str, list[Decimal]] = {}
    for line in lines:
        cap = line["answer"]["enforcement"]["advanceRefund"]["cap"]
        if cap is None:
            continue
        name = line["case"].split("/")[-2]
        facts = engine.facts_from_case(read_case_file(files / f"{name}.nt"))
        assert facts.paid is not None and facts.paid.currency == cap["currency"]
        if Decimal(cap["amount"]) < facts.paid.amount:
            expected.setdefault(cap["currency"], []).append(
                facts.paid.amount - Decimal(cap["amount"])
            )
    assert expected, "the corpus should have advance refunds capped below the amount paid"
    (entry,) = [e for e in resources.data_files("queries") if e.name == CAPPED_BELOW_PAID]
    rows = list(store.query(entry.read_text(encoding="utf-8")))
    assert [
        (row["currency"].value, int(row["cases"].value), Decimal(row["largestGap"].value))
        for row in rows
    ] == [(currency, len(gaps), max(gaps)) for currency, gaps in sorted(expected.items())]
    # Every answered case has its findings in the graph the README names, and only there.
    findings = f"{store.base}graph/findings"
    counted = store.query(
        f"SELECT (COUNT(DISTINCT ?case) AS ?n) WHERE {{ GRAPH <{findings}> {{ ?case "
        "<https://w3id.org/odr-kg/def/lookup/finding> ?f } }"
    )
    assert int(next(iter(counted))["n"].value) == len(lines)
    store.close()


def test_the_question_over_findings_gives_no_rows_on_the_packaged_data(
    store: KnowledgeStore,
) -> None:
    (entry,) = [e for e in resources.data_files("queries") if e.name == CAPPED_BELOW_PAID]
    assert list(store.query(entry.read_text(encoding="utf-8"))) == []


def test_facts_read_from_statements_are_those_read_from_an_rdflib_graph(
    store: KnowledgeStore,
) -> None:
    """The batch reads each case's facts from its statements, not from an rdflib graph: the
    same facts, or the same error, for valid and faulty cases alike."""
    import re

    import pyoxigraph as ox

    from odr_kg.lookup_facts import LookupInputError
    from odr_kg.validation import CaseStatements, case_graph

    engine = LookupEngine(store)

    def facts_or_error(graph: object) -> object:
        try:
            return engine.facts_from_case(graph, as_of=None)  # type: ignore[arg-type]
        except LookupInputError as error:
            return error.to_json()

    texts = ["\n".join(case.lines) for case in generate(60, seed=5, invalid_share=0.5)]
    odr = f"{KG}def/"
    # Literals rdflib normalizes (a signed decimal) and a complainant that is a literal.
    decimal = re.compile(r'"([0-9.]+)"(\^\^<http://www.w3.org/2001/XMLSchema#decimal>)')
    signed = [decimal.sub(r'"+\1"\2', text) for text in texts if decimal.search(text)][:2]
    assert signed
    texts += signed
    texts.append(
        f'<urn:x:c> a <{odr}Case> ; <{odr}complainant> "buyer" ; '
        f"<{odr}channel> <{KG}id/channel/trade-assurance> ."
    )
    compared = 0
    for text in texts:
        triples = [quad.triple for quad in ox.parse(text, ox.RdfFormat.TURTLE)]
        expected = facts_or_error(case_graph(triples))
        assert facts_or_error(CaseStatements(triples)) == expected, text
        compared += 1
    assert compared == len(texts) > 60
