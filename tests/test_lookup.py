"""The lookup rules, scenario by scenario, through the engine, the JSON API, the CLI and a case
graph: the same facts must give the same answer everywhere."""

from __future__ import annotations

import datetime as dt
import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from odr_kg.cli import main
from odr_kg.lookup import Facts, LookupEngine, LookupInputError, load_rules
from odr_kg.store import KnowledgeStore

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["mediation", "decision", "enforcement", "objection"]
FAMILY_1 = ["24", "30", "35", "36", "49"]
FAMILY_2 = ["31", "32", "40", "41", "46", "48", "55", "56"]

# Each scenario: the facts in (a JSON request) and what must come out.
SCENARIOS: dict[str, dict[str, Any]] = {
    "ta-non-delivery-cap-at-guarantee": {
        "request": {
            "role": "buyer",
            "channel": "trade-assurance",
            "claim": "non-delivery",
            "paid": {"amount": "12000.00", "currency": "USD"},
            "guarantee": {"amount": "5000.00", "currency": "USD"},
            "asOf": "2026-11-27",
            "dissatisfiedWithDecision": True,
            "contractForum": "arbitration",
        },
        "applies": [True, True, True, True],
        "families": {"1": FAMILY_1, "2": FAMILY_2},
        "cap": {"amount": "5000.00", "currency": "USD"},
        "routes": {
            "A": ("alibaba", "arbitration", "hkiac"),
            "B": ("counterparty", "arbitration", None),
        },
    },
    "ta-quality-cap-at-payment": {
        "request": {
            "role": "buyer",
            "channel": "trade-assurance",
            "claim": "quality",
            "paid": {"amount": "3000", "currency": "EUR"},
            "guarantee": {"amount": "5000", "currency": "EUR"},
            "receivedOn": "2026-10-01",
            "asOf": "2026-10-20",
        },
        "applies": [True, True, True, False],
        "families": {"1": FAMILY_1, "2": FAMILY_2},
        "cap": {"amount": "3000.00", "currency": "EUR"},
        "routes": {},
        "deadline": ("2026-10-31", False),
    },
    "ta-deadline-passed": {
        "request": {
            "role": "buyer",
            "channel": "trade-assurance",
            "claim": "damage",
            "receivedOn": "2026-09-01",
            "asOf": "2026-11-27",
            "dissatisfiedWithDecision": True,
            "contractForum": "none",
        },
        "applies": [True, True, True, True],
        "families": {"1": FAMILY_1, "2": FAMILY_2},
        "cap": None,
        "routes": {
            "A": ("alibaba", "arbitration", "hkiac"),
            "B": ("counterparty", "litigation", "chinese-peoples-courts"),
        },
        "deadline": ("2026-10-01", True),
    },
    "offline-non-payment-seller": {
        "request": {
            "role": "seller",
            "channel": "offline",
            "claim": "non-payment",
            "asOf": "2026-11-27",
            "dissatisfiedWithDecision": True,
            "contractForum": "chinese-court",
        },
        "applies": [True, True, True, True],
        "families": {"1": FAMILY_1, "2": FAMILY_2},
        "cap": None,
        "available": False,
        "routes": {
            "A": ("alibaba", "arbitration", "hkiac"),
            "B": ("counterparty", "litigation", "chinese-peoples-courts"),
        },
    },
    "offline-quality-not-handled": {
        "request": {
            "role": "buyer",
            "channel": "offline",
            "claim": "quality",
            "asOf": "2026-11-27",
            "dissatisfiedWithDecision": True,
            "contractForum": "foreign-court",
        },
        "applies": [False, False, False, True],
        "families": {},
        "cap": None,
        "available": False,
        "routes": {"B": ("counterparty", "litigation", None)},
    },
    "offline-shortage-unknown-forum": {
        "request": {
            "role": "buyer",
            "channel": "offline",
            "claim": "shortage",
            "asOf": "2026-11-27",
            "dissatisfiedWithDecision": True,
        },
        "applies": [False, False, False, True],
        "families": {},
        "cap": None,
        "available": False,
        "routes": {"B": ("counterparty", None, None)},
    },
}


@pytest.fixture(scope="session")
def engine(store: KnowledgeStore) -> LookupEngine:
    return LookupEngine(store)


