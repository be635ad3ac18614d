"""A worker process's side: what a worker is started with (:class:`WorkerOptions`: its store,
limits and confinement) and its life (:func:`run_worker`): confine itself, open its store,
answer jobs. The pool that starts, hands out and replaces workers is :mod:`odr_kg.workers`."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox

from odr_kg import jobs, sandbox
from odr_kg.store import EmbeddedStore, KnowledgeStore

# An in-memory store larger than this is shared by the workers through a snapshot on disk.
SHARED_ABOVE_QUADS = 100_000
_SNAPSHOTS: weakref.WeakKeyDictionary[EmbeddedStore, str] = weakref.WeakKeyDictionary()
_SNAPSHOTS_LOCK = threading.Lock()


def _snapshot(store: EmbeddedStore) -> str:
    """The folder of an on-disk copy of ``store``, written once per store (quad by quad, with
    no serialized copy in between), removed when the process ends."""
    with _SNAPSHOTS_LOCK:
        folder = _SNAPSHOTS.get(store)
        if folder is None:
            folder = tempfile.mkdtemp(prefix="odr-kg-workers-")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            snapshot = ox.Store(folder)
            snapshot.bulk_extend(store.quads())
            snapshot.flush()
            del snapshot
            _SNAPSHOTS[store] = folder
        return folder


@dataclass(frozen=True)
class WorkerOptions:
    """How to start a worker: the store it holds (on disk at ``path``, opened read-only, or
    the N-Quads ``dump``), its memory cap, whether it is confined (``sandboxed``), whether it
    may reach the endpoints of ``--allow-service`` (``egress``), and whether it validates."""

    base: str
    path: str | None = None
    dump: bytes = b""
    memory_bytes: int | None = None
    sandboxed: bool = True
    egress: bool = False
    validates: bool = True

    @classmethod
    def of(
        cls, store: KnowledgeStore, shared_above: int = SHARED_ABOVE_QUADS, **options: Any
    ) -> WorkerOptions:
        """The options of workers over ``store``. An on-disk store is opened by each worker
        read-only; an in-memory one holding more than ``shared_above`` quads is written once
        to a snapshot on disk that every worker opens read-only (the operating system's page
        cache holds it once for all), a smaller one is copied into each worker, where queries
        run fastest. An external store is not copied: its workers hold what validating a case
        reads (the ontology and the knowledge graph)."""
        if isinstance(store, EmbeddedStore):
            if store.path is not None:
                return cls(store.base, path=str(store.path), **options)
            if len(store) > shared_above:
                return cls(store.base, path=_snapshot(store), **options)
            quads = store.quads()
        else:
            quads = (
                quad for name in ("ontology", "kg") for quad in store.quads(store.graph_iri(name))
            )
        return cls(store.base, dump=ox.serialize(quads, format=ox.RdfFormat.N_QUADS), **options)


def run_worker(options: WorkerOptions, connection: Connection) -> None:
    """A worker's life: confine itself, open its store, say ready, answer jobs until the pipe
    closes. Nothing from a request is read before the confinement is in place."""
    _end_with_parent()
    listener = None
    if options.sandboxed:
        try:
            listener = sandbox.confine(options.memory_bytes, egress=options.egress)
        except sandbox.SandboxUnavailableError as error:
            connection.send(("unconfined", str(error)))
            return
    elif options.memory_bytes is not None:
        sandbox.limit_memory(options.memory_bytes)
    state = jobs.open_worker_state(options.base, options.path, options.dump, options.validates)
    try:
        connection.send(("ready", listener))
        while True:
            connection.send(jobs.handle(state, connection.recv()))
    except (EOFError, BrokenPipeError):
        return  # the pool closed the pipe: nothing more to do


def _end_with_parent() -> None:
    """End this worker as soon as the process that started it is gone, busy or not. (The
    kernel's parent-death signal follows the thread that started a process, and workers are
    started from short-lived threads.)"""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="odr-kg-worker-watch", daemon=True).start()
