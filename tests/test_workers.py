"""The worker pool: what kills a worker costs only that request; a job that slips past every
check before the workers is still stopped by the OS; workers go to the client holding fewest;
waiting is not charged."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from odr_kg.client_budget import ClientBudget
from odr_kg.jobs import CaseBounds, JobFailedError, ParseJob, QueryJob
from odr_kg.store import KnowledgeStore
from odr_kg.validation import UnreadableCaseError
from odr_kg.worker_process import WorkerOptions
from odr_kg.workers import (
    JobTimeoutError,
    MemoryLimitError,
    WorkerBusyError,
    WorkerCrashedError,
    WorkerPool,
)
from test_sparql_tokens import Canary

ASK = QueryJob.of("ASK { ?s ?p ?o }", None, None, None, 10)
CARTESIAN = QueryJob.of(
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }", None, None, None, 10
)


def replace_bomb(levels: int) -> str:
    inner = '"aaaaaaaaaa"'
    for _ in range(levels):
        inner = f'REPLACE({inner}, "a", "aaaaaaaaaa")'
    return f"SELECT (STRLEN({inner}) AS ?n) WHERE {{}}"


@pytest.fixture(scope="module")
def pool(embedded_store: KnowledgeStore) -> Iterator[WorkerPool]:
    options = WorkerOptions.of(embedded_store, memory_bytes=384 * 2**20)
    started = WorkerPool(options, 2)
    yield started
    started.close()


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    server = Canary()
    yield server
    server.close()


def worker_pids(pool: WorkerPool) -> set[int]:
    deadline = time.monotonic() + 30
    while len(pool._idle) < pool.size and time.monotonic() < deadline:
        time.sleep(0.05)
    return {worker.pid for worker in pool._idle}


@pytest.mark.parametrize(
    "template",
    [
        "SELECT ?x {{ SERVICE <{url}> {{ ?x ?y ?z }} }}",
        "SELECT ?x {{ ?s ?p 1.SERVICE SILENT <{url}> {{ ?x ?y ?z }} }}",
        "ASK {{ SERVICE <{url}> {{ ?x ?y ?z }} }}",
    ],
)
def test_a_service_past_every_check_reaches_nothing(
    pool: WorkerPool, canary: Canary, template: str
) -> None:
    # Sent to the worker directly, as if the scanner had missed it: the kernel refuses.
    before = worker_pids(pool)
    job = QueryJob.of(template.format(url=canary.url), None, None, None, 10)
    try:
        answer = pool.run(job, 20)
    except JobFailedError as error:
        assert "Permission denied" in str(error)
    else:  # SERVICE SILENT: the call failed silently, and nothing came back from it
        assert all(row["x"] is None for row in answer.result)
    assert canary.hits == 0
    assert worker_pids(pool) == before  # the failed call killed no worker


def test_a_memory_bomb_stops_its_worker_only(pool: WorkerPool) -> None:
    job = QueryJob.of(replace_bomb(12), None, None, None, 10)
    with pytest.raises(MemoryLimitError, match="384 MiB of memory"):
        pool.run(job, 30)
    assert pool.run(ASK, 30).result


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { FILTER(" + "!" * 20000 + "true) }",
        "SELECT (" + "+".join(["1"] * 20000) + " AS ?x) WHERE {}",
    ],
)
def test_a_stack_overflow_stops_its_worker_only(pool: WorkerPool, query: str) -> None:
    with pytest.raises(WorkerCrashedError):
        pool.run(QueryJob.of(query, None, None, None, 10), 30)
    assert pool.run(ASK, 30).result


def test_json_ld_the_parser_would_crash_on_is_unreadable_in_the_worker(pool: WorkerPool) -> None:
    bounds = CaseBounds(10**6, 10**6)
    depth = 5000
    deep = '{"@id":"urn:a","urn:p":' * depth + '"x"' + "}" * depth
    with pytest.raises(UnreadableCaseError, match="the limit is 256"):
        pool.run(ParseJob(deep.encode(), "application/ld+json", "deep", bounds), 30)
    shallow = ParseJob(b'{"@id": "urn:a", "urn:p": "x"}', "application/ld+json", "ok", bounds)
    assert len(pool.run(shallow, 30)) == 1
    with pytest.raises(UnreadableCaseError):
        pool.run(ParseJob(b"{", "application/ld+json", "broken", bounds), 30)


def test_a_job_past_its_time_is_stopped(pool: WorkerPool) -> None:
    with pytest.raises(JobTimeoutError, match="was stopped"):
        pool.run(CARTESIAN, 0.5)
    assert pool.run(ASK, 30).result


def test_an_idle_worker_found_dead_is_replaced_before_use(pool: WorkerPool) -> None:
    worker_pids(pool)
    for worker in list(pool._idle):
        worker.process.kill()
        worker.process.join()
    # Every idle worker is dead; the request waits for a fresh one instead of failing.
    assert pool.run(ASK, 30).result


def test_a_free_worker_goes_to_the_client_holding_fewest(pool: WorkerPool) -> None:
    assert len(worker_pids(pool)) == pool.size
    budget = ClientBudget(concurrency=5, seconds=600)
    granted: list[str] = []
    acquire = pool._acquire

    def acquire_in_order(client: str, heavy: bool, deadline: float) -> Any:
        worker = acquire(client, heavy, deadline)
        granted.append(client)
        return worker

    pool._acquire = acquire_in_order  # type: ignore[method-assign]

    def run(client: str, job: QueryJob, timeout: float) -> None:
        with budget.admit(client) as ticket:
            try:
                pool.run(job, timeout, ticket)
            except JobTimeoutError:
                pass

    # One job that ends by itself within a second or so (its worker comes free at once, no
    # replacement to wait for) and one that runs until it is stopped well after.
    short = QueryJob.of(
        "SELECT (COUNT(*) AS ?n) WHERE { ?a a ?c . ?d ?e ?f }", None, None, None, 10
    )
    holding = [
        threading.Thread(target=run, args=("a", job, seconds))
        for job, seconds in ((short, 30.0), (CARTESIAN, 8.0))
    ]
    for thread in holding:
        thread.start()
    while sum(pool._holding.values()) < 2:
        time.sleep(0.01)
    # Client a holds both workers; then a asks again, then b asks.
    a_again = threading.Thread(target=run, args=("a", ASK, 30))
    a_again.start()
    while len(pool._waiting) < 1:
        time.sleep(0.01)
    b = threading.Thread(target=run, args=("b", ASK, 30))
    b.start()
    for thread in [*holding, a_again, b]:
        thread.join(60)
    del pool._acquire
    # Both waited; when a worker came free a still held one and b none, so b went first.
    # (The order of grants, not of finishing: two quick answers may finish in either order.)
    assert granted == ["a", "a", "b", "a"], granted


def test_waiting_is_not_charged(pool: WorkerPool) -> None:
    worker_pids(pool)
    budget = ClientBudget(concurrency=5, seconds=600)
    holders = [
        threading.Thread(target=lambda: _run_quietly(pool, CARTESIAN, 1.5)) for _ in range(2)
    ]
    for holder in holders:
        holder.start()
    while sum(pool._holding.values()) < 2:
        time.sleep(0.01)
    waited = time.monotonic()
    with budget.admit("patient") as ticket:
        assert pool.run(ASK, 30, ticket).result
    waited = time.monotonic() - waited
    for holder in holders:
        holder.join(60)
    used = budget._clients["patient"].used()
    print(f"waited {waited:.2f} s, charged {used:.3f} s")
    assert used < waited / 2


def test_past_the_waiting_bound_a_request_is_refused_at_once(pool: WorkerPool) -> None:
    worker_pids(pool)
    pool.max_waiting = 1
    try:
        holders = [
            threading.Thread(target=_run_quietly, args=(pool, CARTESIAN, 2.0))
            for _ in range(pool.size)
        ]
        for thread in holders:
            thread.start()
        while len(pool._holding) < 1 or sum(pool._holding.values()) < pool.size:
            time.sleep(0.01)
        waiting = threading.Thread(target=pool.run, args=(ASK, 30))
        waiting.start()
        while len(pool._waiting) < 1:
            time.sleep(0.01)
        with pytest.raises(WorkerBusyError, match="already waiting"):
            pool.run(ASK, 30)
        for thread in [*holders, waiting]:
            thread.join(60)
    finally:
        pool.max_waiting = None
    # Once the waiting request went, a request waits again.
    assert pool.run(ASK, 30).result


def test_a_job_that_costs_a_worker_is_charged_its_replacement(pool: WorkerPool) -> None:
    worker_pids(pool)
    budget = ClientBudget(concurrency=5, seconds=600)
    with budget.admit("a") as ticket, pytest.raises(JobTimeoutError):
        pool.run(CARTESIAN, 0.001, ticket)
    assert pool.start_seconds > 0.05
    assert budget._used("a") >= pool.start_seconds
    with budget.admit("b") as ticket:
        pool.run(ASK, 30, ticket)
    assert budget._used("b") < pool.start_seconds


def _run_quietly(pool: WorkerPool, job: QueryJob, timeout: float) -> None:
    try:
        pool.run(job, timeout)
    except JobTimeoutError:
        pass


def test_workers_over_a_large_in_memory_store_share_one_snapshot_on_disk(
    embedded_store: KnowledgeStore,
) -> None:
    options = WorkerOptions.of(embedded_store, shared_above=0, memory_bytes=384 * 2**20)
    assert options.path is not None and not options.dump
    # The same content is written once per process, whichever application asks.
    assert WorkerOptions.of(embedded_store, shared_above=0).path == options.path
    shared = WorkerPool(options, 1)
    try:
        count = QueryJob.of("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", None, None, None, 10)
        (row,) = list(shared.run(count, 30).result)
        assert int(row["n"].value) == len(list(embedded_store.quads()))
    finally:
        shared.close()
    small = WorkerOptions.of(embedded_store)
    assert small.path is None and small.dump
