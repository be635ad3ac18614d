"""Bounded work: query time, rows, body and URL size, query shape, fair use per client.

The pathological queries run with ``timeout=1`` (a client may ask for less than the server's
limit), so each costs about a second. Nothing here asserts on time; the healthy query's
latency while five pathological ones run is printed, not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from odr_kg.client_budget import ClientBudget, OverBudgetError
from odr_kg.limits import (
    InvalidTimeoutError,
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
    from odr_kg.workbench import example_queries

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
        # "<((…))&&?x>" reads as an IRI to a tokenizer, as brackets to the engine.
        (
            "SELECT * WHERE { ?a ?b ?c FILTER(?a<" + "(" * 40 + "?b" + ")" * 40 + "&&?x>?c) }",
            "nests brackets",
        ),
        (
            "SELECT * WHERE { ?a ?b ?c FILTER(IF(?a<(" + "*".join(["?b"] * 300) + "),?x>?c,1)) }",
            "operators",
        ),
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


def test_a_query_over_the_length_limit_is_refused_before_it_is_read(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reading a query (its tokens) costs time in proportion to its length: a megabyte took
    # seconds of the web process's time before its length was checked.
    from odr_kg import sparql_protocol

    def read(query: str) -> list[str]:
        raise AssertionError("the query was read before its length was checked")

    monkeypatch.setattr(sparql_protocol, "keywords", read)
    body = "<" * 40_000
    response = client.post("/sparql", data=body, content_type="application/sparql-query")
    assert response.status_code == 400
    assert "characters long" in response.text


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


@pytest.mark.parametrize(
    "query",
    [
        # Twenty values of 1 MiB each (a doubling chain of CONCAT), and one of 16 MiB.
        "SELECT ?v WHERE { VALUES ?n { "
        + " ".join(map(str, range(20)))
        + " } "
        + "BIND(CONCAT(STR(?n), '-') AS ?v0) "
        + " ".join(f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1})" for i in range(19))
        + " BIND(?v19 AS ?v) }",
        "SELECT ?v WHERE { BIND('xx' AS ?v0) "
        + " ".join(f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1})" for i in range(23))
        + " BIND(?v23 AS ?v) }",
        "CONSTRUCT { ?s <urn:x:p> ?v } WHERE { VALUES ?s { <urn:x:a> <urn:x:b> <urn:x:c> } "
        + "BIND('xxxx' AS ?v0) "
        + " ".join(f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1})" for i in range(20))
        + " BIND(?v20 AS ?v) }",
    ],
)
def test_answers_are_cut_at_the_size_cap(client: FlaskClient, query: str) -> None:
    for accept in (
        "application/sparql-results+json, application/n-triples",
        "text/csv, text/turtle",
        "text/html",
    ):
        response = client.post("/sparql", data={"query": query}, headers={"Accept": accept})
        assert response.status_code == 200, response.text[:500]
        assert response.headers["X-ODR-Truncated"] == "true"
        assert len(response.data) < 10 * 1024 * 1024


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
        "--query-workers",
        "6",
        "--client-concurrency",
        "8",
        "--client-query-seconds",
        "600",
        # Workers still starting on a busy machine would leave the five waiting: not the point.
        "--max-waiting",
        "8",
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


# Expressions without brackets, JSON bodies, case graphs: bounds named in the answer ----------


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { FILTER(" + "!" * 10_000 + "true) }",
        "SELECT (" + "+".join(["1"] * 8_000) + " AS ?x) WHERE {}",
        "SELECT * WHERE { FILTER(" + "||".join(["true"] * 3_000) + ") }",
        "SELECT * WHERE { FILTER(" + " && ".join(["?a = 1"] * 300) + ") }",
        "SELECT * WHERE { FILTER(" + "-" * 5_000 + "1 < 2) }",
        "SELECT * WHERE { ?s " + "/".join(["<urn:x:p>"] * 2_000) + " ?o }",
        "SELECT * WHERE { ?s " + "|".join(["<urn:x:p>"] * 2_000) + " ?o }",
        "SELECT * WHERE { ?s " + "^" * 3_000 + "<urn:x:p> ?o }",
        "SELECT * WHERE { ?a ?b ?c FILTER(?a<" + "/".join(["1"] * 3_000) + "&&?x>?c) }",
        "SELECT * WHERE { ?a ?b ?c FILTER(?a<" + "+".join(["?b"] * 3_000) + "||?x>?c) }",
    ],
)
def test_long_expressions_are_400_before_evaluation(client: FlaskClient, query: str) -> None:
    for response in (
        client.post("/sparql", data={"query": query}),
        client.post("/sparql", data=query, content_type="application/sparql-query"),
    ):
        assert response.status_code == 400, response.text
        assert "operators" in response.text and "the limit is 256" in response.text


def nested_json(depth: int, kind: str) -> str:
    if kind == "objects":
        return '{"a":' * depth + "1" + "}" * depth
    if kind == "arrays":
        return "[" * depth + "1" + "]" * depth
    return '{"role":' + '[{"x":' * (depth // 2) + "1" + "}]" * (depth // 2) + "}"


@pytest.mark.parametrize("kind", ["objects", "arrays", "mixed"])
@pytest.mark.parametrize("depth", [40, 1_000, 100_000])
def test_deep_json_is_400_naming_the_bound(client: FlaskClient, kind: str, depth: int) -> None:
    response = client.post(
        "/api/lookup", data=nested_json(depth, kind), content_type="application/json"
    )
    assert response.status_code == 400, response.text
    assert "nests objects and arrays more than 32 deep" in response.json["error"]["message"]


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("1" * 5_000, "has 5000 characters; the limit is 40"),
        ("1." + "0" * 5_000, "the limit is 40"),
        ("1e" + "9" * 100, "the limit is 40"),
        ("-" + "9" * 41, "the limit is 40"),
        ("NaN", "NaN is not JSON"),
        ("Infinity", "Infinity is not JSON"),
    ],
)
def test_numbers_too_long_for_json_are_400(client: FlaskClient, number: str, problem: str) -> None:
    body = '{"role": "buyer", "channel": "offline", "claim": "non-delivery", "paid": ' + number
    response = client.post("/api/lookup", data=body + "}", content_type="application/json")
    assert response.status_code == 400, response.text
    assert problem in response.json["error"]["message"]


@pytest.mark.parametrize("path", ["/api/lookup", "/api/validate"])
@pytest.mark.parametrize("depth", [100, 5_000])
def test_deep_json_ld_is_400_before_any_parser(client: FlaskClient, path: str, depth: int) -> None:
    document = '{"@id":"urn:a","urn:p":' * depth + '"x"' + "}" * depth
    response = client.post(path, data=document, content_type="application/ld+json")
    assert response.status_code == 400, response.text
    assert "the limit is 32" in response.json["error"]["message"]


def context_chain(terms: int) -> str:
    """JSON-LD whose context defines each term by the one before: the parser recurses once a
    term, and overflows its stack at some tens of thousands."""
    context = {"t0": "urn:x:"} | {f"t{i}": f"t{i - 1}:a" for i in range(1, terms)}
    return json.dumps({"@context": context, "@id": "urn:x:a", f"t{terms - 1}:p": "x"})


@pytest.mark.parametrize("path", ["/api/lookup", "/api/validate"])
@pytest.mark.parametrize("terms", [1_001, 30_000])
def test_long_json_ld_context_chains_are_400(client: FlaskClient, path: str, terms: int) -> None:
    response = client.post(path, data=context_chain(terms), content_type="application/ld+json")
    assert response.status_code == 400, response.text
    assert f"define {terms} terms; the limit is 1000" in response.json["error"]["message"]
    assert client.get("/health").status_code == 200


def test_a_context_chain_in_a_case_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    case = tmp_path / "chain.jsonld"
    case.write_text(context_chain(30_000))
    done = subprocess.run(
        [sys.executable, "-m", "odr_kg", "validate", str(case)], capture_output=True, text=True
    )
    assert done.returncode not in (0, -11), done.stderr
    assert "the limit is 1000" in done.stdout + done.stderr


def _bare_cases(count: int) -> str:
    prefix = "@prefix odr: <https://w3id.org/odr-kg/def/> .\n"
    return prefix + "".join(f"<urn:x:case{i}> a odr:Case .\n" for i in range(count))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (_bare_cases(11), "describes 11 cases; the limit is 10"),
        (
            "".join(f"<urn:x:s> <urn:x:p> {i} .\n" for i in range(2_001)),
            "holds 2001 triples; the limit is 2000",
        ),
    ],
)
@pytest.mark.parametrize("path", ["/api/validate", "/api/lookup"])
def test_too_much_work_in_one_case_graph_is_413(
    client: FlaskClient, body: str, problem: str, path: str
) -> None:
    response = client.post(path, data=body, content_type="text/turtle")
    assert response.status_code == 413, response.text
    assert problem in response.json["error"]["message"]


def test_validation_runs_under_a_time_limit() -> None:
    client = create_app({"TESTING": True, "VALIDATION_TIMEOUT": 0.001}).test_client()
    response = client.post("/api/validate", data=_bare_cases(3), content_type="text/turtle")
    assert response.status_code == 503
    assert "was stopped" in response.json["error"]["message"]


def test_validation_counts_against_the_clients_share() -> None:
    client = create_app({"TESTING": True, "CLIENT_QUERY_SECONDS": 0.001}).test_client()
    first = client.post("/api/validate", data=_bare_cases(3), content_type="text/turtle")
    assert first.status_code in (200, 429)
    refused = client.post("/api/validate", data=_bare_cases(3), content_type="text/turtle")
    assert refused.status_code == 429
    assert "worker time" in refused.json["error"]["message"]
    assert int(refused.headers["Retry-After"]) >= 1


def test_a_memory_bomb_is_503_and_the_next_query_answers() -> None:
    client = create_app({"TESTING": True, "WORKER_MEMORY_MB": 300}).test_client()
    inner = '"aaaaaaaaaa"'
    for _ in range(12):
        inner = f'REPLACE({inner}, "a", "aaaaaaaaaa")'
    bomb = f"SELECT (STRLEN({inner}) AS ?n) WHERE {{}}"
    response = client.get("/sparql", query_string={"query": bomb}, headers=JSON_RESULTS)
    assert response.status_code == 503
    assert "300 MiB of memory a worker may use" in response.text
    assert client.get("/sparql", query_string={"query": HEALTHY}).status_code == 200


def test_head_answers_like_get(client: FlaskClient) -> None:
    for query_string, headers in (({}, {}), ({"query": HEALTHY}, JSON_RESULTS)):
        got = client.get("/sparql", query_string=query_string, headers=headers)
        head = client.head("/sparql", query_string=query_string, headers=headers)
        assert head.status_code == got.status_code == 200
        assert head.headers["Content-Type"] == got.headers["Content-Type"]
        assert head.data == b""


# The one table of limits -------------------------------------------------------------------


def test_every_limit_is_documented_and_an_option_where_it_says() -> None:
    from odr_kg.cli import build_parser
    from odr_kg.limits import LIMITS
    from odr_kg.serving import limit_options

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for limit in LIMITS:
        assert f"`{limit.key}`" in readme, limit.key
        if limit.option:
            assert f"`{limit.option}`" in readme, limit.option
    args = build_parser().parse_args(
        ["serve", "--no-sandbox", "--worker-memory", "512", "--query-timeout", "2.5",
         "--allow-service", "http://a.example/", "--allow-service", "http://b.example/"]
    )  # fmt: skip
    assert limit_options(args) == {
        "SANDBOX": False,
        "WORKER_MEMORY_MB": 512,
        "QUERY_TIMEOUT": 2.5,
        "FEDERATION_ALLOW": ["http://a.example/", "http://b.example/"],
    }
    assert limit_options(build_parser().parse_args(["serve"])) == {}


def test_client_concurrency_follows_the_pool_size() -> None:
    from odr_kg.client_budget import client_concurrency

    assert [client_concurrency(None, workers) for workers in (1, 2, 3, 5, 8)] == [1, 1, 1, 2, 3]
    assert client_concurrency(4, 3) == 4


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::/64"),
    ],
)
def test_an_ipv6_client_counts_by_its_64_network(address: str, counted_as: str) -> None:
    from odr_kg.web.security import client_address

    app = create_app({"TESTING": True})
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": address}):
        assert client_address() == counted_as
