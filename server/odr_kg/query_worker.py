"""Queries evaluated in worker processes, so that a query running too long can be stopped.

pyoxigraph evaluates a query in Rust without ever returning to Python, so nothing in the
thread that called it can interrupt it. Each query therefore runs in one of a small pool of
worker processes, each holding its own copy of the embedded store, opened from the same
options as the application's. When the time is up the worker is killed, the caller gets
:class:`QueryTimeoutError`, and a fresh worker takes its place.

Results cross the process boundary as SPARQL JSON (solutions, booleans) or N-Triples (graphs),
at most ``max_rows`` rows of them, and are read back into pyoxigraph's own result objects, so
the code serializing them does not know where they were computed.
"""

from __future__ import annotations

import atexit
import json
import logging
import multiprocessing
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox

from odr_kg.store import (
    EmbeddedStore,
    KnowledgeStore,
    QueryResult,
    QuerySyntaxError,
)

LOG = logging.getLogger(__name__)
# Spawned, not forked: the application's threads (waitress, the pool's own) may hold locks
# that a forked child would inherit held.
_CONTEXT = multiprocessing.get_context("spawn")
# Seconds a new worker may take to open its store.
WORKER_START_SECONDS = 60.0
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


class QueryWorkerError(Exception):
    """Base class of the reasons a worker gave no answer; ``status`` is the HTTP status."""

    status = 503


class QueryTimeoutError(QueryWorkerError):
    """The query ran past its time limit and was stopped."""


class WorkerBusyError(QueryWorkerError):
    """Every worker stayed busy for as long as the query may run."""


class WorkerCrashedError(QueryWorkerError):
    """The worker died while evaluating the query; another one takes its place."""


class QueryFailedError(QueryWorkerError):
    """The engine could not evaluate the query (e.g. an allowed SERVICE did not answer)."""

    status = 502


@dataclass(frozen=True)
class StoreOptions:
    """What a worker needs to hold the same data as the application's embedded store, with
    the same blank node labels: the store on disk at ``path``, or else the N-Quads ``dump``
    of the application's in-memory store."""

    base: str
    path: str | None = None
    dump: bytes = b""

    @classmethod
    def of(cls, store: EmbeddedStore) -> StoreOptions:
        if store.path is not None:
            return cls(store.base, path=str(store.path))
        return cls(store.base, dump=ox.serialize(store.quads(), format=ox.RdfFormat.N_QUADS))


@dataclass(frozen=True)
class QueryJob:
    """One query for a worker: the arguments of :meth:`KnowledgeStore.query` and the row cap."""

    sparql: str
    default_graphs: tuple[str, ...] | None
    named_graphs: tuple[str, ...] | None
    base_iri: str | None
    max_rows: int


@dataclass(frozen=True)
class QueryAnswer:
    """A query's result read back from a worker, and whether rows were cut off at the cap."""

    result: QueryResult
    truncated: bool


class QueryPool:
    """``size`` worker processes over the store of ``options``. Thread-safe: each call to
    :meth:`run` takes an idle worker, waiting for one if all are busy."""

    def __init__(self, options: StoreOptions, size: int) -> None:
        self.options = options
        self.size = size
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._closed = False
        for _ in range(size):
            self._start_worker()

    def run(self, job: QueryJob, timeout: float) -> QueryAnswer:
        """Evaluate ``job`` within ``timeout`` seconds (waiting for a free worker included)."""
        try:
            worker = self._idle.get(timeout=timeout)
        except queue.Empty:
            raise WorkerBusyError(
                f"every query worker stayed busy for {timeout:g} s; try again later"
            ) from None
        try:
            outcome = worker.run(job, timeout)
        except QueryWorkerError:
            self._replace(worker)
            raise
        self._idle.put(worker)
        return read_outcome(outcome)

    def _replace(self, worker: _Worker) -> None:
        worker.stop()
        self._start_worker()

    def _start_worker(self) -> None:
        def start() -> None:
            while not self._closed:
                try:
                    self._idle.put(_Worker.start(self.options))
                    return
                except WorkerCrashedError:
                    LOG.exception("a query worker did not start; trying again")
                    time.sleep(1)

        # A worker opens its store in the background: a caller whose query stopped the last
        # one has its answer now, and the next caller waits only for the first ready worker.
        # (A new thread also starts outside any request, where the outbound guard is off.)
        threading.Thread(target=start, name="odr-kg-query-worker-start", daemon=True).start()

    def close(self) -> None:
        """Stop the workers."""
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                return


