"""Bounded work: query time, rows, body and URL size, query shape, fair use per client.

The pathological queries run with ``timeout=1`` (a client may ask for less than the server's
limit), so each costs about a second. Nothing here asserts on time; the healthy query's
latency while five pathological ones run is printed, not asserted.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from odr_kg.limits import (
    ClientBudget,
    InvalidTimeoutError,
    OverBudgetError,
    QueryTooLargeError,
    check_query_shape,
    query_timeout,
)
from odr_kg.web import create_app
from odr_kg.web.security import BUDGET_KEY

CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
# Zero or more steps along any edge in either direction: every edge is a cycle.
PATH_ON_CYCLE = "SELECT (COUNT(*) AS ?n) WHERE { ?a (<urn:x:p>|!<urn:x:p>|^!<urn:x:p>)* ?b }"
REDOS = (
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?x . ?b ?q ?y "
    'FILTER(REGEX(CONCAT(STR(?x), STR(?y), "aaaaaaaaaaaaaaaaaaaaaaaaaaaa!"), "(a+)+$")) }'
)
PATHOLOGICAL = {"cartesian": CARTESIAN, "path-on-cycle": PATH_ON_CYCLE, "redos": REDOS}
HEALTHY = "SELECT ?class WHERE { ?class a <http://www.w3.org/2002/07/owl#Class> } LIMIT 5"
JSON_RESULTS = {"Accept": "application/sparql-results+json"}
SHAPE = {"max_length": 4000, "max_depth": 32, "max_patterns": 64, "max_operators": 256}


def nested(depth: int) -> str:
    return "SELECT * WHERE " + "{" * depth + " ?s ?p ?o " + "}" * depth


def patterns(count: int) -> str:
    return "SELECT * WHERE { " + " ".join(f"?s{i} ?p{i} ?o{i} ." for i in range(count)) + " }"


# The shape of a query, before parsing ------------------------------------------------------


def test_the_shape_check_passes_the_example_queries(client: FlaskClient) -> None:
    from odr_kg.sparql_protocol import example_queries

    for example in example_queries():
        check_query_shape(example["text"], 32 * 1024, 32, 64, 256)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("SELECT * WHERE { ?s ?p ?o }" + " " * 4000, "characters long"),
        (nested(40), "nests brackets"),
        ("SELECT * WHERE { FILTER(" + "(" * 40 + "1" + ")" * 40 + ") }", "nests brackets"),
        (patterns(90), "triple patterns"),
        ("SELECT * WHERE { ?s ?p " + ", ".join(f"'{i}'" for i in range(90)) + " }", "patterns"),
    ],
)
def test_the_shape_check_refuses(query: str, reason: str) -> None:
    with pytest.raises(QueryTooLargeError, match=reason):
        check_query_shape(query, **SHAPE)


def test_the_shape_check_ignores_strings_iris_and_comments() -> None:
    inert = "'" + "{" * 100 + "' <urn:x:" + "(" * 50 + "> # " + "." * 100 + "\n"
    check_query_shape(f"SELECT * WHERE {{ ?s ?p {inert} }}", **SHAPE)


@pytest.mark.parametrize("query", [nested(40), nested(2000), patterns(90), patterns(2000)])
def test_deep_and_long_queries_are_400_not_a_crash(client: FlaskClient, query: str) -> None:
    response = client.post("/sparql", data={"query": query})
    assert response.status_code == 400
    assert "limit" in response.text


def test_requested_timeouts() -> None:
    assert query_timeout(None, 10) == 10
    assert query_timeout("2.5", 10) == 2.5
    assert query_timeout("60", 10) == 10
    for bad in ("soon", "0", "-1", "nan", "inf"):
        with pytest.raises(InvalidTimeoutError):
            query_timeout(bad, 10)


# Fair use ----------------------------------------------------------------------------------


def test_a_client_may_run_so_many_queries_at_once() -> None:
    budget = ClientBudget(concurrency=2, seconds=30)
    with budget.admit("a"), budget.admit("a"):
        with pytest.raises(OverBudgetError) as refused:
            with budget.admit("a"):
                pass
        assert refused.value.retry_after >= 1
        with budget.admit("b"):
            pass
    with budget.admit("a"):
        pass


def test_a_client_may_use_so_much_query_time() -> None:
    budget = ClientBudget(concurrency=2, seconds=0.05)
    with budget.admit("a") as ticket:
        assert ticket.reserve(10) == pytest.approx(0.05)
        time.sleep(0.06)
        ticket.charge(0.06)
    with pytest.raises(OverBudgetError, match="the limit is 0.05 s") as refused:
        with budget.admit("a"):
            pass
    assert 1 <= refused.value.retry_after <= 60
    with budget.admit("b"):
        pass


def test_too_many_concurrent_queries_are_429(app: Flask, client: FlaskClient) -> None:
    budget = app.extensions[BUDGET_KEY]
    assert budget.concurrency == 1  # three workers by default: (3 - 1) // 2
    with budget.admit("127.0.0.1"):
        response = client.get("/sparql", query_string={"query": HEALTHY})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert client.get("/sparql", query_string={"query": HEALTHY}).status_code == 200


# Time limits -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bounded_app() -> Flask:
    return create_app({"TESTING": True, "CLIENT_QUERY_SECONDS": 600})


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_a_query_past_its_time_is_stopped(bounded_app: Flask, name: str) -> None:
    client = bounded_app.test_client()
    response = client.get(
        "/sparql", query_string={"query": PATHOLOGICAL[name], "timeout": "1"}, headers=JSON_RESULTS
    )
    assert response.status_code in (503, 504), response.text
    assert "was stopped" in response.text
    # The worker it ran in was replaced: the next query is answered.
    healthy = client.get("/sparql", query_string={"query": HEALTHY}, headers=JSON_RESULTS)
    assert healthy.status_code == 200


def test_query_time_over_the_budget_is_429() -> None:
    client = create_app({"TESTING": True, "CLIENT_QUERY_SECONDS": 0.5}).test_client()
    # The query may run 1 s, but its client has 0.5 s left: it is stopped then.
    first = client.get("/sparql", query_string={"query": CARTESIAN, "timeout": "1"})
    assert first.status_code == 429
    assert "your request was stopped" in first.text
    refused = client.get("/sparql", query_string={"query": HEALTHY})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "the limit is 0.5 s" in refused.text


def test_answers_are_cut_at_the_row_cap() -> None:
    client = create_app({"TESTING": True, "MAX_ROWS": 7}).test_client()
    query = "SELECT * WHERE { ?s ?p ?o } LIMIT 20"
    cut = client.get("/sparql", query_string={"query": query}, headers=JSON_RESULTS)
    assert cut.status_code == 200
    assert cut.headers["X-ODR-Truncated"] == "true"
    assert len(cut.json["results"]["bindings"]) == 7
    graph = client.get(
        "/sparql",
        query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 20", "format": "ntriples"},
    )
    assert graph.headers["X-ODR-Truncated"] == "true"
    assert len(graph.data.splitlines()) == 7
    page = client.get("/sparql", query_string={"query": query}, headers={"Accept": "text/html"})
    assert page.headers["X-ODR-Truncated"] == "true"
    assert 'id="truncated"' in page.text
    whole = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
    assert "X-ODR-Truncated" not in whole.headers


# Sizes and the protocol's refusals -------------------------------------------------------


def test_status_codes_of_the_limits(client: FlaskClient) -> None:
    big = "SELECT * WHERE { ?s ?p ?o }" + " " * (1024 * 1024)
    assert (
        client.post("/sparql", data=big, content_type="application/sparql-query").status_code == 413
    )
    assert client.post("/api/lookup", data=big, content_type="application/json").status_code == 413
    assert client.post("/api/validate", data=big, content_type="text/turtle").status_code == 413
    assert client.get("/sparql", query_string={"query": "#" + "x" * 9000}).status_code == 414
    assert client.get("/lookup", query_string={"role": "x" * 9000}).status_code == 414
    assert (
        client.get(
            "/sparql", query_string={"query": HEALTHY}, headers={"Accept": "image/png"}
        ).status_code
        == 406
    )
    assert client.post("/sparql", data=HEALTHY, content_type="text/plain").status_code == 415
    assert client.put("/sparql", data=HEALTHY).status_code == 405
    assert client.delete("/api/lookup").status_code == 405
    assert client.get("/sparql", query_string={"query": HEALTHY, "timeout": "x"}).status_code == 400


def test_a_federation_allow_list_lets_named_endpoints_through() -> None:
    allowed = "http://127.0.0.1:9/sparql"
    client = create_app({"TESTING": True, "FEDERATION_ALLOW": [allowed]}).test_client()
    other = client.get(
        "/sparql", query_string={"query": "SELECT * { SERVICE <http://127.0.0.1:8/> {} }"}
    )
    assert other.status_code == 400 and "not allowed" in other.text
    variable = client.get("/sparql", query_string={"query": "SELECT * { SERVICE ?x {} }"})
    assert variable.status_code == 400
    # The allowed endpoint reaches the engine, which finds nothing listening on port 9.
    called = client.get(
        "/sparql",
        query_string={"query": f"SELECT * {{ SERVICE SILENT <{allowed}> {{ ?s ?p ?o }} }}"},
        headers=JSON_RESULTS,
    )
    assert called.status_code in (200, 502), called.text


# A live server: five pathological queries and a healthy one ------------------------------


def test_a_healthy_query_answers_while_five_pathological_ones_run(
    start_server: Callable[..., str],
) -> None:
    url = start_server(
        "--query-workers", "6", "--client-concurrency", "8", "--client-query-seconds", "600"
    )

    def get(query: str, timeout: str | None = None) -> tuple[int, bytes]:
        parameters = {"query": query, **({"timeout": timeout} if timeout else {})}
        request = urllib.request.Request(
            f"{url}/sparql?{urllib.parse.urlencode(parameters)}", headers=JSON_RESULTS
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    assert get(HEALTHY)[0] == 200
    queries = [CARTESIAN, PATH_ON_CYCLE, REDOS, CARTESIAN, PATH_ON_CYCLE]
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda q=q: statuses.append(get(q, "3")[0])) for q in queries
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # let them start; the healthy query is correct whatever the timing
    started = time.perf_counter()
    status, body = get(HEALTHY)
    latency = time.perf_counter() - started
    still_running = sum(thread.is_alive() for thread in threads)
    for thread in threads:
        thread.join(60)
    print(f"healthy query: {latency * 1000:.0f} ms with {still_running} pathological running")
    assert status == 200
    assert len(json.loads(body)["results"]["bindings"]) == 5
    assert sorted(statuses) == [503] * 5
