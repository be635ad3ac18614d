"""The bounds on the work one request may ask for. The fair share of each client, bounded by
two of these keys, is :mod:`odr_kg.client_budget`.

No Flask here: the web application (:mod:`odr_kg.web.security`, :mod:`odr_kg.web.sparql`) reads
the configuration and calls these with plain values. :data:`LIMITS` is the one table of the
configuration keys: their defaults, the ``odr-kg serve`` options made from them, and the
README's table are all read from it.

Checks on text before any parser sees it are a courtesy: they turn what would crash or stall a
worker (brackets nested too deep, expressions too long, JSON nested too deep, numbers of
thousands of digits) into a 400 that says which bound was passed. What cannot be bypassed is
below them: the worker processes, their time limits and memory caps (:mod:`odr_kg.workers`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from odr_kg.sparql_tokens import engine_tokens


@dataclass(frozen=True)
class Limit:
    """A configuration key (``ODR_KG_<KEY>`` in the environment) with its default; ``option``
    is its ``odr-kg serve`` option (``None``: environment only)."""

    key: str
    default: object
    help: str
    option: str | None = None
    metavar: str = "N"


LIMITS: tuple[Limit, ...] = (
    Limit(
        "QUERY_TIMEOUT",
        10.0,
        "seconds a query may run; a client may ask for less with timeout=, never more",
        "--query-timeout",
        "SECONDS",
    ),
    Limit(
        "QUERY_WORKERS",
        3,
        "worker processes running queries and reading untrusted RDF (each holds a copy of an "
        "in-memory store)",
        "--query-workers",
    ),
    Limit(
        "WORKER_MEMORY_MB",
        1024,
        "MiB of memory each worker may use; a request needing more is stopped",
        "--worker-memory",
        "MIB",
    ),
    Limit(
        "MAX_ROWS", 10_000, "rows (solutions or triples) of an answer; more are cut", "--max-rows"
    ),
    Limit(
        "MAX_RESULT_MB",
        8,
        "MiB of an answer as a worker encodes it; rows beyond are cut as over --max-rows",
        "--max-result-size",
        "MIB",
    ),
    Limit("MAX_CONTENT_LENGTH", 1024 * 1024, "bytes of a request body"),
    Limit("MAX_URL_LENGTH", 8 * 1024, "characters of a request's path and query string"),
    Limit("MAX_QUERY_LENGTH", 32 * 1024, "characters of a query"),
    Limit("MAX_QUERY_DEPTH", 32, "how deeply a query's brackets may nest"),
    Limit("MAX_TRIPLE_PATTERNS", 64, "triple patterns of a query (an upper estimate)"),
    Limit("MAX_QUERY_OPERATORS", 256, "operators (! && || = < + - * / | ^ ...) of a query"),
    Limit("MAX_JSON_DEPTH", 32, "how deeply a JSON or JSON-LD body may nest objects and arrays"),
    Limit("MAX_JSON_NUMBER_LENGTH", 40, "characters of a number in a JSON body"),
    Limit("MAX_CASE_TRIPLES", 2_000, "triples of a case graph sent to /api/*"),
    Limit("MAX_CASES_PER_REQUEST", 10, "cases (odr:Case resources) of one /api/* request"),
    Limit(
        "VALIDATION_TIMEOUT",
        10.0,
        "seconds a case graph's validation may run",
        "--validation-timeout",
        "SECONDS",
    ),
    Limit(
        "CLIENT_CONCURRENCY",
        None,
        "requests one client may have in the workers at once (default: (workers - 1) // 2, "
        "at least 1, so that two clients never hold every worker)",
        "--client-concurrency",
    ),
    Limit(
        "MAX_WAITING",
        4,
        "requests that may wait for a worker at once, each holding a server thread; more get "
        "503 at once (keep it below --threads, so that pages needing no worker still answer)",
        "--max-waiting",
    ),
    Limit(
        "CLIENT_QUERY_SECONDS",
        30.0,
        "seconds of worker time one client may use in any 60 s",
        "--client-query-seconds",
        "SECONDS",
    ),
    Limit(
        "LOOKUP_CACHE_MB",
        32,
        "MiB of encoded lookup answers kept for requests with the same facts (0: none); "
        "emptied whenever the store is written to",
        "--lookup-cache",
        "MIB",
    ),
    Limit(
        "LOOKUP_REFRESH_SECONDS",
        60.0,
        "over an external store, which others may write to: seconds after which the lookup "
        "reads the knowledge graph again (and empties its cache)",
        "--lookup-refresh",
        "SECONDS",
    ),
    Limit(
        "FEDERATION_ALLOW",
        (),
        "an endpoint SERVICE may call (none by default); repeatable",
        "--allow-service",
        "URL",
    ),
    Limit(
        "SANDBOX",
        True,
        "confine the workers with a seccomp filter (no sockets) and the memory cap; "
        "--no-sandbox runs without, where the kernel offers no seccomp filter",
        "--no-sandbox",
    ),
)
DEFAULTS: dict[str, object] = {limit.key: limit.default for limit in LIMITS}

_OPENING = {"{": "}", "(": ")", "[": "]"}
_PATTERN_SEPARATORS = {".", ";", ","}
_OPERATORS = {"!", "&&", "||", "=", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "|", "^", "^^"}


class LimitError(Exception):
    """Base class of the requests refused for asking for more than the service gives;
    ``status`` is the HTTP status (400 unless a subclass says otherwise)."""

    status = 400


class QueryTooLargeError(LimitError):
    """A query longer, deeper or with more triple patterns or operators than allowed (400)."""


class InputTooDeepError(LimitError):
    """A JSON body nested deeper, or with longer numbers, than allowed (400)."""


class InvalidTimeoutError(LimitError):
    """A ``timeout`` parameter that is not a positive number of seconds (400)."""


def check_query_length(query: str, max_length: int | None) -> None:
    """Refuse ``query`` with :class:`QueryTooLargeError` if it is longer than ``max_length``
    characters: checked first, before anything reads the query."""
    if max_length is not None and len(query) > max_length:
        raise QueryTooLargeError(
            f"the query is {len(query)} characters long; the limit is {max_length}"
        )


def check_query_shape(
    query: str, max_length: int, max_depth: int, max_patterns: int, max_operators: int
) -> None:
    """Refuse ``query`` with :class:`QueryTooLargeError` if it is longer than ``max_length``
    characters, nests brackets deeper than ``max_depth``, holds more than ``max_patterns``
    triple patterns or more than ``max_operators`` operators. Strings, IRIs and comments do
    not count.

    The pattern count is an upper estimate: each group and each ``.``, ``;`` or ``,`` inside
    one counts, so a query near the limit may be refused when a parser would count fewer.
    Operators are bounded because a long expression without brackets (``!!!…!true``,
    ``1+1+…+1``) nests as deeply in the engine as brackets do.
    """
    check_query_length(query, max_length)
    depth = deepest = 0
    groups = separators = operators = 0
    for kind, text in engine_tokens(query):
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
        elif text in _OPERATORS:
            operators += 1
        if deepest > max_depth:
            raise QueryTooLargeError(
                f"the query nests brackets more than {max_depth} deep; the limit is {max_depth}"
            )
        if operators > max_operators:
            raise QueryTooLargeError(
                f"the query holds more than {max_operators} operators (! && || = < > + - * / "
                f"| ^); the limit is {max_operators}: split long expressions or paths"
            )
    if groups + separators > max_patterns:
        raise QueryTooLargeError(
            f"the query holds about {groups + separators} triple patterns; "
            f"the limit is {max_patterns}"
        )


def check_json_depth(body: bytes, max_depth: int) -> None:
    """Refuse with :class:`InputTooDeepError` a JSON text whose objects and arrays nest deeper
    than ``max_depth``: a linear scan, before any parser recurses into it."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
            if depth > max_depth:
                raise InputTooDeepError(
                    f"the JSON nests objects and arrays more than {max_depth} deep; "
                    f"the limit is {max_depth}"
                )
        elif byte in (0x7D, 0x5D):  # } ]
            depth -= 1


def load_json(body: bytes, max_depth: int, max_number_length: int) -> Any:
    """The JSON value of ``body``, refused with :class:`InputTooDeepError` past the bounds
    (nesting, length of a number) and with :class:`ValueError` where it is not JSON (NaN and
    Infinity included). A number is converted only once its length is checked: Python refuses
    integers of thousands of digits with an error of its own."""
    check_json_depth(body, max_depth)

    def number(text: str) -> float | int:
        if len(text) > max_number_length:
            raise InputTooDeepError(
                f"a number in the JSON has {len(text)} characters; the limit is "
                f'{max_number_length}: send amounts as strings such as "12000.00"'
            )
        return float(text) if any(c in text for c in ".eE") else int(text)

    def constant(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(body, parse_int=number, parse_float=number, parse_constant=constant)


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
