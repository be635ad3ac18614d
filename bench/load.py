"""Load, fairness and memory bombs against ``odr-kg serve`` on 127.0.0.1; bounded in time.

Three runs, each against a server of its own on a free port:

- ``mix``: 50 concurrent clients for 60 s mixing lookups, the example queries and bad
  requests; answers by status, connection errors, p50/p99. Every client comes from 127.0.0.1,
  one client to the fair-use limits, so this server runs with those limits raised.
- ``fairness``: the default configuration. Two clients (127.0.0.2, 127.0.0.3) send slow
  queries back to back, as their limits allow; a third (127.0.0.4) sends cheap queries. Its
  latency is compared with the same cheap queries on an idle server measured in the same run.
- ``memory``: the default configuration. One client sends memory bombs (nested REPLACE, ORDER BY
  over a cartesian product) back to back while another sends cheap queries; the peak memory of
  every worker is sampled and compared with the cap.

Each run fails (exit 1) on any connection error, and on 5xx where none is expected. Figures go
to bench/load-results.json, rendered into bench/RESULTS.md by bench/render_results.py. Run:
``.venv/bin/python bench/load.py [mix|fairness|memory|all] [--seconds S]``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
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
from collections.abc import Callable, Iterator
from pathlib import Path

from lookup import LOOKUP, free_port, wait_until_up

from odr_kg.workbench import example_queries

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "load-results.json"
RESULTS_JSON = {"Accept": "application/sparql-results+json"}
CHEAP = "ASK { <https://w3id.org/odr-kg/id/forum/hkiac> ?p ?o }"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
ORDERED_PRODUCT = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f ?a ?d"


def replace_bomb(levels: int = 12) -> str:
    inner = '"aaaaaaaaaa"'
    for _ in range(levels):
        inner = f'REPLACE({inner}, "a", "aaaaaaaaaa")'
    return f"SELECT (STRLEN({inner}) AS ?n) WHERE {{}}"


def sparql_path(query: str, **parameters: str) -> str:
    return "/sparql?" + urllib.parse.urlencode({"query": query, **parameters})


@contextlib.contextmanager
def server(*options: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    script = Path(sysconfig.get_path("scripts")) / "odr-kg"
    port = free_port()
    process = subprocess.Popen(
        [str(script), "serve", "--host", "127.0.0.1", "--port", str(port), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(port, process)
        yield port, process
    finally:
        process.terminate()
        process.wait(timeout=20)


class Client:
    """One HTTP client from the loopback address ``source``, on a keep-alive connection."""

    def __init__(self, port: int, source: str = "127.0.0.1", timeout: float = 60) -> None:
        self.port, self.source, self.timeout = port, source, timeout
        self.connection = self._connect()
        self.errors: collections.Counter[str] = collections.Counter()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=self.timeout, source_address=(self.source, 0)
        )

    def send(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, float] | None:
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers or {})
            response = self.connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as error:
            self.errors[type(error).__name__] += 1
            self.connection.close()
            self.connection = self._connect()
            return None
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
            self.connection = self._connect()
        return response.status, time.perf_counter() - started


def latency_summary(latencies: list[float]) -> dict[str, float]:
    if len(latencies) < 2:
        return {"n": len(latencies)}
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "n": len(latencies),
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        "max_ms": max(latencies) * 1000,
    }


def loop(until: float, step: Callable[[], None]) -> threading.Thread:
    def run() -> None:
        while time.monotonic() < until:
            step()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


# The mix ------------------------------------------------------------------------------------


def requests_mix() -> list[tuple[str, str, str, bytes | None, dict[str, str]]]:
    """(kind, method, path, body, headers) of every request a client picks from."""
    json_type = {"Content-Type": "application/json"}
    mix = [
        ("lookup", "POST", "/api/lookup", json.dumps(LOOKUP).encode(), json_type),
        ("lookup", "GET", "/lookup?role=buyer&channel=offline&claim=damage", None, {}),
        ("lookup", "GET", "/api/vocabulary", None, {}),
    ]
    for example in example_queries():
        mix.append(("query", "GET", sparql_path(example["text"]), None, RESULTS_JSON))
    sparql_query = {"Content-Type": "application/sparql-query"}
    bad = [
        ("POST", "/api/lookup", b"{not json", json_type),
        ("POST", "/api/lookup", json.dumps({"role": "nobody"}).encode(), json_type),
        ("GET", "/sparql?query=SELECT%20*%20WHERE%20%7B", None, RESULTS_JSON),
        ("GET", sparql_path("SELECT * {1.SERVICE <http://127.0.0.1/> {}}"), None, RESULTS_JSON),
        ("POST", "/sparql", b"x" * (1024 * 1024 + 1), sparql_query),
        ("GET", "/sparql?query=" + "%7B" * 100, None, RESULTS_JSON),
        ("PUT", "/sparql", b"", {}),
        ("GET", "/id/no-such-thing", None, {}),
    ]
    mix += [("bad", method, path, body, headers) for method, path, body, headers in bad]
    return mix


def run_mix(seconds: float, clients: int = 50, threads: int = 16) -> dict:
    options = ["--threads", str(threads), "--client-concurrency", str(clients)]
    # All clients come from one address and wait for workers together: the waiting bound is
    # lifted with the client bounds (this run measures throughput and latency under load).
    options += ["--client-query-seconds", "100000", "--max-waiting", str(threads)]
    record: list[tuple[str, int, float]] = []
    errors: collections.Counter[str] = collections.Counter()
    mix = requests_mix()
    with server(*options) as (port, _):
        until = time.monotonic() + seconds
        workers = []
        for _ in range(clients):
            client, rng = Client(port, timeout=30), random.Random()

            def step(client: Client = client, rng: random.Random = rng) -> None:
                kind, method, path, body, headers = rng.choice(mix)
                answer = client.send(method, path, body, headers)
                if answer is not None:
                    record.append((kind, *answer))

            workers.append((client, loop(until, step)))
        for client, thread in workers:
            thread.join()
            errors.update(client.errors)
    statuses = collections.Counter(status for _, status, _ in record)
    return {
        "clients": clients,
        "seconds": seconds,
        "answers": len(record),
        "per_second": len(record) / seconds,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "connection_errors": dict(errors),
        "latency": {
            kind or "all": latency_summary([s for k, _, s in record if kind in (None, k)])
            for kind in ("lookup", "query", "bad", None)
        },
        "failed": bool(errors) or any(status >= 500 for status in statuses),
    }


# Fairness -----------------------------------------------------------------------------------


def cheap_queries(port: int, until: float, source: str, record: list) -> threading.Thread:
    client = Client(port, source)

    def step() -> None:
        answer = client.send("GET", sparql_path(CHEAP), headers=RESULTS_JSON)
        if answer is not None:
            record.append(answer)
        time.sleep(0.05)

    thread = loop(until, step)
    thread.client = client  # type: ignore[attr-defined]
    return thread


def run_fairness(seconds: float) -> dict:
    with server() as (port, _):
        alone: list[tuple[int, float]] = []
        cheap_queries(port, time.monotonic() + seconds / 3, "127.0.0.4", alone).join()
        until = time.monotonic() + seconds
        slow: dict[str, list[tuple[int, float]]] = {"127.0.0.2": [], "127.0.0.3": []}
        heavy = []
        for source, record in slow.items():
            client = Client(port, source)

            def step(client: Client = client, record: list = record) -> None:
                answer = client.send("GET", sparql_path(SLOW), headers=RESULTS_JSON)
                if answer is not None:
                    record.append(answer)
                    if answer[0] == 429:
                        time.sleep(0.5)

            heavy.append((client, loop(until, step)))
        time.sleep(1)
        shared: list[tuple[int, float]] = []
        cheap = cheap_queries(port, until, "127.0.0.4", shared)
        cheap.join()
        for _, thread in heavy:
            thread.join()
    errors = sum(sum(client.errors.values()) for client, _ in heavy)
    errors += sum(cheap.client.errors.values())  # type: ignore[attr-defined]
    baseline = latency_summary([s for _, s in alone])
    contended = latency_summary([s for _, s in shared])
    return {
        "seconds": seconds,
        "cheap_alone": baseline,
        "cheap_beside_two_slow_clients": contended,
        "cheap_statuses": dict(collections.Counter(str(status) for status, _ in shared)),
        "slow_statuses": {
            source: dict(collections.Counter(str(status) for status, _ in record))
            for source, record in slow.items()
        },
        "p50_ratio": contended["p50_ms"] / baseline["p50_ms"],
        "connection_errors": errors,
        "failed": bool(errors) or any(status != 200 for status, _ in shared),
    }


# Memory bombs -------------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    children: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return [grandchild for child in children for grandchild in (child, *descendants(child))]


def peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_memory(seconds: float, cap_mib: int = 1024) -> dict:
    with server("--worker-memory", str(cap_mib)) as (port, process):
        until = time.monotonic() + seconds
        bombs: list[tuple[int, float]] = []
        bomber = Client(port, "127.0.0.2")
        queries = [replace_bomb(), ORDERED_PRODUCT]

        def bomb() -> None:
            answer = bomber.send("GET", sparql_path(queries[len(bombs) % 2]), headers=RESULTS_JSON)
            if answer is not None:
                bombs.append(answer)

        bombing = loop(until, bomb)
        peaks: dict[int, float] = {}

        def sample() -> None:
            for pid in descendants(process.pid):
                peaks[pid] = max(peaks.get(pid, 0.0), peak_rss_mib(pid))
            time.sleep(0.2)

        sampling = loop(until, sample)
        shared: list[tuple[int, float]] = []
        cheap = cheap_queries(port, until, "127.0.0.4", shared)
        for thread in (bombing, sampling, cheap):
            thread.join()
        alive = process.poll() is None
    errors = sum(bomber.errors.values()) + sum(cheap.client.errors.values())  # type: ignore[attr-defined]
    return {
        "seconds": seconds,
        "cap_mib": cap_mib,
        "bombs": len(bombs),
        "bomb_statuses": dict(collections.Counter(str(status) for status, _ in bombs)),
        "peak_rss_mib": max(peaks.values(), default=0.0),
        "processes_sampled": len(peaks),
        "cheap": latency_summary([s for _, s in shared]),
        "cheap_statuses": dict(collections.Counter(str(status) for status, _ in shared)),
        "server_alive": alive,
        "connection_errors": errors,
        "failed": bool(errors) or not alive or any(status != 200 for status, _ in shared),
    }


RUNS = {"mix": run_mix, "fairness": run_fairness, "memory": run_memory}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", default="all", choices=[*RUNS, "all"])
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    failed = False
    for name in RUNS if args.run == "all" else [args.run]:
        figures = RUNS[name](args.seconds)
        figures["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        results[name] = figures
        failed |= figures["failed"]
        print(name, json.dumps(figures, indent=2))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
