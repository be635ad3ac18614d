"""The lookup's scenarios, read from ``tests/scenarios/lookup/*.json``: facts in, the findings
expected out, each naming the reference-list row it rests on. Every scenario runs through the
engine, the JSON API, the web form's answer, the command line and a case graph, and every entry
point must give the engine's answer."""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient

from odr_kg.cli import main
from odr_kg.lookup import LookupEngine
from odr_kg.lookup_facts import LookupInputError

FOLDER = Path(__file__).parent / "scenarios"
SCENARIOS = {
    path.stem: json.loads(path.read_text(encoding="utf-8"))
    for path in sorted((FOLDER / "lookup").glob("*.json"))
}
MATRIX = json.loads((FOLDER / "lookup-matrix.json").read_text(encoding="utf-8"))
ALL_ENTRY_POINTS = ["engine", "api", "form", "cli", "case"]
CLASSES = {"time", "preconditions", "offline", "forums", "citations", "cap", "facts", "words"}


@pytest.fixture(scope="module")
def engine(store: Any) -> LookupEngine:
    return LookupEngine(store)


def test_every_class_of_the_audit_has_scenarios_resting_on_a_row() -> None:
    assert {scenario["class"] for scenario in SCENARIOS.values()} >= CLASSES
    for name, scenario in SCENARIOS.items():
        assert scenario["restsOn"], name


def entry_points(scenario: dict[str, Any]) -> list[str]:
    return scenario["expected"].get("entryPoints", ALL_ENTRY_POINTS)


CASES = [(name, point) for name, scenario in SCENARIOS.items() for point in entry_points(scenario)]


