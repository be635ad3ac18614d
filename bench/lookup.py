"""Lookups per second and p50/p99 latency of ``POST /api/lookup`` through HTTP, against the
``/health`` endpoint measured in the same run, by the same client, as the baseline.

Starts ``odr-kg serve`` on a free port of 127.0.0.1, warms up, then times sequential requests
over one keep-alive connection: ``/health``; the same lookup again and again (answered from the
server's cache of answers after the first); and lookups that each ask about another date (each
computed by the rules: the cost without the cache). Prints the ratios and writes them to
bench/lookup-results.json, rendered into bench/RESULTS.md by bench/render_results.py. Run:
``.venv/bin/python bench/lookup.py [--requests N]``. Never asserted in tests: the figures depend
on the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "lookup-results.json"

LOOKUP = {
    "role": "buyer",
    "channel": "trade-assurance",
    "claim": "non-delivery",
    "paid": {"amount": "12000.00", "currency": "USD"},
    "guarantee": {"amount": "5000.00", "currency": "USD"},
    "receivedOn": "2026-10-01",
    "asOf": "2026-11-27",
    "dissatisfiedWithDecision": True,
    "contractForum": "none",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(port: int, server: subprocess.Popen[bytes], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("odr-kg serve exited")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("odr-kg serve did not start")


def measure(
    port: int, method: str, path: str, bodies: list[bytes] | None, count: int
) -> list[float]:
    """The latencies of ``count`` requests on one keep-alive connection, sending the
    ``bodies`` in turn (none: a GET)."""
    headers = {"Content-Type": "application/json"} if bodies is not None else {}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies = []
    for number in range(count):
        body = bodies[number % len(bodies)] if bodies is not None else None
        start = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - start)
        if response.status != 200:
            sys.exit(f"{method} {path} answered {response.status}")
    connection.close()
    return latencies


def distinct_lookups(count: int) -> list[bytes]:
    """``count`` lookups that differ in their as-of date only, so none shares an answer."""
    first = dt.date.fromisoformat(LOOKUP["asOf"])
    return [
        json.dumps({**LOOKUP, "asOf": (first + dt.timedelta(days=day)).isoformat()}).encode()
        for day in range(count)
    ]


def summary(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "per_second": len(latencies) / sum(latencies),
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--no-save", action="store_true", help="do not write the results file")
    args = parser.parse_args()
    script = Path(sysconfig.get_path("scripts")) / "odr-kg"
    port = free_port()
    server = subprocess.Popen(
        [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    same = [json.dumps(LOOKUP).encode()]
    # Distinct from the warm-up's and from each other: every one is computed.
    distinct = distinct_lookups(args.requests // 4 + 50)
    try:
        wait_until_up(port, server)
        measure(port, "POST", "/api/lookup", distinct[:50], 50)  # warm-up
        measure(port, "GET", "/health", None, 50)
        figures = {
            "/health": summary(measure(port, "GET", "/health", None, args.requests)),
            "lookup, the same facts": summary(
                measure(port, "POST", "/api/lookup", same, args.requests)
            ),
            "lookup, each on another date": summary(
                measure(port, "POST", "/api/lookup", distinct[50:], len(distinct) - 50)
            ),
        }
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"{'':30} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'/ health':>9}")
    health = figures["/health"]["per_second"]
    for name, f in figures.items():
        f["ratio_to_health"] = f["per_second"] / health
        print(
            f"{name:30} {f['per_second']:9.0f} {f['p50_ms']:8.2f} {f['p99_ms']:8.2f} "
            f"{f['ratio_to_health']:9.2f}"
        )
    if not args.no_save:
        report = {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "requests": args.requests,
            "load": " ".join(f"{value:.2f}" for value in os.getloadavg()),
            "figures": figures,
        }
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
