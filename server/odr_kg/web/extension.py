"""The knowledge store and the worker pools as a Flask extension: built once per application,
reached by views."""

from __future__ import annotations

import dataclasses

from flask import Flask, Response, current_app, jsonify, request

from odr_kg import workers
from odr_kg.store import KnowledgeStore
from odr_kg.store_errors import ExternalStoreError
from odr_kg.stores import open_store
from odr_kg.worker_process import WorkerOptions
from odr_kg.workers import WorkerPool

EXTENSION_KEY = "odr_kg"
POOL_KEY = "odr_kg.workers"
FEDERATION_POOL_KEY = "odr_kg.federation_workers"
# Queries calling the endpoints of --allow-service run in a pool of their own, this size.
FEDERATION_WORKERS = 1


def init_app(app: Flask) -> None:
    """Open the knowledge store for ``app.config["BASE"]`` and keep it in ``app.extensions``,
    with the pools of worker processes that run queries and read untrusted RDF.

    The store is the SPARQL store at ``SPARQL_ENDPOINT`` when set, else the embedded store on
    disk at ``STORE_PATH`` when set, else in memory. An external store takes SPARQL Update at
    ``SPARQL_UPDATE_ENDPOINT`` (default: the query endpoint), Graph Store Protocol writes at
    ``GRAPH_STORE``; ``STORE_TIMEOUT`` bounds each answer, in seconds;
    ``STORE_UNION_PARAMETER`` names the request parameter asking for the union default graph
    (empty: none, as for Virtuoso); ``STORE_MAX_ROWS`` is the store's cap on the rows of an
    answer (Virtuoso's ``ResultSetMaxRows``), so that an answer reaching it is an error.
    ``DATA_FILES`` lists extra RDF files to load as named graphs, each written ``FILE`` or
    ``FILE=GRAPH_IRI`` like ``odr-kg serve --data``.
    """
    config = app.config
    store = open_store(
        config["BASE"],
        path=config["STORE_PATH"],
        endpoint=config["SPARQL_ENDPOINT"],
        update_endpoint=config["SPARQL_UPDATE_ENDPOINT"],
        graph_store=config["GRAPH_STORE"],
        timeout=float(config["STORE_TIMEOUT"]),
        union_parameter=config["STORE_UNION_PARAMETER"] or None,
        max_rows=config["STORE_MAX_ROWS"],
    )
    for option in config["DATA_FILES"]:
        store.add_data(option)
    app.extensions[EXTENSION_KEY] = store
    app.register_error_handler(ExternalStoreError, store_failed)

    options = WorkerOptions.of(
        store,
        memory_bytes=int(config["WORKER_MEMORY_MB"]) * 2**20,
        sandboxed=bool(config["SANDBOX"]),
    )
    waiting = config["MAX_WAITING"]
    max_waiting = None if waiting is None else int(waiting)
    app.extensions[POOL_KEY] = workers.shared_pool(
        options, int(config["QUERY_WORKERS"]), max_waiting=max_waiting
    )
    allowed = tuple(config["FEDERATION_ALLOW"] or ())
    if allowed and store.in_process:
        federation = dataclasses.replace(options, egress=True, validates=False)
        app.extensions[FEDERATION_POOL_KEY] = workers.shared_pool(
            federation, FEDERATION_WORKERS, allowed, max_waiting
        )


def get_store() -> KnowledgeStore:
    """The knowledge store of the application handling the current request."""
    return current_app.extensions[EXTENSION_KEY]


def get_workers() -> WorkerPool:
    """The workers that read untrusted RDF, and run queries on an embedded store."""
    return current_app.extensions[POOL_KEY]


def get_query_workers(federated: bool = False) -> WorkerPool | None:
    """The workers that run a query (``federated``: one calling allowed SERVICE endpoints);
    ``None`` for an external store, which runs it itself."""
    if not get_store().in_process:
        return None
    return current_app.extensions[FEDERATION_POOL_KEY if federated else POOL_KEY]


def store_failed(error: ExternalStoreError) -> tuple[Response, int]:
    """The external store failed: 502 (it answered badly), 503 (down), 504 (too slow); JSON
    for the API, plain text elsewhere."""
    if request.path.startswith("/api/"):
        return jsonify(error={"status": error.status, "message": str(error)}), error.status
    return Response(str(error) + "\n", mimetype="text/plain"), error.status
