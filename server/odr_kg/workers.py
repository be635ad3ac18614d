"""Worker processes: where queries run and untrusted RDF is read, confined by the OS.

pyoxigraph evaluates a query, and parses a document, in Rust without returning to Python: nothing
in the calling thread can interrupt it, and a parser or evaluator that overflows its stack takes
its whole process down. So every query on the embedded store, and every case graph a client
sends, goes to one of a small pool of worker processes (:class:`WorkerPool`):

- each worker is confined before it reads a request (:mod:`odr_kg.sandbox`): it cannot open a
  socket, and its memory is capped;
- a job past its time is stopped by killing its worker; a worker that crashes or runs out of
  memory is replaced; either way the caller gets an error that says which, and the next caller
  a fresh worker (an idle worker found dead is replaced before use, not handed out);
- workers are handed out fairly: while some are waiting, a free worker goes to the request of
  the client holding the fewest workers, earliest first, and the last free worker is held back
  from clients that used much worker time lately. Waiting is not charged to anyone's query
  time (:class:`odr_kg.client_budget.ClientBudget`); running is, and a job never runs past what its
  client has left.

The jobs and their answers are :mod:`odr_kg.jobs`.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import multiprocessing
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from odr_kg import jobs, sandbox
from odr_kg.client_budget import OverBudgetError, Ticket
from odr_kg.egress import EgressPolicy, EgressSupervisor
from odr_kg.worker_process import WorkerOptions, run_worker

LOG = logging.getLogger(__name__)
# Spawned, not forked: the application's threads (waitress, the pool's own) may hold locks
# that a forked child would inherit held.
_CONTEXT = multiprocessing.get_context("spawn")
# Seconds a new worker may take to open its store and warm its validator.
WORKER_START_SECONDS = 60.0


class WorkerError(Exception):
    """Base class of the reasons a worker gave no answer; ``status`` is the HTTP status."""

    status = 503


class JobTimeoutError(WorkerError):
    """The job ran past its time limit and was stopped."""


class WorkerBusyError(WorkerError):
    """Every worker stayed busy for as long as the job may run, or too many were waiting."""

    retry_after = 1


class WorkerCrashedError(WorkerError):
    """The worker died while carrying out the job; another one takes its place."""


class MemoryLimitError(WorkerCrashedError):
    """The job needed more memory than a worker may use; the worker was replaced."""


class WorkerPool:
    """``size`` worker processes started from ``options``. Thread-safe."""

    def __init__(
        self,
        options: WorkerOptions,
        size: int,
        supervisor: EgressSupervisor | None = None,
        max_waiting: int | None = None,
    ) -> None:
        self.options = options
        self.size = size
        self.supervisor = supervisor
        self.max_waiting = max_waiting
        self.start_seconds = 0.0  # how long the last worker took to start
        self._idle: list[_Worker] = []
        self._live = 0  # workers added and not yet replaced: never more than size
        self._holding: dict[str, int] = {}
        self._waiting: dict[int, tuple[str, bool]] = {}
        self._held_back = 1 if size >= 3 else 0
        self._tickets = itertools.count()
        self._condition = threading.Condition()
        self._closed = False
        # The first worker starts here, so that a worker that cannot start (no sandbox, too
        # little memory for the store) stops the application with the reason.
        self._add(self._start())
        for _ in range(size - 1):
            self._start_in_background()

    # Running a job ----------------------------------------------------------------------

    def run(self, job: object, timeout: float, ticket: Ticket | None = None) -> Any:
        """Carry out ``job`` within ``timeout`` seconds of running (and as long again waiting
        for a worker), no longer than ``ticket``'s client has left; its result, or the error
        its worker answered."""
        client = ticket.client if ticket is not None else ""
        heavy = ticket is not None and ticket.is_heavy()
        worker = self._acquire(client, heavy, time.monotonic() + timeout)
        try:
            granted = ticket.reserve(timeout) if ticket is not None else timeout
        except OverBudgetError:
            self._release(worker, client)
            raise
        started = time.monotonic()
        try:
            outcome = worker.run(job, granted, self.options.memory_bytes)
        except WorkerError as error:
            self._release(None, client)
            self._replace(worker)
            if ticket is not None:
                # The client whose job cost a worker pays for its replacement, so that a
                # stream of crashing or instantly timed-out jobs is not cheap.
                ticket.charge(self.start_seconds)
            if isinstance(error, JobTimeoutError) and ticket is not None and granted < timeout:
                raise ticket.exhausted() from error
            raise
        finally:
            if ticket is not None:
                ticket.charge(time.monotonic() - started)
        self._release(worker, client)
        return jobs.read_outcome(outcome)

    def _acquire(self, client: str, heavy: bool, deadline: float) -> _Worker:
        with self._condition:
            if (
                self.max_waiting is not None
                and len(self._waiting) >= self.max_waiting
                and not self._idle
            ):
                # Each waiting request holds a server thread: past the bound, the threads are
                # kept for the pages that need no worker.
                raise WorkerBusyError(
                    f"{len(self._waiting)} requests are already waiting for a worker, the "
                    f"most this server lets wait; try again later"
                )
            turn = next(self._tickets)
            self._waiting[turn] = (client, heavy)
            try:
                while True:
                    if self._next_turn() == turn:
                        worker = self._idle.pop()
                        if not worker.is_alive():
                            self._replace(worker)
                            continue
                        self._holding[client] = self._holding.get(client, 0) + 1
                        return worker
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise WorkerBusyError(
                            "every worker stayed busy for as long as this request may run; "
                            "try again later"
                        )
                    self._condition.wait(remaining)
            finally:
                del self._waiting[turn]
                self._condition.notify_all()

    def _next_turn(self) -> int | None:
        """The waiting request that may take a free worker now: of those whose client holds
        the fewest workers, the earliest. A heavy client's request (one that used much worker
        time lately) may not take the last free worker of a pool of three or more: that one is
        held back for the others, so that a cheap query is not kept waiting while the worker a
        slow one stopped is replaced."""
        eligible = [
            turn
            for turn, (_, heavy) in self._waiting.items()
            if len(self._idle) > (self._held_back if heavy else 0)
        ]
        return min(
            eligible,
            key=lambda turn: (self._holding.get(self._waiting[turn][0], 0), turn),
            default=None,
        )

    def _release(self, worker: _Worker | None, client: str) -> None:
        with self._condition:
            self._holding[client] -= 1
            if not self._holding[client]:
                del self._holding[client]
            if worker is not None:
                self._idle.append(worker)
            self._condition.notify_all()

    # Starting and replacing workers -------------------------------------------------------

    def _start(self) -> _Worker:
        started = time.monotonic()
        worker = _Worker.start(self.options)
        self.start_seconds = time.monotonic() - started
        if self.supervisor is not None and worker.listener is not None:
            self.supervisor.watch(sandbox.take_descriptor(worker.pid, worker.listener), worker.pid)
        return worker

    def _add(self, worker: _Worker) -> None:
        with self._condition:
            if self._closed or self._live >= self.size:
                worker.stop()
                return
            self._live += 1
            self._idle.append(worker)
            self._condition.notify_all()

    def _replace(self, worker: _Worker) -> None:
        with self._condition:
            self._live -= 1
        worker.stop()
        self._start_in_background()

    def _start_in_background(self) -> None:
        def start() -> None:
            while not self._closed:
                try:
                    worker = self._start()
                except WorkerError:
                    if self._closed:
                        return  # the process is ending: its workers were stopped with it
                    LOG.exception("a worker did not start; trying again")
                    time.sleep(1)
                    continue
                self._add(worker)
                return

        # A caller whose job stopped the last worker has its answer now; the next caller waits
        # only for the first ready worker. (A new thread also starts outside any request, where
        # the outbound guard is off.)
        threading.Thread(target=start, name="odr-kg-worker-start", daemon=True).start()

    def close(self) -> None:
        """Stop the workers."""
        with self._condition:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()


class _Worker:
    def __init__(self, process: Any, connection: Connection, listener: int | None) -> None:
        self.process = process
        self.connection = connection
        self.listener = listener

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(cls, options: WorkerOptions) -> _Worker:
        ours, theirs = _CONTEXT.Pipe()
        process = _CONTEXT.Process(
            target=run_worker, args=(options, theirs), name="odr-kg-worker", daemon=True
        )
        process.start()
        theirs.close()
        # The worker says it is ready once its store is open, so no job's time is spent on it.
        try:
            ready = ours.recv() if ours.poll(WORKER_START_SECONDS) else ("silent",)
        except (EOFError, OSError):
            ready = ("died",)
        if ready[0] != "ready":
            process.kill()
            process.join(5)
            if ready[0] == "unconfined":
                raise sandbox.SandboxUnavailableError(ready[1])
            raise WorkerCrashedError(
                f"a worker did not start ({ready[0]}, exit {process.exitcode})"
            )
        return cls(process, ours, ready[1])

    def is_alive(self) -> bool:
        """Whether the worker is still there: an idle worker has nothing to say, so anything
        readable on its pipe means it is gone."""
        return self.process.is_alive() and not self.connection.poll(0)

    def run(self, job: object, timeout: float, memory_bytes: int | None) -> tuple[Any, ...]:
        try:
            self.connection.send(job)
            if not self.connection.poll(timeout):
                raise JobTimeoutError(
                    f"the request ran for more than {timeout:g} s and was stopped; "
                    "make it more selective or ask for less"
                )
            return self.connection.recv()
        except (EOFError, OSError) as error:
            raise self._death(memory_bytes) from error

    def _death(self, memory_bytes: int | None) -> WorkerCrashedError:
        self.process.join(5)
        if self.process.exitcode == -signal.SIGABRT and memory_bytes is not None:
            return MemoryLimitError(
                f"the request needed more than the {memory_bytes // 2**20} MiB of memory a "
                "worker may use and was stopped; make it more selective or ask for less"
            )
        return WorkerCrashedError(
            "the request stopped the worker carrying it out "
            f"(exit {self.process.exitcode}); it was not answered"
        )

    def stop(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.connection.close()


_POOLS: dict[tuple[WorkerOptions, int, tuple[str, ...]], WorkerPool] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(
    options: WorkerOptions,
    size: int,
    endpoints: tuple[str, ...] = (),
    max_waiting: int | None = None,
) -> WorkerPool:
    """The pool of ``size`` workers over ``options``, started on first use and shared by the
    applications of this process built with the same options; stopped at exit. Workers with
    ``egress`` reach only ``endpoints``, through a supervisor of their own. At most
    ``max_waiting`` requests wait for a worker at once; more are refused."""
    key = (options, size, endpoints, max_waiting)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            supervisor = None
            if options.egress:
                policy = EgressPolicy.for_endpoints(endpoints)
                supervisor = EgressSupervisor(policy, sandbox.architecture().syscalls)
            pool = _POOLS[key] = WorkerPool(options, size, supervisor, max_waiting)
        return pool


@atexit.register
def _close_pools() -> None:
    for pool in _POOLS.values():
        pool.close()
