"""The lookup rules, scenario by scenario, through the engine, the JSON API, the CLI and a case
graph: the same facts must give the same answer everywhere."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from odr_kg.lookup import KNOWLEDGE_RULES_FOLDER, LookupEngine, load_rules
from odr_kg.lookup_facts import LookupInputError
from odr_kg.store import KnowledgeStore

ROOT = Path(__file__).resolve().parents[1]
# A few requests of each kind; the scenarios with their expected findings are data, in
# tests/scenarios/lookup (see test_lookup_scenarios.py).
REQUESTS = [
    json.loads(path.read_text(encoding="utf-8"))["request"]
    for path in sorted((ROOT / "tests" / "scenarios" / "lookup").glob("*.json"))
    if "error" not in json.loads(path.read_text(encoding="utf-8"))["expected"]
]


@pytest.fixture(scope="session")
def engine(store: KnowledgeStore) -> LookupEngine:
    return LookupEngine(store)


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
    # The day of opening is day 0: day 7 is seven days after it.
    assert escalation == {
        "2026-11-08": "Alibaba.com buyer help 20155175, older version",
        "2026-11-09": "Alibaba.com buyer help 20155175, newer version",
    }
    assert any("conflict" in caveat for caveat in answer["caveats"])
    assert any("which claim types it covers" in caveat for caveat in answer["caveats"])


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
        ({"role": "buyer", "channel": "offline", "claim": "late"}, "claim"),
        ({"role": "buyer", "channel": "offline", "claim": "non-payment"}, "claim"),
        ({"role": "buyer", "channel": "offline", "claim": "quality", "extra": 1}, "extra"),
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


# What a rule may derive without citing a basis of its own: the answer's words (caveats and
# reasons written out from what the other rules derived, with its basis), which statements
# the answer cites, and which statement qualifies a finding (named in a caveat, not a basis).
WORDS_AND_CITATIONS = (
    "lookup:caveatText",
    "lookup:reasonWithClause",
    "lookup:cites",
    "lookup:tension",
)


def test_the_rules_are_construct_queries_citing_their_basis() -> None:
    rules = load_rules()
    assert [name for name, _ in rules] == sorted(name for name, _ in rules)
    for name, text in rules:
        assert text.startswith("#+ summary:"), name
        assert "CONSTRUCT" in text, name
        template = text.split("CONSTRUCT", 1)[1].split("WHERE", 1)[0]
        if "lookup:basedOn" not in template:
            derived = set(re.findall(r"lookup:\w+", template))
            assert derived and all(term.startswith(WORDS_AND_CITATIONS) for term in derived), name


def test_the_knowledge_graph_rules_run_once_and_derive_the_basis_and_the_names(
    engine: LookupEngine,
) -> None:
    rules = load_rules(folder_name=KNOWLEDGE_RULES_FOLDER)
    assert [name for name, _ in rules] == sorted(name for name, _ in rules) and rules
    article = engine.base + "eli/alibaba/transaction-dispute-rules/art_17"
    names = {o.language: o.value for o in engine.values(article, engine.frame.iri("lookup:name"))}
    assert names == {"en": "Transaction Dispute Rules, Article 17", "zh": "交易纠纷规则第17条"}


def test_every_derived_statement_is_a_finding_of_the_case(engine: LookupEngine) -> None:
    # Stated of the case, of a finding the case names, or of a finding's cap: never of a stage,
    # remedy, route or provision itself, so that many cases can share one store.
    from urllib.parse import quote

    import pyoxigraph as ox

    facts = engine.facts_from_json(
        {
            "role": "buyer",
            "channel": "trade-assurance",
            "claim": "non-delivery",
            "paid": {"amount": "12000.00", "currency": "USD"},
            "guarantee": {"amount": "5000.00", "currency": "USD"},
            "receivedOn": "2026-10-01",
            "asOf": "2026-10-20",
            "dissatisfiedWithDecision": True,
            "contractForum": "none",
        }
    )
    lookup = engine.prefixes["lookup"]
    case_triples = engine.case_triples(facts)
    (case,) = [t.subject for t in case_triples if t.object.value.endswith("/def/Case")]
    derived = set(engine.lookup(facts).triples) - set(case_triples)
    findings = {
        t.object for t in derived if t.subject == case and t.predicate.value == lookup + "finding"
    }
    about = {t.subject: t.object for t in derived if t.predicate.value == lookup + "about"}
    caps = {
        t.object for t in derived if t.subject in findings and t.predicate.value == lookup + "cap"
    }
    assert len(findings) > 10 and caps
    assert {t.subject for t in derived} == {case} | findings | caps
    assert about.keys() == findings
    for finding, thing in about.items():
        assert finding.value == f"{case.value}/finding/{quote(thing.value, safe='')}"
    assert all(isinstance(cap, ox.BlankNode) for cap in caps)
    stages = {
        thing.value.rsplit("/", 1)[-1] for thing in about.values() if "/stage/" in thing.value
    }
    assert stages == {"mediation", "decision", "enforcement", "objection"}


def test_the_engine_does_not_import_flask() -> None:
    source = (ROOT / "server" / "odr_kg" / "lookup.py").read_text(encoding="utf-8")
    assert "flask" not in source.lower()


def test_concurrent_lookups_do_not_see_each_others_cases(engine: LookupEngine) -> None:
    # Each thread derives into its own copy of the KG; nothing a case adds may leak into
    # another thread's answer or stay behind after the lookup.
    import threading

    facts = [engine.facts_from_json(request) for request in REQUESTS]
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


def test_the_chinese_form_names_each_error_in_chinese_at_its_field(client: FlaskClient) -> None:
    page = client.get(
        "/lookup",
        query_string={
            "lang": "zh",
            "role": "buyer",
            "channel": "offline",
            "claim": "non-payment",
            "paidAmount": "5E+3",
            "paidCurrency": "USD",
        },
    )
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    for field in ("claim", "paidAmount"):
        assert f'aria-describedby="{field}-error"' in html
        error = html.split(f'id="{field}-error">', 1)[1].split("<", 1)[0]
        assert any("\u4e00" <= char <= "\u9fff" for char in error), error
        assert "must" not in error and "cannot" not in error


def test_a_caveat_the_rules_write_out_whole_is_shown_in_the_answers_language(
    store: KnowledgeStore,
) -> None:
    engine = LookupEngine(store)
    engine.rules.append(
        (
            "99-written-caveat",
            f"""PREFIX lookup: <{engine.base}def/lookup/>
            PREFIX odr: <{engine.base}def/>
            CONSTRUCT {{ ?case lookup:caveatText "written out"@en , "写明"@zh }}
            WHERE {{ ?case a odr:Case }}""",
        )
    )
    facts = engine.facts_from_json(
        {"role": "buyer", "channel": "trade-assurance", "claim": "quality", "asOf": "2026-11-01"}
    )
    assert "written out" in engine.lookup(facts, "en").json["caveats"]
    zh = engine.lookup(facts, "zh").json["caveats"]
    assert "写明" in zh and "written out" not in zh
