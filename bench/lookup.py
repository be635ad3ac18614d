"""Lookups per second and p50/p99 latency of ``POST /api/lookup`` through HTTP, against the
``/health`` endpoint measured in the same run as the baseline.

Starts ``odr-kg serve`` on a free port of 127.0.0.1, warms up, then times sequential requests
over one keep-alive connection. Run: ``.venv/bin/python bench/lookup.py [--requests N]``.

``--batch N``: the batch lookup side by side with the API on the same generated case graphs
(seeded, all valid): the per-case rate of ``POST /api/lookup`` (each case graph sent as Turtle
with ``?asOf``, one after another over one keep-alive connection to the served app) on a sample,
and of ``odr-kg lookup --batch`` (the command, start-up and reading included) on all N; their
ratio, and whether the sample's answers are identical. Writes bench/lookup-results.json, which
bench/render_results.py renders into RESULTS.md.
Never asserted in tests: the figures depend on the machine.
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
import tempfile
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


BENCH = Path(__file__).resolve().parent
AS_OF = "2026-11-27"


def serve(script: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    server = subprocess.Popen(
        [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server, port


def batch_side_by_side(count: int, sample: int, chunk: int | None) -> dict:
    """The API and the batch on the same ``count`` generated cases (the API on ``sample``)."""
    sys.path.insert(0, str(BENCH))
    from generate_cases import generate, write

    script = Path(sysconfig.get_path("scripts")) / "odr-kg"
    cases = list(generate(count, seed=1, invalid_share=0.0))
    work = Path(tempfile.mkdtemp(prefix="odr-kg-batch-"))
    corpus = work / "cases.nq"
    write(iter(cases), None, corpus)
    api_answers: dict[str, dict] = {}
    server, port = serve(script)
    try:
        wait_until_up(port, server)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": "text/turtle"}
        path = f"/api/lookup?asOf={AS_OF}"
        for case in cases[:20]:  # warm-up
            connection.request("POST", path, body="\n".join(case.lines), headers=headers)
            connection.getresponse().read()
        start = time.perf_counter()
        for case in cases[:sample]:
            connection.request("POST", path, body="\n".join(case.lines), headers=headers)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                sys.exit(f"POST {path} answered {response.status}: {body[:200]!r}")
            api_answers[f"https://example.org/cases/{case.name}/case"] = json.loads(body)
        api_seconds = time.perf_counter() - start
        connection.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    out = work / "answers.jsonl"
    command = [str(script), "lookup", "--batch", str(corpus), "--as-of", AS_OF, "--out", str(out)]
    if chunk:
        command += ["--chunk", str(chunk)]
    start = time.perf_counter()
    subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
    batch_seconds = time.perf_counter() - start
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    batch_answers = {line["case"]: line.get("answer") for line in lines}
    identical = all(batch_answers.get(case) == answer for case, answer in api_answers.items())
    for path in work.iterdir():
        path.unlink()
    work.rmdir()
    api_rate = sample / api_seconds
    batch_rate = count / batch_seconds
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "cases": count,
        "api_sample": sample,
        "api_per_second": api_rate,
        "batch_per_second": batch_rate,
        "batch_seconds": batch_seconds,
        "chunk": chunk,
        "ratio": batch_rate / api_rate,
        "identical": identical,
        "answered": sum("answer" in line for line in lines),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument(
        "--batch", type=int, metavar="N", help="the batch beside the API on N generated cases"
    )
    parser.add_argument("--sample", type=int, default=300, help="cases sent to the API")
    parser.add_argument("--chunk", type=int, help="the batch's --chunk (its default)")
    args = parser.parse_args()
    if args.batch:
        figures = batch_side_by_side(args.batch, min(args.sample, args.batch), args.chunk)
        (BENCH / "lookup-results.json").write_text(json.dumps(figures, indent=2) + "\n")
        print(
            f"POST /api/lookup {figures['api_per_second']:.1f} cases/s ({figures['api_sample']} "
            f"cases), batch {figures['batch_per_second']:.1f} cases/s ({figures['cases']} cases, "
            f"{figures['batch_seconds']:.1f} s): x{figures['ratio']:.2f}; identical answers: "
            f"{figures['identical']}"
        )
        return
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