class _Worker:
    def __init__(self, process: Any, connection: Connection) -> None:
        self.process = process
        self.connection = connection

    @classmethod
    def start(cls, options: StoreOptions) -> _Worker:
        ours, theirs = _CONTEXT.Pipe()
        process = _CONTEXT.Process(
            target=serve, args=(options, theirs), name="odr-kg-query-worker", daemon=True
        )
        process.start()
        theirs.close()
        # The worker says "ready" once its store is open, so no query's time is spent on it.
        if not ours.poll(WORKER_START_SECONDS) or ours.recv() != "ready":
            process.kill()
            raise WorkerCrashedError("a query worker did not start")
        return cls(process, ours)

    def run(self, job: QueryJob, timeout: float) -> tuple[Any, ...]:
        try:
            self.connection.send(job)
            if not self.connection.poll(timeout):
                raise QueryTimeoutError(
                    f"the query ran for more than {timeout:g} s and was stopped; "
                    "make it more selective or ask for fewer results"
                )
            return self.connection.recv()
        except (EOFError, OSError) as error:
            raise WorkerCrashedError(
                "the query stopped the worker evaluating it; it was not answered"
            ) from error

    def stop(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.connection.close()


def serve(options: StoreOptions, connection: Connection) -> None:
    """A worker's life: open the store, say ready, answer jobs until the pipe closes."""
    store = open_worker_store(options)
    connection.send("ready")
    while True:
        try:
            job = connection.recv()
        except EOFError:
            return
        connection.send(evaluate(store, job))


def open_worker_store(options: StoreOptions) -> KnowledgeStore:
    """The embedded store of ``options``. A store on disk is opened read-only: the
    application's process holds it open for writing."""
    if options.path is not None:
        return _ReadOnlyStore(options.base, options.path)
    graphs: dict[str, list[ox.Triple]] = {}
    for quad in ox.parse(options.dump, ox.RdfFormat.N_QUADS):
        graphs.setdefault(quad.graph_name.value, []).append(quad.triple)
    store = EmbeddedStore(options.base)
    store.add_graphs(graphs)
    return store


class _ReadOnlyStore(EmbeddedStore):
    """The embedded store on disk at ``path``, opened read-only."""

    def __init__(self, base: str, path: str) -> None:
        KnowledgeStore.__init__(self, base)
        self.path = None  # nothing to flush
        # EmbeddedStore opens its path for writing, which the application's process does.
        self._store = ox.Store.read_only(path)
        self._counts = {}


def evaluate(store: KnowledgeStore, job: QueryJob) -> tuple[Any, ...]:
    """``("syntax", message)``, or the kind of result, its encoding and whether it was cut."""
    try:
        result = store.query(
            job.sparql,
            None if job.default_graphs is None else list(job.default_graphs),
            None if job.named_graphs is None else list(job.named_graphs),
            job.base_iri,
        )
        return encode(result, job.max_rows)
    except QuerySyntaxError as error:
        return ("syntax", error.message)
    except OSError as error:  # pyoxigraph's evaluation errors, e.g. a SERVICE that failed
        return ("failed", str(error))


def read_outcome(outcome: tuple[Any, ...]) -> QueryAnswer:
    """The answer of an :func:`evaluate` outcome, or the error it reports."""
    if outcome[0] == "syntax":
        raise QuerySyntaxError(outcome[1])
    if outcome[0] == "failed":
        raise QueryFailedError(f"the query could not be evaluated: {outcome[1]}")
    return QueryAnswer(decode(outcome[0], outcome[1]), truncated=outcome[2])


def encode(result: QueryResult, max_rows: int) -> tuple[str, bytes, bool]:
    """``result`` as ``(kind, bytes, truncated)``: at most ``max_rows`` solutions or triples."""
    if isinstance(result, ox.QueryBoolean):
        return ("boolean", result.serialize(format=ox.QueryResultsFormat.JSON), False)
    if isinstance(result, ox.QueryTriples):
        triples = _first(result, max_rows + 1)
        truncated = len(triples) > max_rows
        body = ox.serialize(triples[:max_rows], format=ox.RdfFormat.N_TRIPLES)
        return ("graph", body, truncated)
    variables = [variable.value for variable in result.variables]
    solutions = _first(result, max_rows + 1)
    truncated = len(solutions) > max_rows
    bindings = [
        {name: _json_term(solution[name]) for name in variables if solution[name] is not None}
        for solution in solutions[:max_rows]
    ]
    document = {"head": {"vars": variables}, "results": {"bindings": bindings}}
    return ("solutions", json.dumps(document).encode(), truncated)


def decode(kind: str, body: bytes) -> QueryResult:
    """The pyoxigraph result object of an :func:`encode`\\ d result."""
    if kind == "graph":
        # pyoxigraph builds QueryTriples only from a query: this one copies the triples.
        scratch = ox.Store()
        graph = ox.DefaultGraph()
        scratch.extend(
            ox.Quad(t.subject, t.predicate, t.object, graph)
            for t in (quad.triple for quad in ox.parse(body, ox.RdfFormat.N_TRIPLES))
        )
        return scratch.query("CONSTRUCT WHERE { ?s ?p ?o }")
    return ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)


def _first(results: Any, count: int) -> list[Any]:
    first = []
    for item in results:
        first.append(item)
        if len(first) >= count:
            break
    return first


def _json_term(term: ox.Term) -> dict[str, Any]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        encoded: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            encoded["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            encoded["datatype"] = term.datatype.value
        return encoded
    return {
        "type": "triple",
        "value": {
            "subject": _json_term(term.subject),
            "predicate": _json_term(term.predicate),
            "object": _json_term(term.object),
        },
    }


_POOLS: dict[tuple[StoreOptions, int], QueryPool] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(options: StoreOptions, size: int) -> QueryPool:
    """The pool of ``size`` workers over ``options``, started on first use and shared by the
    applications of this process built with the same options; stopped at exit."""
    with _POOLS_LOCK:
        pool = _POOLS.get((options, size))
        if pool is None:
            pool = _POOLS[(options, size)] = QueryPool(options, size)
        return pool


@atexit.register
def _close_pools() -> None:
    for pool in _POOLS.values():
        pool.close()


def as_job(
    sparql: str,
    default_graphs: Sequence[str] | None,
    named_graphs: Sequence[str] | None,
    base_iri: str | None,
    max_rows: int,
) -> QueryJob:
    """A :class:`QueryJob` from the plain arguments of :meth:`KnowledgeStore.query`."""
    return QueryJob(
        sparql,
        None if default_graphs is None else tuple(default_graphs),
        None if named_graphs is None else tuple(named_graphs),
        base_iri,
        max_rows,
    )
