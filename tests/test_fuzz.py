"""Fuzzing through the Flask test client: generated SPARQL, generated lookup JSON and the
OpenAPI description of ``/api/*`` (schemathesis). No answer may be a server error.

A small sample here; ``bench/fuzz.py`` sends at least 10,000 requests to a live server.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odr_kg.web import create_app
from odr_kg.web.lookup import FORM_FIELDS
from odr_kg.web.openapi import SPEC

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# Pieces of SPARQL that matter to the guards, the tokenizer and the parser.
SPARQL_PIECES = [
    "SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "WHERE", "FROM", "NAMED", "GRAPH", "SERVICE",
    "SILENT", "LOAD", "INSERT", "DATA", "FILTER", "REGEX", "OPTIONAL", "UNION", "VALUES",
    "LIMIT 3", "*", "?s", "?p", "?o", "$x", "a", "owl:Class", "<urn:x:a>",
    "<file:///etc/passwd>", "<http://127.0.0.1:9/>", "'''", '"', "'x'", "\"\"\"", "#", "\n",
    "{", "}", "(", ")", "[", "]", ".", ";", ",", "|", "/", "^", "!", "+", "1.5", "PREFIX",
    "BASE", ":", "_:b", "<<", ">>", "\\", "\x00", "é", "𝄞",
]  # fmt: skip
sparql_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(SPARQL_PIECES), max_size=40).map(" ".join),
    st.lists(st.sampled_from(SPARQL_PIECES), max_size=40).map("".join),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
lookup_keys = st.sampled_from([*FORM_FIELDS, "paid", "guarantee", "amount", "currency"])
lookup_json = st.one_of(
    json_values,
    st.dictionaries(lookup_keys, json_values, max_size=8),
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["buyer", "seller", "x", ""]),
            "channel": st.sampled_from(["trade-assurance", "offline", ""]),
            "claim": st.sampled_from(["non-delivery", "damage", "non-payment", "?"]),
        },
        optional={
            "paid": st.fixed_dictionaries({"amount": json_values, "currency": json_values}),
            "receivedOn": json_values,
            "asOf": json_values,
            "dissatisfiedWithDecision": json_values,
            "contractForum": json_values,
        },
    ),
)


@pytest.fixture(scope="module")
def fuzz_client() -> FlaskClient:
    # Enough query time for every example: the budget is not what is being fuzzed here.
    app = create_app({"TESTING": True, "CLIENT_QUERY_SECONDS": 3600, "QUERY_TIMEOUT": 5})
    return app.test_client()


@EXAMPLES
@given(query=sparql_text, method=st.sampled_from(["GET", "POST", "DIRECT"]))
def test_generated_sparql_is_never_a_server_error(
    fuzz_client: FlaskClient, query: str, method: str
) -> None:
    client = fuzz_client
    if method == "GET":
        response = client.get("/sparql", query_string={"query": query})
    elif method == "POST":
        response = client.post("/sparql", data={"query": query})
    else:
        response = client.post(
            "/sparql", data=query.encode("utf-8", "surrogatepass"),
            content_type="application/sparql-query",
        )  # fmt: skip
    assert response.status_code < 500 or response.status_code == 503, response.text


@EXAMPLES
@given(body=lookup_json, lang=st.sampled_from([None, "en", "zh", "xx"]))
def test_generated_lookup_json_is_never_a_server_error(
    fuzz_client: FlaskClient, body: Any, lang: str | None
) -> None:
    client = fuzz_client
    response = client.post(
        "/api/lookup",
        data=json.dumps(body),
        content_type="application/json",
        query_string={"lang": lang} if lang else {},
    )
    assert response.status_code < 500, response.text
    form = {key: str(value) for key, value in body.items()} if isinstance(body, dict) else {}
    page = client.get("/lookup", query_string=form)
    assert page.status_code < 500, page.text


# The case graph media types carry text: schemathesis sends the generated string as it is.
schemathesis.serializer.alias("application/n-triples", "text/plain")
schema = schemathesis.openapi.from_dict(SPEC)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_as_described_is_never_a_server_error(
    fuzz_client: FlaskClient, case: schemathesis.Case
) -> None:
    client = fuzz_client
    kwargs = case.as_transport_kwargs()
    response = client.open(
        kwargs["url"],
        method=kwargs["method"],
        headers=kwargs.get("headers"),
        query_string=kwargs.get("params"),
        data=kwargs.get("data") if kwargs.get("json") is None else json.dumps(kwargs["json"]),
    )
    assert response.status_code < 500, response.text
