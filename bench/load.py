"""A bounded load test: 50 concurrent clients for 60 s against ``odr-kg serve``, mixing
lookups, the example queries and bad requests. Reports the answers by status, connection
errors and p50/p99 latency; the run fails (exit 1) on any 5xx or connection error.

Starts the server on a free port of 127.0.0.1. Every client comes from 127.0.0.1, which is one
client to the fair-use limits, so the server runs with those limits raised (the limits have
tests of their own). Run: ``.venv/bin/python bench/load.py [--clients 50] [--seconds 60]``.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import random
import statistics
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.parse
from pathlib import Path

from lookup import LOOKUP, free_port, wait_until_up

from odr_kg.sparql_protocol import example_queries


def requests_mix() -> list[tuple[str, str, str, bytes | None, dict[str, str]]]:
    """(kind, method, path, body, headers) of every request a client picks from."""
    json_type = {"Content-Type": "application/json"}
    results = {"Accept": "application/sparql-results+json"}
    mix = [
        ("lookup", "POST", "/api/lookup", json.dumps(LOOKUP).encode(), json_type),
        ("lookup", "GET", "/lookup?role=buyer&channel=offline&claim=damage", None, {}),
        ("lookup", "GET", "/api/vocabulary", None, {}),
    ]
    for example in example_queries():
        query = urllib.parse.urlencode({"query": example["text"]})
        mix.append(("query", "GET", f"/sparql?{query}", None, results))
    bad = [
        ("POST", "/api/lookup", b"{not json", json_type),
        ("POST", "/api/lookup", json.dumps({"role": "nobody"}).encode(), json_type),
        ("GET", "/sparql?query=SELECT%20*%20WHERE%20%7B", None, results),
        (
            "GET",
            "/sparql?query=SELECT+*+%7BSERVICE+%3Chttp%3A%2F%2F127.0.0.1%2F%3E%7B%7D%7D",
            None,
            results,
        ),  # noqa: E501
        ("POST", "/sparql", b"x" * (1024 * 1024 + 1), {"Content-Type": "application/sparql-query"}),  # noqa: E501
        ("GET", "/sparql?query=" + "%7B" * 100, None, results),
        ("PUT", "/sparql", b"", {}),
        ("GET", "/id/no-such-thing", None, {}),
    ]
    mix += [("bad", method, path, body, headers) for method, path, body, headers in bad]
    return mix


def client(port: int, until: float, mix: list, record: list, errors: collections.Counter) -> None:
    rng = random.Random()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.monotonic() < until:
        kind, method, path, body, headers = rng.choice(mix)
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as error:
            errors[type(error).__name__] += 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        record.append((kind, response.status, time.perf_counter() - started))
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--threads", type=int, default=16, help="the server's threads")
    args = parser.parse_args()
    script = Path(sysconfig.get_path("scripts")) / "odr-kg"
    port = free_port()
    server = subprocess.Popen(
        [
            str(script), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--threads", str(args.threads),
            "--client-concurrency", str(args.clients),
            "--client-query-seconds", "100000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    record: list[tuple[str, int, float]] = []
    errors: collections.Counter[str] = collections.Counter()
    try:
        wait_until_up(port, server)
        mix = requests_mix()
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=client, args=(port, until, mix, record, errors))
            for _ in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(timeout=10)
    statuses = collections.Counter(status for _, status, _ in record)
    print(f"{len(record)} answers in {args.seconds:g} s from {args.clients} clients "
          f"({len(record) / args.seconds:.0f}/s)")  # fmt: skip
    print("by status:", dict(sorted(statuses.items())))
    print("connection errors:", dict(errors) or 0)
    for kind in ("lookup", "query", "bad", None):
        latencies = [seconds for k, _, seconds in record if kind in (None, k)]
        if len(latencies) >= 2:
            cuts = statistics.quantiles(latencies, n=100)
            print(f"{kind or 'all':7} n={len(latencies):6} p50 {cuts[49] * 1000:7.1f} ms  "
                  f"p99 {cuts[98] * 1000:7.1f} ms")  # fmt: skip
    server_errors = sum(count for status, count in statuses.items() if status >= 500)
    return 1 if server_errors or errors else 0


if __name__ == "__main__":
    sys.exit(main())