@pytest.mark.parametrize(("name", "point"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_scenario(
    engine: LookupEngine, client: FlaskClient, name: str, point: str, tmp_path: Path
) -> None:
    scenario = SCENARIOS[name]
    request, lang, expected = scenario["request"], scenario["lang"], scenario["expected"]
    if "error" in expected:
        assert (
            refused_field(engine, client, request, lang, point, tmp_path)
            == (expected["error"]["field"])
        )
        return
    answer = engine.lookup(engine.facts_from_json(request), lang).json
    if point == "engine":
        check(answer, expected, lang)
    else:
        assert answer_through(engine, client, request, lang, point, tmp_path) == answer


SUMMARIES = [name for name, scenario in SCENARIOS.items() if "summary" in scenario["expected"]]


@pytest.mark.parametrize("name", SUMMARIES)
def test_summary_of_the_answer_page(client: FlaskClient, name: str) -> None:
    """The page's summary (id="summary") says what the scenario expects of it."""
    scenario = SCENARIOS[name]
    page = client.get(
        "/lookup", query_string={**form_fields(scenario["request"]), "lang": scenario["lang"]}
    ).get_data(as_text=True)
    start = page.index('id="summary"')
    summary = page[start : page.index("</section>", start)]
    for fragment in scenario["expected"]["summary"]:
        assert fragment in summary, (fragment, summary)


def answer_through(
    engine: LookupEngine,
    client: FlaskClient,
    request: dict[str, Any],
    lang: str,
    point: str,
    tmp_path: Path,
) -> dict[str, Any]:
    if point == "api":
        response = client.post(f"/api/lookup?lang={lang}", json=request)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()
    if point == "form":
        response = client.get("/lookup.json", query_string={**form_fields(request), "lang": lang})
        assert response.status_code == 200, response.get_data(as_text=True)
        page = client.get("/lookup", query_string={**form_fields(request), "lang": lang})
        assert page.status_code == 200 and b'id="summary"' in page.data
        return response.get_json()
    if point == "cli":
        return json.loads(run_cli([*cli_arguments(request), "--lang", lang])[1])
    assert point == "case"
    case_file = tmp_path / "case.ttl"
    facts = engine.facts_from_json(request)
    case_file.write_bytes(ox.serialize(engine.case_triples(facts), format=ox.RdfFormat.TURTLE))
    response = client.post(
        "/api/lookup",
        data=case_file.read_bytes(),
        content_type="text/turtle",
        query_string={"asOf": request["asOf"], "lang": lang},
    )
    assert response.status_code == 200
    return response.get_json()


def refused_field(
    engine: LookupEngine,
    client: FlaskClient,
    request: dict[str, Any],
    lang: str,
    point: str,
    tmp_path: Path,
) -> str:
    if point == "engine":
        with pytest.raises(LookupInputError) as raised:
            engine.facts_from_json(request)
        return raised.value.field
    if point == "api":
        response = client.post("/api/lookup", json=request)
        assert response.status_code == 422
        return response.get_json()["error"]["field"]
    if point == "form":
        page = client.get("/lookup", query_string=form_fields(request))
        assert page.status_code == 422
        field = re.search(
            rb'aria-invalid="true"[^>]*id="([A-Za-z.]+)"|id="([A-Za-z.]+)"[^>]*'
            rb'aria-invalid="true"',
            page.data,
        )
        assert field is not None
        name = (field.group(1) or field.group(2)).decode()
        return {"paidAmount": "paid.amount", "guaranteeAmount": "guarantee.amount"}.get(name, name)
    if point == "cli":
        code, _out, err = run_cli(cli_arguments(request))
        assert code == 2
        return err.split(":")[1].strip()
    assert point == "case"
    # A case graph cannot carry what the JSON refuses here (e.g. an exponent is not a decimal
    # literal); role and claim misfits it can carry.
    case = (
        "@prefix odr: <https://w3id.org/odr-kg/def/> .\n"
        "<urn:c> a odr:Case ;"
        f" odr:channel <https://w3id.org/odr-kg/id/channel/{request['channel']}> ;"
        f" odr:claimType <https://w3id.org/odr-kg/id/claim/{request['claim']}> ;"
        f" odr:complainant [ a odr:{request['role'].capitalize()} ] .\n"
    )
    response = client.post("/api/lookup", data=case, content_type="text/turtle")
    if response.status_code == 200:
        return {"paid": "paid.amount", "guarantee": "guarantee.amount"}[
            next(key for key in ("paid", "guarantee") if key in request)
        ]
    assert response.status_code == 422
    return response.get_json()["error"]["field"]


def form_fields(request: dict[str, Any]) -> dict[str, Any]:
    fields = {
        key: value
        for key, value in request.items()
        if isinstance(value, str) and key not in ("paid", "guarantee")
    }
    for name in ("paid", "guarantee"):
        if name in request:
            fields[f"{name}Amount"] = request[name]["amount"]
            fields[f"{name}Currency"] = request[name]["currency"]
    if request.get("dissatisfiedWithDecision"):
        fields["dissatisfiedWithDecision"] = "true"
    if "contractForumExclusive" in request:
        fields["contractForumExclusive"] = json_word(request["contractForumExclusive"])
    if "notYet" in request:
        fields["notYet"] = request["notYet"]  # one checkbox ticked per event
    return fields


def json_word(value: Any) -> str:
    """A JSON value as a form or command line writes it: true, false, or the text itself."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


def cli_arguments(request: dict[str, Any]) -> list[str]:
    arguments = ["--role", request["role"], "--channel", request["channel"]]
    arguments += ["--claim", request["claim"], "--as-of", request["asOf"]]
    for name in ("paid", "guarantee"):
        if name in request:
            arguments += [f"--{name}", request[name]["amount"], request[name]["currency"]]
    for key, option in (
        ("receivedOn", "--received-on"),
        ("goodsReceivedOn", "--goods-received-on"),
        ("openedOn", "--opened-on"),
    ):
        if key in request:
            arguments += [option, request[key]]
    if "contractForum" in request:
        arguments += ["--contract-forum", request["contractForum"]]
    if "contractForumExclusive" in request:
        arguments += ["--contract-forum-exclusive", json_word(request["contractForumExclusive"])]
    if request.get("dissatisfiedWithDecision"):
        arguments.append("--dissatisfied")
    for event in request.get("notYet", []):
        arguments += ["--not-yet", event]
    return arguments


def run_cli(arguments: list[str]) -> tuple[int, str, str]:
    output, errors = io.BytesIO(), io.StringIO()
    stdout = io.TextIOWrapper(output, encoding="utf-8")
    with redirect_stdout(stdout), redirect_stderr(errors):
        code = main(["lookup", *arguments])
    stdout.flush()
    return code, output.getvalue().decode("utf-8"), errors.getvalue()


# Checking an answer against what a scenario expects ---------------------------------------------


def finding(answer: dict[str, Any], name: str) -> dict[str, Any]:
    if name == "advanceRefund":
        return answer["enforcement"]["advanceRefund"]
    if name.startswith("route"):
        return next(o for o in answer["objections"] if o["approach"] == name[-1])
    return next(s for s in answer["stages"] if s["stage"] == name)


def texts(value: Any) -> list[str]:
    """Every human-readable string of an answer (not addresses, identifiers or notations)."""
    if isinstance(value, dict):
        return [
            text
            for key, item in value.items()
            if key
            not in (
                "iri",
                "source",
                "stage",
                "remedy",
                "approach",
                "against",
                "procedure",
                "status",
                "kind",
                "notation",
                "confidence",
                "date",
                "judgedOn",
            )
            for text in texts(item)
        ]
    if isinstance(value, list):
        return [text for item in value for text in texts(item)]
    return [value] if isinstance(value, str) else []


def legal_bases(value: Any) -> list[dict[str, Any]]:
    """Every legal-basis entry of an answer."""
    if isinstance(value, dict):
        own = value.get("legalBasis", [])
        nested = [item for key, item in value.items() if key != "legalBasis"]
        return own + [b for item in nested for b in legal_bases(item)]
    if isinstance(value, list):
        return [b for item in value for b in legal_bases(item)]
    return []


def basis_lists(value: Any) -> list[list[dict[str, Any]]]:
    """The legal basis of each item of an answer, one list per item."""
    if isinstance(value, dict):
        own = [value["legalBasis"]] if "legalBasis" in value else []
        nested = [item for key, item in value.items() if key != "legalBasis"]
        return own + [b for item in nested for b in basis_lists(item)]
    if isinstance(value, list):
        return [b for item in value for b in basis_lists(item)]
    return []


def conditions_of(value: Any) -> list[dict[str, Any]]:
    """Every condition anywhere in an answer."""
    if isinstance(value, dict):
        own = value.get("conditions") if isinstance(value.get("conditions"), list) else []
        return own + [
            c for key, item in value.items() if key != "conditions" for c in conditions_of(item)
        ]
    if isinstance(value, list):
        return [c for item in value for c in conditions_of(item)]
    return []


def check(answer: dict[str, Any], expected: dict[str, Any], lang: str) -> None:
    # Nothing is stated without a source: every basis names a public source and its confidence.
    for basis in legal_bases(answer):
        assert basis["source"].startswith(("http://", "https://")), basis
        assert basis["confidence"] in ("high", "medium", "low"), basis
    # Every condition an answer names has its own legal basis (a reader sees it beside the
    # condition, not only in the item's).
    for condition in conditions_of(answer):
        assert condition["legalBasis"], condition["iri"]
    # Each basis once: an item two statements share a source with lists that source once.
    for item in basis_lists(answer):
        pairs = [(b["document"], b["article"], b["source"]) for b in item]
        assert len(pairs) == len(set(pairs)), pairs
    for stage, status in expected.get("stages", {}).items():
        found = finding(answer, stage)
        assert found["status"] == status, (stage, found["reason"])
        assert found["applies"] is (status == "applies")
    for stage, applies in expected.get("applies", {}).items():
        assert finding(answer, stage)["applies"] is applies
    for name, words in expected.get("reason", {}).items():
        assert words in finding(answer, name)["reason"], name
    for name, words in expected.get("reasonAbsent", {}).items():
        assert words not in finding(answer, name)["reason"], name
    for name, words in expected.get("exception", {}).items():
        assert words in (finding(answer, name)["exception"] or "")
    for name, fragments in expected.get("conditions", {}).items():
        labels = [c["label"] for c in finding(answer, name)["conditions"]]
        assert len(labels) == len(fragments)
        for fragment in fragments:
            assert any(fragment in label for label in labels), (fragment, labels)
    refund = answer["enforcement"]["advanceRefund"]
    for key, value in expected.get("advanceRefund", {}).items():
        assert refund[key] == value, key
    if "advanceRefundConditions" in expected:
        found = [c["iri"].rsplit("/", 1)[-1] for c in refund["conditions"]]
        assert sorted(found) == sorted(expected["advanceRefundConditions"])
    if "cap" in expected:
        assert refund["cap"] == expected["cap"]
    routes = {o["approach"]: o for o in answer["objections"]}
    if "routes" in expected:
        assert set(routes) == set(expected["routes"])
        for approach, want in expected["routes"].items():
            route = routes[approach]
            assert route["status"] == want["status"]
            assert route["available"] if "available" in route else True
            forum = route["forum"]["iri"].rsplit("/", 1)[-1] if route["forum"] else None
            assert forum == want["forum"]
            if "procedure" in want:
                assert route["procedure"] == want["procedure"]
    # The forums a source gives beside an approach's own, each with its status and conditions.
    for approach, wanted in expected.get("routeAlternatives", {}).items():
        found = [
            {
                "forum": other["forum"]["iri"].rsplit("/", 1)[-1],
                "status": other["status"],
                "conditions": sorted(c["iri"].rsplit("/", 1)[-1] for c in other["conditions"]),
            }
            for other in routes[approach]["alternatives"]
        ]
        assert found == wanted, (approach, found)
    for approach, notations in expected.get("routeConditions", {}).items():
        found = [c["iri"].rsplit("/", 1)[-1] for c in routes[approach]["conditions"]]
        assert sorted(found) == sorted(notations)
    for stage, wanted in expected.get("deadlines", {}).items():
        deadlines = finding(answer, stage)["deadlines"]
        for want in wanted:
            matches = [d for d in deadlines if want["label"] in d["label"]]
            assert len(matches) == 1, (want["label"], [d["label"] for d in deadlines])
            for key, value in want.items():
                if key != "label":
                    assert matches[0][key] == value, (want["label"], key)
    for stage, notations in expected.get("provisions", {}).items():
        found = {p["iri"].rsplit("/", 1)[-1] for p in finding(answer, stage)["provisions"]}
        assert set(notations) <= found, found
    for stage, notations in expected.get("provisionsAbsent", {}).items():
        found = {p["iri"].rsplit("/", 1)[-1] for p in finding(answer, stage)["provisions"]}
        assert not set(notations) & found, found
    for stage, phrases in expected.get("notStated", {}).items():
        assert finding(answer, stage)["notStated"] == phrases
    for fragment in expected.get("caveats", []):
        assert any(fragment in caveat for caveat in answer["caveats"]), fragment
    for fragment in expected.get("caveatsAbsent", []):
        assert not any(fragment in caveat for caveat in answer["caveats"]), fragment
    for fragment in expected.get("caveatsOnce", []):
        assert len([c for c in answer["caveats"] if fragment in c]) == 1, fragment
    if "decisions" in expected:
        assert answer["decisions"]
        for decision in answer["decisions"]:
            # Every remedy alike: a reason holds the words given, other keys equal.
            for key, want in expected["decisions"].items():
                if key == "reason":
                    assert want in decision["reason"], (decision["remedy"], decision["reason"])
                elif key == "conditions":
                    found = [c["iri"].rsplit("/", 1)[-1] for c in decision["conditions"]]
                    assert sorted(found) == sorted(want), (decision["remedy"], found)
                else:
                    assert decision[key] == want, (decision["remedy"], key, decision[key])
    if "decisionsCount" in expected:
        assert len(answer["decisions"]) == expected["decisionsCount"]
    for name, pairs in expected.get("basisOnly", {}).items():
        bases = finding(answer, name)["legalBasis"]
        assert [[b["article"], b["source"]] for b in bases if b["article"]] == pairs
    # A pair's confidence is its source's own grade, whatever the statement's.
    for source, grade in expected.get("sourceConfidence", {}).items():
        citing = [b["confidence"] for b in legal_bases(answer) if b["source"] == source]
        assert citing and set(citing) == {grade}, (source, citing)
    for name, sources in expected.get("notCitedBy", {}).items():
        assert not {b["source"] for b in finding(answer, name)["legalBasis"]} & set(sources)
    # Each of these sources is cited by the finding (e.g. both sides of a tension).
    for name, sources in expected.get("citedBy", {}).items():
        cited = {b["source"] for b in finding(answer, name)["legalBasis"]}
        assert set(sources) <= cited, (name, sorted(cited))
    for name, articles in expected.get("noArticle", {}).items():
        assert not {b["article"] for b in finding(answer, name)["legalBasis"]} & set(articles)
    every_text = "\n".join(texts(answer))
    for fragment in expected.get("noText", []):
        assert fragment not in every_text, fragment
    for fragment in expected.get("text", []):
        assert fragment in every_text, fragment
    # Every provision shown says what it provides: in English every provision has its text.
    if lang == "en":
        for stage in answer["stages"]:
            for provision in stage["provisions"]:
                assert provision["text"], provision["iri"]
    if expected.get("whollyChinese"):
        # Proper names (SGS, HKIAC) may stay in Latin letters; English prose may not.
        for text in texts(answer):
            assert not re.search(r"\b[a-z]{2,} [a-z]{2,}\b", text), text


ROWS = MATRIX["rows"]


@pytest.mark.parametrize(
    "row", ROWS, ids=[f"{r['channel']}-{r['role']}-{r['claim']}" for r in ROWS]
)
def test_every_claim_type_channel_and_role(engine: LookupEngine, row: dict[str, Any]) -> None:
    request = {key: row[key] for key in ("channel", "role", "claim")} | {"asOf": MATRIX["asOf"]}
    if "error" in row["expected"]:
        with pytest.raises(LookupInputError) as raised:
            engine.facts_from_json(request)
        assert raised.value.field == row["expected"]["error"]
        assert row["claim"] not in raised.value.allowed
        return
    answer = engine.lookup(engine.facts_from_json(request)).json
    assert finding(answer, "mediation")["status"] == row["expected"]["mediation"]


FOREIGN_COURT_CASE = """@prefix odr: <https://w3id.org/odr-kg/def/> .
<urn:c> a odr:Case ; odr:channel <https://w3id.org/odr-kg/id/channel/trade-assurance> ;
    odr:claimType <https://w3id.org/odr-kg/id/claim/quality> ; odr:complainant [ a odr:Buyer ] ;
    odr:objection [ a odr:Objection ] ;
    odr:transaction [ a odr:TransactionContract ;
        odr:receivedOn "2026-11-20"^^<http://www.w3.org/2001/XMLSchema#date> ;
        odr:goodsReceivedOn "2026-11-20"^^<http://www.w3.org/2001/XMLSchema#date> ;
        odr:amountPaid [ a <http://schema.org/MonetaryAmount> ; <http://schema.org/value> 100.0 ;
            <http://schema.org/currency> "USD" ] ;
        odr:forumClause [ a odr:ForumClause ;
        odr:forumChoice <https://w3id.org/odr-kg/id/forum-choice/foreign-court> {exclusive} ] ] .
"""


@pytest.mark.parametrize(
    ("exclusive", "conditions"),
    [
        ("", ["chinese-supplier", "no-exclusive-foreign-court"]),
        ("; odr:exclusiveJurisdiction false", ["chinese-supplier"]),
        ("; odr:exclusiveJurisdiction true", []),
    ],
)
def test_a_case_graph_says_whether_the_foreign_court_clause_is_exclusive(
    client: FlaskClient, exclusive: str, conditions: list[str]
) -> None:
    response = client.post(
        "/api/lookup?asOf=2026-11-27",
        data=FOREIGN_COURT_CASE.replace("{exclusive}", exclusive),
        content_type="text/turtle",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    (route,) = [o for o in response.get_json()["objections"] if o["approach"] == "B"]
    # The contract's foreign court is the approach's own forum; the Chinese courts, where the
    # clause leaves them open, an alternative beside it with the source's conditions.
    assert route["conditions"] == []
    found = [
        c["iri"].rsplit("/", 1)[-1] for other in route["alternatives"] for c in other["conditions"]
    ]
    assert sorted(found) == conditions


def test_a_case_graph_with_a_bad_exclusivity_is_refused_naming_it(client: FlaskClient) -> None:
    response = client.post(
        "/api/lookup?asOf=2026-11-27",
        data=FOREIGN_COURT_CASE.replace("{exclusive}", '; odr:exclusiveJurisdiction "yes"'),
        content_type="text/turtle",
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "exclusiveJurisdiction" in response.get_json()["error"]["field"]
