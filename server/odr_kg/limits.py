"""The bounds on the work one request may ask for, and the fair share of each client.

No Flask here: the web application (:mod:`odr_kg.web.security`, :mod:`odr_kg.web.sparql`) reads
the configuration and calls these with plain values.

The shape of a query is checked before any parser sees it: its length, how deeply its brackets
nest and roughly how many triple patterns it holds. pyoxigraph's parser overflows its stack on
deeply nested brackets (a crash of the whole process, not an exception) and its optimiser slows
down sharply with the number of patterns, so both are refused with a message instead.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from odr_kg.sparql_tokens import tokens

# Defaults of the configuration keys (``ODR_KG_<KEY>`` in the environment, ``odr-kg serve``
# options), each documented in README.md, "Running it in public".
DEFAULTS: dict[str, object] = {
    # Seconds a query may run; a client may ask for less with ``timeout``, never more.
    "QUERY_TIMEOUT": 10.0,
    # Worker processes evaluating queries on the embedded store (each holds a copy of it).
    "QUERY_WORKERS": 2,
    # Rows (solutions, or triples of a graph) of one answer; beyond, the answer is truncated.
    "MAX_ROWS": 10_000,
    # Bytes of a request body; beyond, 413.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    # Characters of a request's path and query string; beyond, 414.
    "MAX_URL_LENGTH": 8 * 1024,
    # The shape of a query, checked before parsing; beyond, 400.
    "MAX_QUERY_LENGTH": 32 * 1024,
    "MAX_QUERY_DEPTH": 32,
    "MAX_TRIPLE_PATTERNS": 64,
    # Queries one client may have running at once; beyond, 429.
    "CLIENT_CONCURRENCY": 2,
    # Seconds of query time one client may use in any 60 seconds; beyond, 429.
    "CLIENT_QUERY_SECONDS": 30.0,
    # Endpoints a SERVICE clause may call (full IRIs); none by default.
    "FEDERATION_ALLOW": (),
}
BUDGET_WINDOW_SECONDS = 60.0

_OPENING = {"{": "}", "(": ")", "[": "]"}
_PATTERN_SEPARATORS = {".", ";", ","}


class LimitError(Exception):
    """Base class of the requests refused for asking for more than the service gives."""


class QueryTooLargeError(LimitError):
    """A query longer, deeper or with more triple patterns than allowed (400)."""


class InvalidTimeoutError(LimitError):
    """A ``timeout`` parameter that is not a positive number of seconds (400)."""


class OverBudgetError(LimitError):
    """The client has too many queries running, or has used its query time (429).
    ``retry_after`` is the whole number of seconds after which to try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def check_query_shape(query: str, max_length: int, max_depth: int, max_patterns: int) -> None:
    """Refuse ``query`` with :class:`QueryTooLargeError` if it is longer than ``max_length``
    characters, nests brackets deeper than ``max_depth`` or holds more than ``max_patterns``
    triple patterns. Strings, IRIs and comments do not count.

    The pattern count is an upper estimate: each group and each ``.``, ``;`` or ``,`` inside
    one counts, so a query near the limit may be refused when a parser would count fewer.
    """
    if len(query) > max_length:
        raise QueryTooLargeError(
            f"the query is {len(query)} characters long; the limit is {max_length}"
        )
    depth = deepest = 0
    groups = separators = 0
    for kind, text in tokens(query):
        if kind != "other":
            continue
        if text in _OPENING:
            depth += 1
            deepest = max(deepest, depth)
            groups += text == "{"
        elif text in _OPENING.values():
            depth = max(depth - 1, 0)
        elif text in _PATTERN_SEPARATORS and depth:
            separators += 1
        if deepest > max_depth:
            raise QueryTooLargeError(
                f"the query nests brackets more than {max_depth} deep; the limit is {max_depth}"
            )
    if groups + separators > max_patterns:
        raise QueryTooLargeError(
            f"the query holds about {groups + separators} triple patterns; "
            f"the limit is {max_patterns}"
        )


def query_timeout(requested: str | None, limit: float) -> float:
    """The seconds a query may run: the client's ``timeout`` parameter when it asks for less
    than ``limit``, else ``limit``."""
    if requested is None or requested == "":
        return limit
    try:
        seconds = float(requested)
    except ValueError:
        raise InvalidTimeoutError(
            f"timeout must be a number of seconds, not {requested!r}"
        ) from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise InvalidTimeoutError(f"timeout must be a positive number of seconds: {requested!r}")
    return min(seconds, limit)


@dataclass
class _Client:
    """A client's running queries, and the (end time, duration) of its recent ones."""

    running: int = 0
    spent: deque[tuple[float, float]] = field(default_factory=deque)

    def forget_before(self, moment: float) -> None:
        while self.spent and self.spent[0][0] <= moment:
            self.spent.popleft()

    def is_idle(self) -> bool:
        return self.running == 0 and not self.spent


class ClientBudget:
    """Per client (a string, the remote address): at most ``concurrency`` queries at once and
    ``seconds`` of query time in any :data:`BUDGET_WINDOW_SECONDS`. Thread-safe."""

    def __init__(self, concurrency: int, seconds: float) -> None:
        self.concurrency = concurrency
        self.seconds = seconds
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()

    @contextmanager
    def query(self, client: str) -> Iterator[None]:
        """Run one query of ``client`` within its budget (:class:`OverBudgetError` if it is
        spent) and charge the time it took, whatever its outcome."""
        now = time.monotonic()
        with self._lock:
            self._forget(now)
            state = self._clients.setdefault(client, _Client())
            if state.running >= self.concurrency:
                raise OverBudgetError(
                    f"{state.running} queries of yours are running; the limit is "
                    f"{self.concurrency} at once",
                    retry_after=1,
                )
            used = sum(seconds for _, seconds in state.spent)
            if used >= self.seconds:
                retry_after = self._time_to_free(state, used, now)
                raise OverBudgetError(
                    f"your queries took {used:.1f} s in the last {BUDGET_WINDOW_SECONDS:.0f} s; "
                    f"the limit is {self.seconds:g} s",
                    retry_after=retry_after,
                )
            state.running += 1
        started = time.monotonic()
        try:
            yield
        finally:
            ended = time.monotonic()
            with self._lock:
                state.running -= 1
                state.spent.append((ended, ended - started))

    def _forget(self, now: float) -> None:
        # Clients with nothing left to remember are dropped, so the table stays small.
        for name, state in list(self._clients.items()):
            state.forget_before(now - BUDGET_WINDOW_SECONDS)
            if state.is_idle():
                del self._clients[name]

    def _time_to_free(self, state: _Client, used: float, now: float) -> int:
        for ended, seconds in state.spent:
            used -= seconds
            if used < self.seconds:
                return max(1, math.ceil(ended + BUDGET_WINDOW_SECONDS - now))
        return math.ceil(BUDGET_WINDOW_SECONDS)