def check(answer: dict[str, Any], expected: dict[str, Any]) -> None:
    assert [stage["stage"] for stage in answer["stages"]] == STAGES
    assert [stage["applies"] for stage in answer["stages"]] == expected["applies"]
    for stage in answer["stages"]:
        assert stage["reason"]
        assert stage["legalBasis"], stage["stage"]
    families: dict[str, list[str]] = {}
    for decision in answer["decisions"]:
        articles = [basis["article"] for basis in decision["legalBasis"]]
        families.setdefault(decision["family"]["notation"], articles)
        assert families[decision["family"]["notation"]] == articles
    assert {key: sorted(v, key=int) for key, v in families.items()} == expected["families"]
    refund = answer["enforcement"]["advanceRefund"]
    assert refund["cap"] == expected["cap"]
    assert refund["available"] == expected.get("available", True)
    if refund["available"]:
        assert ("Trade Assurance Services Rules", "2.4") in {
            (basis["document"], basis["article"]) for basis in refund["legalBasis"]
        }
    routes = {
        objection["approach"]: (
            objection["against"],
            objection["procedure"],
            objection["forum"]["iri"].rsplit("/", 1)[-1] if objection["forum"] else None,
        )
        for objection in answer["objections"]
    }
    assert routes == expected["routes"]
    for objection in answer["objections"]:
        if objection["approach"] == "A":
            assert "10.5" in [basis["article"] for basis in objection["legalBasis"]]
    if "deadline" in expected:
        (mediation,) = [s for s in answer["stages"] if s["stage"] == "mediation"]
        dated = {(d["date"], d["passed"]) for d in mediation["deadlines"] if "30" in d["label"]}
        assert expected["deadline"] in dated
    assert answer["caveats"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_engine_answers_each_scenario(engine: LookupEngine, name: str) -> None:
    scenario = SCENARIOS[name]
    check(
        engine.lookup(engine.facts_from_json(scenario["request"])).json,
        scenario["expected"] if "expected" in scenario else scenario,
    )


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_api_cli_and_case_graph_give_the_engine_answer(
    engine: LookupEngine, client: FlaskClient, name: str, tmp_path: Path
) -> None:
    request = SCENARIOS[name]["request"]
    facts = engine.facts_from_json(request)
    expected = engine.lookup(facts).json

    response = client.post("/api/lookup", json=request)
    assert response.status_code == 200
    assert response.get_json() == expected

    case_file = tmp_path / "case.ttl"
    case_file.write_bytes(case_turtle(engine, facts))
    turtle_response = client.post(
        "/api/lookup",
        data=case_file.read_bytes(),
        content_type="text/turtle",
        query_string={"asOf": request["asOf"]},
    )
    assert turtle_response.status_code == 200
    assert turtle_response.get_json() == expected

    assert run_cli(cli_arguments(request)) == expected
    assert run_cli([str(case_file), "--as-of", request["asOf"]]) == expected


def case_turtle(engine: LookupEngine, facts: Facts) -> bytes:
    import pyoxigraph as ox

    return ox.serialize(engine.case_triples(facts), format=ox.RdfFormat.TURTLE)


def cli_arguments(request: dict[str, Any]) -> list[str]:
    arguments = ["--role", request["role"], "--channel", request["channel"]]
    arguments += ["--claim", request["claim"], "--as-of", request["asOf"]]
    for name in ("paid", "guarantee"):
        if name in request:
            arguments += [f"--{name}", request[name]["amount"], request[name]["currency"]]
    if "receivedOn" in request:
        arguments += ["--received-on", request["receivedOn"]]
    if "contractForum" in request:
        arguments += ["--contract-forum", request["contractForum"]]
    if request.get("dissatisfiedWithDecision"):
        arguments.append("--dissatisfied")
    return arguments


def run_cli(arguments: list[str]) -> dict[str, Any]:
    output = io.BytesIO()

    class Stdout(io.TextIOWrapper):
        pass

    stdout = Stdout(output, encoding="utf-8")
    with redirect_stdout(stdout):
        assert main(["lookup", *arguments]) == 0
    stdout.flush()
    return json.loads(output.getvalue())


def test_the_example_case_graphs_are_answered(engine: LookupEngine) -> None:
    from odr_kg.validation import read_case_file

    as_of = dt.date(2026, 11, 27)
    facts = engine.facts_from_case(
        read_case_file(ROOT / "cases" / "trade-assurance-non-delivery.ttl"), as_of
    )
    answer = engine.lookup(facts).json
    assert answer["enforcement"]["advanceRefund"]["cap"] == {"amount": "5000.00", "currency": "USD"}
    assert facts.contract_forum == "arbitration"
    (route_b,) = [o for o in answer["objections"] if o["approach"] == "B"]
    assert route_b["forum"]["iri"].endswith("/forum/cietac")
    offline = engine.facts_from_case(
        read_case_file(ROOT / "cases" / "offline-non-payment.jsonld"), as_of
    )
    assert (offline.role, offline.channel, offline.claim) == ("seller", "offline", "non-payment")


def test_escalation_days_of_both_versions_are_dated_with_the_conflict(engine: LookupEngine) -> None:
    facts = engine.facts_from_json(
        {"role": "buyer", "channel": "trade-assurance", "claim": "quality", "asOf": "2026-11-01"}
    )
    answer = engine.lookup(facts).json
    (mediation,) = [s for s in answer["stages"] if s["stage"] == "mediation"]
    escalation = {
        d["date"]: d["version"] for d in mediation["deadlines"] if "scalation on day" in d["label"]
    }
    assert escalation == {
        "2026-11-07": "Alibaba.com buyer help 20155175, older version",
        "2026-11-08": "Alibaba.com buyer help 20155175, newer version",
    }
    assert any("conflict" in caveat for caveat in answer["caveats"])
    assert any("suspects fraud" in caveat for caveat in answer["caveats"])
    assert any("claim type covered" in caveat for caveat in answer["caveats"])


def test_the_cap_is_never_above_what_was_paid(engine: LookupEngine) -> None:
    for paid, guarantee, cap in (("100", "5000", "100.00"), ("5000", "100.5", "100.50")):
        facts = engine.facts_from_json(
            {
                "role": "buyer",
                "channel": "trade-assurance",
                "claim": "non-delivery",
                "paid": {"amount": paid, "currency": "USD"},
                "guarantee": {"amount": guarantee, "currency": "USD"},
            }
        )
        assert engine.lookup(facts).json["enforcement"]["advanceRefund"]["cap"]["amount"] == cap


def test_chinese_labels(engine: LookupEngine) -> None:
    facts = engine.facts_from_json({"role": "buyer", "channel": "offline", "claim": "quality"})
    answer = engine.lookup(facts, "zh").json
    assert answer["stages"][0]["label"] == "在线调解"
    assert "线下订单" in answer["stages"][0]["reason"]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"channel": "offline", "claim": "quality"}, "role"),
        ({"role": "buyer", "channel": "offline", "claim": "late-shipment"}, "claim"),
        (
            {
                "role": "buyer",
                "channel": "offline",
                "claim": "quality",
                "paid": {"amount": "-1", "currency": "USD"},
            },
            "paid.amount",
        ),
        ({"role": "buyer", "channel": "offline", "claim": "quality", "asOf": "2026-02-30"}, "asOf"),
    ],
)
def test_bad_facts_name_their_field(
    engine: LookupEngine, request_: dict[str, Any], field: str
) -> None:
    with pytest.raises(LookupInputError) as raised:
        engine.facts_from_json(request_)
    assert raised.value.field == field


