"""The lookup's JSON API and web form: content types, languages, and each kind of bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient


@pytest.fixture
def client(any_app: Flask) -> FlaskClient:
    """Each test here runs on the embedded store and on an Oxigraph server."""
    return any_app.test_client()


ROOT = Path(__file__).resolve().parents[1]
REQUEST = {
    "role": "buyer",
    "channel": "trade-assurance",
    "claim": "non-delivery",
    "paid": {"amount": "12000.00", "currency": "USD"},
    "guarantee": {"amount": 5000, "currency": "USD"},
    "asOf": "2026-11-27",
    "dissatisfiedWithDecision": True,
}

# The claim types of the sources (FACTS.md section 2b), in the order the API lists them.
CLAIM_TYPES = [
    "damage",
    "late-shipment",
    "non-delivery",
    "non-payment",
    "other",
    "quality",
    "shortage",
]


def test_lookup_answers_json(client: FlaskClient) -> None:
    response = client.post("/api/lookup", json=REQUEST)
    assert response.status_code == 200
    answer = response.get_json()
    assert set(answer) == {"stages", "decisions", "enforcement", "objections", "caveats"}
    assert answer["enforcement"]["advanceRefund"]["cap"] == {"amount": "5000.00", "currency": "USD"}


def test_lookup_answers_turtle_when_asked(client: FlaskClient) -> None:
    response = client.post("/api/lookup", json=REQUEST, headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.mimetype == "text/turtle"
    triples = list(ox.parse(response.data, ox.RdfFormat.TURTLE))
    assert any(t.predicate.value.endswith("lookup/basedOn") for t in triples)


@pytest.mark.parametrize(
    ("query", "headers"), [({"lang": "zh"}, {}), ({}, {"Accept-Language": "zh-CN,zh;q=0.9"})]
)
def test_chinese_labels(
    client: FlaskClient, query: dict[str, str], headers: dict[str, str]
) -> None:
    answer = client.post(
        "/api/lookup", json=REQUEST, query_string=query, headers=headers
    ).get_json()
    assert answer["stages"][0]["label"] == "在线调解"


def test_the_case_graphs_are_read_as_turtle_and_json_ld(client: FlaskClient) -> None:
    # The offline seller's complaint of payment not received after shipping holds on the
    # goods having been shipped, which the case graph does not say.
    for path, media_type, objection in (
        ("trade-assurance-non-delivery.ttl", "text/turtle", "applies"),
        ("offline-non-payment.jsonld", "application/ld+json", "conditional"),
    ):
        response = client.post(
            "/api/lookup",
            data=(ROOT / "cases" / path).read_bytes(),
            content_type=media_type,
            query_string={"asOf": "2026-11-27"},
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["stages"][3]["status"] == objection


def test_vocabulary_lists_the_claim_types_of_the_graph(client: FlaskClient) -> None:
    vocabulary = client.get("/api/vocabulary").get_json()
    assert [c["id"] for c in vocabulary["claim"]] == CLAIM_TYPES
    assert {r["id"] for r in vocabulary["role"]} == {"buyer", "seller"}
    assert {c["id"] for c in vocabulary["contractForum"]} == {
        "arbitration",
        "chinese-court",
        "foreign-court",
        "none",
        "unknown",
    }


def test_validate_summarises_and_gives_turtle(client: FlaskClient) -> None:
    case = (ROOT / "cases" / "trade-assurance-non-delivery.ttl").read_bytes()
    summary = client.post("/api/validate", data=case, content_type="text/turtle").get_json()
    assert summary["conforms"] is True
    invalid = (
        ROOT / "tests" / "cases" / "invalid" / "advance-refund-above-guarantee.ttl"
    ).read_bytes()
    report = client.post(
        "/api/validate", data=invalid, content_type="text/turtle", headers={"Accept": "text/turtle"}
    )
    assert report.mimetype == "text/turtle"
    assert b"ValidationResult" in report.data


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        (b"{", "application/json", 400, None),
        (b"role=buyer", "application/x-www-form-urlencoded", 415, None),
        (b"@prefix broken", "text/turtle", 400, None),
        (b'{"channel": "offline", "claim": "quality"}', "application/json", 422, "role"),
        (
            b'{"role": "buyer", "channel": "offline", "claim": "late"}',
            "application/json",
            422,
            "claim",
        ),
        (
            b'{"role": "buyer", "channel": "post", "claim": "quality"}',
            "application/json",
            422,
            "channel",
        ),
        (
            b'{"role": "buyer", "channel": "offline", "claim": "quality", "contractForum": "moon"}',
            "application/json",
            422,
            "contractForum",
        ),
        (
            b'{"role": "buyer", "channel": "offline", "claim": "quality", "paid": {"amount": "-5", "currency": "USD"}}',  # noqa: E501
            "application/json",
            422,
            "paid.amount",
        ),
        (
            b'{"role": "buyer", "channel": "offline", "claim": "quality", "receivedOn": "2026-13-01"}',  # noqa: E501
            "application/json",
            422,
            "receivedOn",
        ),
        (
            b'{"role": "buyer", "channel": "trade-assurance", "claim": "quality", "paid": {"amount": "5", "currency": "USD"}, "guarantee": {"amount": "5", "currency": "EUR"}}',  # noqa: E501
            "application/json",
            422,
            "guarantee.currency",
        ),
    ],
)
def test_bad_input_gets_a_clear_answer(
    client: FlaskClient, body: bytes, content_type: str, status: int, field: str | None
) -> None:
    response = client.post("/api/lookup", data=body, content_type=content_type)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["status"] == status
    if field is not None:
        assert error["field"] == field
    if field in ("claim", "channel", "role", "contractForum"):
        assert error["allowed"]


def test_unknown_claim_lists_the_allowed_values(client: FlaskClient) -> None:
    error = client.post("/api/lookup", json={**REQUEST, "claim": "late"}).get_json()["error"]
    assert error["allowed"] == CLAIM_TYPES


def test_a_claim_that_does_not_fit_the_role_is_refused_by_name(client: FlaskClient) -> None:
    error = client.post(
        "/api/lookup", json={**REQUEST, "role": "buyer", "claim": "non-payment"}
    ).get_json()["error"]
    assert error["field"] == "claim"
    assert "non-payment" not in error["allowed"] and "non-delivery" in error["allowed"]


def test_every_problem_of_a_request_is_named_at_once(client: FlaskClient) -> None:
    response = client.post(
        "/api/lookup",
        json={**REQUEST, "openedAt": "2026-01-01", "paid": {"amount": "5E+3", "currency": "USD"}},
    )
    assert response.status_code == 422
    fields = {problem["field"] for problem in response.get_json()["error"]["errors"]}
    assert fields == {"openedAt", "paid.amount"}


def test_bodies_over_one_mebibyte_are_refused(client: FlaskClient) -> None:
    response = client.post(
        "/api/lookup", data=b" " * (1024 * 1024 + 1), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["status"] == 413


def test_the_form_is_named_like_the_json_keys(client: FlaskClient) -> None:
    page = client.get("/lookup").get_data(as_text=True)
    for name in (
        "role",
        "channel",
        "claim",
        "paidAmount",
        "paidCurrency",
        "guaranteeAmount",
        "guaranteeCurrency",
        "receivedOn",
        "asOf",
        "dissatisfiedWithDecision",
        "contractForum",
    ):
        assert f'name="{name}"' in page
        assert f'<label for="{name}"' in page
    assert 'method="get"' in page
    assert "<script" not in page and "http://" not in page.split("<body>")[1].split("<form")[0]


def test_the_answer_page_shows_the_flow_the_basis_and_the_downloads(client: FlaskClient) -> None:
    query = {
        "role": "buyer",
        "channel": "trade-assurance",
        "claim": "non-delivery",
        "paidAmount": "12000",
        "paidCurrency": "USD",
        "guaranteeAmount": "5000",
        "guaranteeCurrency": "USD",
        "asOf": "2026-11-27",
        "dissatisfiedWithDecision": "true",
        "contractForum": "none",
    }
    response = client.get("/lookup", query_string=query)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<svg" in page and "Approach A" in page and "Approach B" in page
    assert "5000.00 USD" in page
    # Legal-basis links resolve on this server.
    assert 'href="/eli/alibaba/trade-assurance-rules/part_A/art_2.4"' in page
    json_answer = client.get("/lookup.json", query_string=query).get_json()
    assert (
        json_answer
        == client.post(
            "/api/lookup",
            json={
                "role": "buyer",
                "channel": "trade-assurance",
                "claim": "non-delivery",
                "paid": {"amount": "12000", "currency": "USD"},
                "guarantee": {"amount": "5000", "currency": "USD"},
                "asOf": "2026-11-27",
                "dissatisfiedWithDecision": True,
                "contractForum": "none",
            },
        ).get_json()
    )
    assert client.get("/lookup.ttl", query_string=query).mimetype == "text/turtle"
    chinese = client.get("/lookup", query_string={**query, "lang": "zh"}).get_data(as_text=True)
    assert 'lang="zh-Hans"' in chinese and "在线调解" in chinese


def test_the_form_reports_a_bad_value(client: FlaskClient) -> None:
    response = client.get("/lookup", query_string={"role": "buyer", "channel": "offline"})
    assert response.status_code == 422
    assert 'role="alert"' in response.get_data(as_text=True)


# One form of date on every way in: YYYY-MM-DD --------------------------------------------

CASE_GRAPH = ROOT / "cases" / "trade-assurance-non-delivery.ttl"


@pytest.mark.parametrize(("written", "status"), [("2026-11-27", 200), ("20261127", 422)])
def test_a_date_reads_alike_in_json_and_beside_a_case_graph(
    client: FlaskClient, written: str, status: int
) -> None:
    by_json = client.post("/api/lookup", json={**REQUEST, "asOf": written})
    by_case = client.post(
        "/api/lookup",
        data=CASE_GRAPH.read_bytes(),
        content_type="text/turtle",
        query_string={"asOf": written},
    )
    form = {"role": "buyer", "channel": "trade-assurance", "claim": "quality", "asOf": written}
    by_form = client.get("/lookup.json", query_string=form)
    by_page = client.get("/lookup", query_string=form)
    assert [r.status_code for r in (by_json, by_case, by_form, by_page)] == [status] * 4
    if status == 422:
        for response in (by_json, by_case, by_form):
            assert response.get_json()["error"]["field"] == "asOf"


def test_a_date_in_a_case_graph_is_read_as_yyyy_mm_dd_too(client: FlaskClient) -> None:
    case = CASE_GRAPH.read_text().replace('"2026-10-01"^^xsd:date', '"20261001"^^xsd:date')
    response = client.post(
        "/api/lookup", data=case, content_type="text/turtle", query_string={"asOf": "2026-11-27"}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "odr:receivedOn"


def test_a_refused_date_is_quoted_only_in_part(client: FlaskClient) -> None:
    response = client.post("/api/lookup", json={**REQUEST, "goodsReceivedOn": "9" * 100_000})
    assert response.status_code == 422
    message = response.get_json()["error"]["message"]
    assert "is not a date YYYY-MM-DD" in message and len(message) < 100


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        # Two values of one fact: which is meant cannot be told, so none is picked.
        (
            "odr:channel channel:trade-assurance ;",
            "odr:channel channel:trade-assurance , channel:offline ;",
            "odr:channel",
        ),
        (
            '"2026-10-20"^^xsd:date ;',
            '"2026-10-20"^^xsd:date , "2026-10-21"^^xsd:date ;',
            "odr:openedOn",
        ),
        ("schema:value 12000.00", "schema:value 12000.00 , 13000.00", "schema:value"),
        # A date after the as-of date, refused as the JSON request refuses it.
        ('"2026-10-20"^^xsd:date ;', '"2099-10-20"^^xsd:date ;', "odr:openedOn"),
        # A currency with a line break after it.
        ('schema:currency "USD"', 'schema:currency "USD\\n"', "odr:amountPaid/schema:currency"),
    ],
)
def test_a_case_graph_states_each_fact_once_and_in_time(
    client: FlaskClient, old: str, new: str, field: str
) -> None:
    case = CASE_GRAPH.read_text()
    assert old in case
    response = client.post(
        "/api/lookup",
        data=case.replace(old, new, 1),
        content_type="text/turtle",
        query_string={"asOf": "2026-11-27"},
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["field"] == field


def test_a_currency_is_three_capital_letters_and_nothing_after_them(client: FlaskClient) -> None:
    paid = {"amount": "100", "currency": "USD\n"}
    response = client.post("/api/lookup", json={**REQUEST, "paid": paid})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "paid.currency"
    form = {"role": "buyer", "channel": "trade-assurance", "claim": "quality"}
    for code in ("usd\n", "u\u017fd"):
        answer = client.get(
            "/lookup.json", query_string={**form, "paidAmount": "1", "paidCurrency": code}
        )
        assert answer.status_code == 422, code


def test_a_refusal_hands_back_no_more_than_a_few_characters_of_each_problem(
    client: FlaskClient,
) -> None:
    long_value = client.post("/api/lookup", json={**REQUEST, "role": "x" * 400_000})
    assert long_value.status_code == 422 and len(long_value.get_data()) < 2_000
    many_keys = {str(number): 0 for number in range(50_000)}
    response = client.post("/api/lookup", json={**REQUEST, **many_keys, "k" * 200_000: 0})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert len(error["errors"]) == 20 and error["unlisted"] == 50_001 - 20
    assert len(response.get_data()) < 20_000


def test_ill_formed_literals_of_a_case_graph_do_not_fill_the_log(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    case = CASE_GRAPH.read_text().replace(
        "odr:Case ;",
        "odr:Case ;\n" + "".join(f'    rdfs:comment "{n}-99-99"^^xsd:date ;\n' for n in range(50)),
        1,
    )
    with caplog.at_level(logging.WARNING):
        response = client.post(
            "/api/lookup",
            data=case,
            content_type="text/turtle",
            query_string={"asOf": "2026-11-27"},
        )
    assert response.status_code in (200, 422)
    assert not [record for record in caplog.records if record.name.startswith("rdflib")]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"recievedOn": "2026-01-01"}, "recievedOn"),
        ({"dissatisfiedWithDecision": "maybe"}, "dissatisfiedWithDecision"),
    ],
)
def test_the_forms_answers_refuse_what_the_json_request_refuses(
    client: FlaskClient, extra: dict[str, str], field: str
) -> None:
    form = {"role": "buyer", "channel": "trade-assurance", "claim": "quality", **extra}
    for path in ("/lookup.json", "/lookup.ttl"):
        response = client.get(path, query_string=form)
        assert response.status_code == 422, path
    assert client.get("/lookup.json", query_string=form).get_json()["error"]["field"] == field
    assert client.get("/lookup", query_string=form).status_code == 422


def test_a_form_field_given_twice_is_refused(client: FlaskClient) -> None:
    query = "role=buyer&role=seller&channel=trade-assurance&claim=quality"
    response = client.get(f"/lookup.json?{query}")
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "role"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        # In the URL asOf is read beside a case graph only: with a JSON body it went unread.
        ({"asOf": "2020-01-01"}, "asOf"),
        ({"asOf": "not-a-date"}, "asOf"),
        # The answer came in English without a word.
        ({"lang": "fr"}, "lang"),
        ({"lang": "zh-CN"}, "lang"),
        ({"lang": ""}, "lang"),
    ],
)
def test_a_query_parameter_the_lookup_would_not_honour_is_refused_by_name(
    client: FlaskClient, query: dict[str, str], field: str
) -> None:
    response = client.post("/api/lookup", json=REQUEST, query_string=query)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == field and error["message"]


@pytest.mark.parametrize(
    ("fixture", "words"),
    [
        # Read on the transaction only: on the case it went unread, with a 200.
        ("not-yet-on-the-case.ttl", "odr:transaction only"),
        ("not-yet-and-dated.ttl", "odr:receivedOn dates it"),
    ],
)
def test_a_case_graph_with_not_yet_out_of_place_is_refused(
    client: FlaskClient, fixture: str, words: str
) -> None:
    turtle = (ROOT / "tests" / "cases" / "invalid" / fixture).read_text(encoding="utf-8")
    response = client.post("/api/lookup?asOf=2026-11-27", data=turtle, content_type="text/turtle")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "odr:notYet" and words in error["message"]


def test_an_over_long_url_is_told_to_use_post_only_where_the_address_takes_it(
    client: FlaskClient,
) -> None:
    form = client.get("/lookup", query_string={"role": "x" * 9000})
    assert form.status_code == 414 and "POST" not in form.get_data(as_text=True)
    sparql = client.get("/sparql", query_string={"query": "#" + "x" * 9000})
    assert sparql.status_code == 414 and "by POST" in sparql.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("put", "/api/lookup", 405),
        ("delete", "/api/vocabulary", 405),
        ("get", "/api/no-such-thing", 404),
        ("get", "/api/vocabulary?" + "q" * 9000, 414),
    ],
)
def test_the_api_refuses_in_json_also_before_any_view(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    # Refused in routing or before it (a method not allowed, an unknown address, an over-long
    # URL): an API client still gets the API's JSON error, saying what to do.
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == status and error["message"]
    if status == 405:
        assert "Allow" in response.headers
        assert all(m in error["message"] for m in response.headers["Allow"].split(", "))


@pytest.mark.parametrize(
    ("event", "shown"),
    [
        ('"confirmed-receipt"', '"confirmed-receipt"'),  # a literal, not the trigger's IRI
        ("<file:///etc/passwd>", "<file:///etc/passwd>"),
    ],
)
def test_a_case_graph_names_an_event_not_yet_by_its_iri(
    client: FlaskClient, event: str, shown: str
) -> None:
    case = (
        "@prefix odr: <https://w3id.org/odr-kg/def/> .\n"
        "<urn:c> a odr:Case ; odr:channel <https://w3id.org/odr-kg/id/channel/trade-assurance> ;"
        " odr:claimType <https://w3id.org/odr-kg/id/claim/quality> ;"
        " odr:complainant [ a odr:Buyer ] ;"
        f" odr:transaction [ a odr:TransactionContract ; odr:notYet {event} ] .\n"
    )
    response = client.post("/api/lookup?asOf=2026-11-27", data=case, content_type="text/turtle")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "odr:notYet"
    assert shown[:20] in error["message"]
    assert error["allowed"] == ["confirmed-receipt", "goods-received"]
