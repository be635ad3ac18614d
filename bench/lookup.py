"""Lookups per second and p50/p99 latency of ``POST /api/lookup`` through HTTP, against the
``/health`` endpoint measured in the same run as the baseline.

Starts ``odr-kg serve`` on a free port of 127.0.0.1, warms up, then times sequential requests
over one keep-alive connection. Run: ``.venv/bin/python bench/lookup.py [--requests N]``.
Never asserted in tests: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

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


def measure(port: int, method: str, path: str, body: bytes | None, count: int) -> list[float]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - start)
        if response.status != 200:
            sys.exit(f"{method} {path} answered {response.status}")
    connection.close()
    return latencies


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
    args = parser.parse_args()
    script = Path(sysconfig.get_path("scripts")) / "odr-kg"
    port = free_port()
    server = subprocess.Popen(
        [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(port, server)
        body = json.dumps(LOOKUP).encode()
        measure(port, "POST", "/api/lookup", body, 50)  # warm-up
        health = summary(measure(port, "GET", "/health", None, args.requests))
        lookup = summary(measure(port, "POST", "/api/lookup", body, args.requests))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"{'':10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, figures in (("/health", health), ("lookup", lookup)):
        print(
            f"{name:10} {figures['per_second']:9.0f} {figures['p50_ms']:8.2f} {figures['p99_ms']:8.2f}"  # noqa: E501
        )
    print(
        f"lookup / health: throughput x{lookup['per_second'] / health['per_second']:.2f}, "
        f"p50 x{lookup['p50_ms'] / health['p50_ms']:.1f}, p99 x{lookup['p99_ms'] / health['p99_ms']:.1f}"  # noqa: E501
    )


if __name__ == "__main__":
    main()