def test_the_rules_are_construct_queries_citing_their_basis() -> None:
    rules = load_rules()
    assert [name for name, _ in rules] == sorted(name for name, _ in rules)
    for name, text in rules:
        assert text.startswith("#+ summary:"), name
        assert "CONSTRUCT" in text and "lookup:basedOn" in text, name


def test_the_engine_does_not_import_flask() -> None:
    source = (ROOT / "server" / "odr_kg" / "lookup.py").read_text(encoding="utf-8")
    assert "flask" not in source.lower()


def test_concurrent_lookups_do_not_see_each_others_cases(engine: LookupEngine) -> None:
    # Each thread derives into its own copy of the KG; nothing a case adds may leak into
    # another thread's answer or stay behind after the lookup.
    import threading

    facts = [engine.facts_from_json(scenario["request"]) for scenario in SCENARIOS.values()]
    expected = [engine.lookup(one).json for one in facts]
    mismatches: list[int] = []

    def ask(index: int) -> None:
        for _ in range(5):
            if engine.lookup(facts[index]).json != expected[index]:
                mismatches.append(index)

    threads = [threading.Thread(target=ask, args=(index,)) for index in range(len(facts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert mismatches == []
    assert [engine.lookup(one).json for one in facts] == expected


@pytest.mark.parametrize(("lang", "in_chinese"), [("en", False), ("zh", True)])
def test_route_reasons_come_in_the_language_asked(
    engine: LookupEngine, lang: str, in_chinese: bool
) -> None:
    facts = engine.facts_from_json(
        {
            "role": "buyer",
            "channel": "trade-assurance",
            "claim": "non-delivery",
            "dissatisfiedWithDecision": True,
            "contractForum": "none",
        }
    )
    reasons = [objection["reason"] for objection in engine.lookup(facts, lang).json["objections"]]
    assert len(reasons) == 2
    for reason in reasons:
        assert any("\u4e00" <= char <= "\u9fff" for char in reason) is in_chinese, reason
