"""The fair share of each client: at most so many requests in the workers at once, and so
many seconds of worker time in any minute (:class:`ClientBudget`). No Flask here: the web
application (:mod:`odr_kg.web.security`) reads the configuration (``CLIENT_CONCURRENCY``,
``CLIENT_QUERY_SECONDS`` in :data:`odr_kg.limits.LIMITS`) and builds the budget from it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from odr_kg.limits import LimitError

BUDGET_WINDOW_SECONDS = 60.0
# A client that used this much worker time in the window is a heavy one: the pool holds its
# last free worker back from it (odr_kg.workers).
HEAVY_CLIENT_SECONDS = 1.0


def client_concurrency(configured: int | None, workers: int) -> int:
    """The requests one client may have in the workers at once: as configured, or else
    ``(workers - 1) // 2`` (at least 1), so that two busy clients leave a worker free."""
    if configured is not None:
        return int(configured)
    return max(1, (int(workers) - 1) // 2)


class OverBudgetError(LimitError):
    """The client has too many requests running, or has used its worker time (429).
    ``retry_after`` is the whole number of seconds after which to try again."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class _Client:
    """A client's admitted requests, the time reserved by those running, and the (end time,
    duration) of the time it used recently."""

    running: int = 0
    reserved: float = 0.0
    spent: deque[tuple[float, float]] = field(default_factory=deque)

    def forget_before(self, moment: float) -> None:
        while self.spent and self.spent[0][0] <= moment:
            self.spent.popleft()

    def used(self) -> float:
        return sum(seconds for _, seconds in self.spent)

    def is_idle(self) -> bool:
        return self.running == 0 and not self.spent


class Ticket:
    """One admitted request of a client: it reserves worker time before it runs and is charged
    the time it ran (:class:`ClientBudget`)."""

    def __init__(self, budget: ClientBudget, client: str) -> None:
        self.budget = budget
        self.client = client
        self.reserved = 0.0

    def reserve(self, seconds: float) -> float:
        """The seconds this request may now run: ``seconds``, or what its client has left
        if that is less; :class:`OverBudgetError` if nothing is left."""
        return self.budget._reserve(self, seconds)

    def charge(self, seconds: float) -> None:
        """Count ``seconds`` of worker time against the client."""
        self.budget._charge(self, seconds)

    def is_heavy(self) -> bool:
        """Whether the client used :data:`HEAVY_CLIENT_SECONDS` of worker time lately."""
        return self.budget._used(self.client) >= HEAVY_CLIENT_SECONDS

    def exhausted(self) -> OverBudgetError:
        """The error of a request stopped because its client's time ran out."""
        return self.budget._over_budget(self.client, stopped=True)


class ClientBudget:
    """Per client (a string, the remote address): at most ``concurrency`` requests admitted at
    once and ``seconds`` of worker time in any :data:`BUDGET_WINDOW_SECONDS`, enforced while
    a request runs (a request never runs past what its client has left). Waiting for a worker
    is not charged. Thread-safe."""

    def __init__(self, concurrency: int, seconds: float) -> None:
        self.concurrency = concurrency
        self.seconds = seconds
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()

    @contextmanager
    def admit(self, client: str) -> Iterator[Ticket]:
        """Admit one request of ``client`` (:class:`OverBudgetError` when it has as many
        running as allowed, or no time left); release it, charged, at the end of the block."""
        with self._lock:
            state = self._state(client)
            if state.running >= self.concurrency:
                raise OverBudgetError(
                    f"{state.running} requests of yours are running; the limit is "
                    f"{self.concurrency} at once: wait for one to finish",
                    retry_after=1,
                )
            if self._left(state) <= 0:
                raise self._over_budget(client)
            state.running += 1
        ticket = Ticket(self, client)
        try:
            yield ticket
        finally:
            with self._lock:
                state.running -= 1
                state.reserved -= ticket.reserved

    def _state(self, client: str) -> _Client:
        now = time.monotonic()
        # Clients with nothing left to remember are dropped, so the table stays small.
        for name, state in list(self._clients.items()):
            state.forget_before(now - BUDGET_WINDOW_SECONDS)
            if state.is_idle():
                del self._clients[name]
        return self._clients.setdefault(client, _Client())

    def _used(self, client: str) -> float:
        with self._lock:
            state = self._state(client)
            return state.used() + state.reserved

    def _left(self, state: _Client) -> float:
        return self.seconds - state.used() - state.reserved

    def _reserve(self, ticket: Ticket, seconds: float) -> float:
        with self._lock:
            state = self._state(ticket.client)
            granted = min(seconds, self._left(state))
            if granted <= 0:
                raise self._over_budget(ticket.client)
            state.reserved += granted
            ticket.reserved += granted
            return granted

    def _charge(self, ticket: Ticket, seconds: float) -> None:
        with self._lock:
            state = self._state(ticket.client)
            state.reserved -= ticket.reserved
            ticket.reserved = 0.0
            state.spent.append((time.monotonic(), seconds))

    def _over_budget(self, client: str, stopped: bool = False) -> OverBudgetError:
        now = time.monotonic()
        state = self._clients.get(client, _Client())
        used = state.used()
        what = "your request was stopped: your" if stopped else "your"
        return OverBudgetError(
            f"{what} requests used {used:.1f} s of worker time in the last "
            f"{BUDGET_WINDOW_SECONDS:.0f} s; the limit is {self.seconds:g} s",
            retry_after=self._time_to_free(state, now),
        )

    def _time_to_free(self, state: _Client, now: float) -> int:
        # The moment enough of the recent time leaves the window to make room again.
        used = state.used() + state.reserved
        for ended, seconds in state.spent:
            used -= seconds
            if used < self.seconds:
                return max(1, math.ceil(ended + BUDGET_WINDOW_SECONDS - now))
        return math.ceil(BUDGET_WINDOW_SECONDS)
