"""The benchmarks of issue 5 in one command; writes bench/RESULTS.md.

    .venv/bin/python bench/run.py [--sizes 1000,10000,100000] [--no-million] [--quick]

Measured side by side in one run, on data from bench/generate_cases.py (seeded):

- load rate and peak memory: the embedded store in memory and on disk (pyoxigraph's bulk
  loader, through :meth:`EmbeddedStore.bulk_load`) against rdflib's in-memory Dataset, each
  configuration in a subprocess of its own so that its peak memory (``ru_maxrss``) is its own;
- p50/p99 of every ``queries/*.rq`` and of the five aggregate questions of ``bench/queries``;
- the same questions through ``--endpoint`` on the Oxigraph server and on Virtuoso;
- HTTP throughput of ``/sparql`` and ``/api/lookup`` under a bounded load, against bare
  ``oxigraph serve`` and rdflib-endpoint serving the same dump;
- bulk validation: pyshacl-turbo against pyshacl.

Run by hand, never in tests: the figures depend on the machine. ``--quick`` uses tiny sizes to
check that every part runs.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import http.client
import importlib.metadata
import io
import json
import os
import platform
import pstats
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
SCRIPTS = Path(sysconfig.get_path("scripts"))
sys.path.insert(0, str(BENCH))

from generate_cases import generate, write  # noqa: E402
from lookup import LOOKUP  # noqa: E402

EXAMPLE_QUERIES = sorted((ROOT / "queries").glob("*.rq"))
AGGREGATE_QUERIES = sorted((BENCH / "queries").glob("*.rq"))
VIRTUOSO = shutil.which("virtuoso-t")
ISQL = shutil.which("isql-vt")
# The query of the HTTP comparison: an example question of the knowledge graph and an
# aggregate over the cases.
HTTP_QUERIES = [ROOT / "queries" / "11-claim-types-handled-by-channel.rq", AGGREGATE_QUERIES[1]]
# Above this many cases rdflib takes minutes to load: it is left out.
RDFLIB_MAX_CASES = 10_000
MILLION = 1_000_000


# Timing ------------------------------------------------------------------------------------


def timed_runs(run: Callable[[], object], budget: float, most: int = 20) -> list[float]:
    """Seconds of repeated runs: at least three, more while within ``budget`` seconds."""
    times: list[float] = []
    while len(times) < most:
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
        if len(times) >= 3 and sum(times) > budget:
            break
    return times


def p50_p99(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def query_times(query: Callable[[str], object], files: list[Path], budget: float) -> dict:
    """p50, p99 (ms), runs and rows of each query file, after one warm-up run."""
    figures = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        rows = len(list(query(text)))  # warm-up, and the size of the answer
        times = timed_runs(lambda text=text: list(query(text)), budget)
        p50, p99 = p50_p99(times)
        figures[path.name] = {
            "p50": p50 * 1000,
            "p99": p99 * 1000,
            "runs": len(times),
            "rows": rows,
        }
    return figures


# Children: one configuration a process ------------------------------------------------------


def child(task: dict) -> dict:
    """Run one measured task in this (fresh) process and return its figures."""
    from odr_kg.store import EmbeddedStore

    kind = task["kind"]
    if kind == "load":
        start = time.perf_counter()
        if task["engine"] == "rdflib":
            import rdflib

            store = rdflib.Dataset()
            for name in task["files"]:
                store.parse(name, format="nquads")
        else:
            store = EmbeddedStore(path=task.get("path"))
            for name in task["files"]:
                # The cases come from generate_cases.py: lenient skips the IRI checks (see
                # EmbeddedStore.bulk_load) that files from elsewhere need.
                store.bulk_load(name, lenient=task.get("lenient", False))
            store.close()
        seconds = time.perf_counter() - start
        figures = {"seconds": seconds, "cpu_seconds": cpu_time(), "rss_mib": peak_rss_mib()}
        # Counted after the clock stops: a count scans the whole store, it is no part of a load.
        figures["quads"] = len(store)
        return {**figures, "lenient": task.get("lenient", False)}
    if kind == "queries":
        store = EmbeddedStore(path=task.get("path"))
        for name in task.get("files", ()):
            store.bulk_load(name)
        files = [Path(name) for name in task["queries"]]
        return query_times(store.query, files, task["budget"])
    if kind == "prepare":
        store = EmbeddedStore(path=task["path"])
        store.load_packaged()
        for name in task["files"]:
            store.bulk_load(name)
        store.close()
        return {"quads": len(store)}
    raise ValueError(kind)


def cpu_time() -> float:
    """CPU seconds of this process so far, all its threads: on a shared machine a steadier
    measure of the work than the wall clock."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(task: dict) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(task)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.splitlines()[-1])


# Servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                response.read()
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered at {url}")


@contextmanager
def running(command: list[str], probe: str, log: Path) -> Iterator[subprocess.Popen]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        wait_for(probe, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


VIRTUOSO_INI = BENCH / "virtuoso.ini"


def virtuoso_threads() -> dict[str, int]:
    """The threads fields of bench/virtuoso.ini for this machine: two a core per query (with
    one a core, Virtuoso 7.2 ran the aggregates on one thread), a pool of those and two more."""
    threads = 2 * len(os.sched_getaffinity(0))
    return {"threads": threads, "pool_threads": threads + 2}


@contextmanager
def virtuoso(data: Path, work: Path) -> Iterator[tuple[str, float]]:
    """Virtuoso on 127.0.0.1 with the ``*.nq`` files of ``data`` loaded by its bulk loader;
    its SPARQL endpoint and the seconds the load took."""
    folder = Path(tempfile.mkdtemp(dir=work, prefix="virtuoso-"))
    sql_port, http_port = free_port(), free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(
        VIRTUOSO_INI.read_text().format(
            dir=folder,
            sql_port=sql_port,
            http_port=http_port,
            dirs_allowed=f"., {data}",
            # 2.6 GiB of 8 KiB pages: the database fills 7,131 of them at 100,000 cases and
            # 19,648 at 300,000 (status()), so about 64,000 at 1M: it stays in memory.
            buffers=340_000,
            dirty_buffers=250_000,
            max_rows=10_000,
            max_seconds=120,
            **virtuoso_threads(),
        )
    )
    endpoint = f"http://127.0.0.1:{http_port}/sparql"
    command = [VIRTUOSO, "+configfile", str(ini), "+foreground"]
    with running(command, endpoint + "?query=ASK%7B%7D", folder / "stdout.log"):
        start = time.perf_counter()
        isql(sql_port, f"ld_dir('{data}', '*.nq', 'urn:x-default'); rdf_loader_run(); checkpoint;")
        yield endpoint, time.perf_counter() - start


def isql(port: int, script: str) -> None:
    subprocess.run(
        [ISQL, f"127.0.0.1:{port}", "dba", "dba", f"exec={script}"],
        check=True,
        capture_output=True,
    )


# HTTP load ---------------------------------------------------------------------------------


def hammer(
    port: int, path: str, count: int, concurrency: int, body: bytes | None = None
) -> dict[str, float]:
    """``count`` requests from ``concurrency`` threads, each on its own keep-alive connection:
    requests a second over the wall-clock time, p50 and p99 latency (ms), failures."""
    local = threading.local()
    headers = {"Accept": "application/sparql-results+json"}
    if body is not None:
        headers["Content-Type"] = "application/json"

    statuses: dict[str, int] = {}

    def one(_: int) -> tuple[float, bool]:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start = time.perf_counter()
        try:
            local.connection.request("POST" if body else "GET", path, body=body, headers=headers)
            response = local.connection.getresponse()
            response.read()
            ok = response.status == 200
            if not ok:
                statuses[str(response.status)] = statuses.get(str(response.status), 0) + 1
        except (OSError, http.client.HTTPException) as error:
            local.connection.close()
            del local.connection
            ok = False
            statuses[type(error).__name__] = statuses.get(type(error).__name__, 0) + 1
        return time.perf_counter() - start, ok

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(min(count, 20))))  # warm-up
        start = time.perf_counter()
        results = list(pool.map(one, range(count)))
        wall = time.perf_counter() - start
    p50, p99 = p50_p99([seconds for seconds, _ in results])
    return {
        "per_second": count / wall,
        "p50": p50 * 1000,
        "p99": p99 * 1000,
        "failed": sum(not ok for _, ok in results),
        "failures": statuses,
        "count": count,
    }


def answer_rows(url: str) -> int:
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return len(json.load(response)["results"]["bindings"])


# Validation --------------------------------------------------------------------------------


def validation_figures(count: int, reference_count: int) -> dict:
    import pyoxigraph as ox

    from odr_kg.bulk_validation import validate_many
    from odr_kg.stores import open_store
    from odr_kg.validation import ShapesValidator, parse_case_triples

    validator = ShapesValidator.for_cases(open_store())
    cases = [
        (case.name, parse_case_triples("\n".join(case.lines), ox.RdfFormat.N_TRIPLES, case.name))
        for case in generate(count, seed=2, invalid_share=0.1)
    ]
    jobs = os.cpu_count() or 1
    figures: dict = {"cases": count, "reference_cases": reference_count, "jobs": jobs}
    start = time.perf_counter()
    turbo = validate_many(validator, cases, "turbo")
    figures["turbo_one_process_per_second"] = count / (time.perf_counter() - start)
    start = time.perf_counter()
    parallel = validate_many(validator, cases, "turbo", jobs=jobs)
    figures["turbo_per_second"] = count / (time.perf_counter() - start)
    figures["parallel_identical"] = [r.to_json() for r in parallel] == [r.to_json() for r in turbo]
    figures["turbo_nonconforming"] = sum(not report.conforms for report in turbo)
    sample = cases[:reference_count]
    start = time.perf_counter()
    reference = validate_many(validator, sample, "pyshacl")
    figures["pyshacl_per_second"] = reference_count / (time.perf_counter() - start)
    turbo_sample = validate_many(validator, sample, "turbo")
    figures["identical"] = [r.to_json() for r in reference] == [r.to_json() for r in turbo_sample]
    figures["reference_nonconforming"] = sum(not report.conforms for report in reference)
    profile = cProfile.Profile()
    profile.runcall(validate_many, validator, cases[: min(count, 1000)], "turbo")
    figures["profile"] = top_of(profile)
    return figures


def lookup_profile(requests: int = 300) -> str:
    from odr_kg.lookup import LookupEngine
    from odr_kg.stores import open_store

    engine = LookupEngine(open_store())
    facts = engine.facts_from_json(LOOKUP)
    engine.lookup(facts)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(requests):
        engine.lookup(facts)
    profile.disable()
    return top_of(profile)


def top_of(profile: cProfile.Profile, lines: int = 12) -> str:
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(lines)
    kept = [line for line in text.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(kept) if "ncalls" in line), 0)
    return "\n".join(line.replace(str(ROOT) + "/", "") for line in kept[start:])


# The machine -------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    load = os.getloadavg()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{memory_kib / 1024**2:.1f} GiB",
        "system": f"{platform.system()} {platform.release()}",
        "load": " ".join(f"{value:.2f}" for value in load),
    }


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("pyoxigraph", "rdflib", "pyshacl", "pyshacl-turbo", "oxigraph"):
        found[package] = importlib.metadata.version(package)
    try:
        found["rdflib-endpoint"] = importlib.metadata.version("rdflib-endpoint")
    except importlib.metadata.PackageNotFoundError:
        found["rdflib-endpoint"] = "not installed"
    if VIRTUOSO:
        text = subprocess.run([VIRTUOSO, "-?"], capture_output=True, text=True)
        banner = (text.stdout + text.stderr).splitlines()
        found["virtuoso"] = next((line for line in banner if "Version" in line), "?").strip()
    else:
        found["virtuoso"] = "not installed"
    return found


# The run -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="case counts, comma-separated")
    parser.add_argument(
        "--no-million",
        action="store_true",
        help="leave out 1M cases (the on-disk load and the example questions: about 8 min)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that all runs")
    parser.add_argument(
        "--out",
        type=Path,
        help="where to write the page (bench/RESULTS.md; with --quick, a file in the temp dir)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    sizes = [200, 1000] if args.quick else [int(size) for size in args.sizes.split(",")]
    budget = 0.3 if args.quick else 3.0
    http_requests = 100 if args.quick else 1000
    log = print
    started = time.monotonic()
    report: dict = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(),
        "quick": args.quick,
        "sizes": sizes,
    }
    work = Path(tempfile.mkdtemp(prefix="odr-kg-bench-"))
    try:
        log(f"working in {work}")
        kg = work / "kg.nq"
        subprocess.run([SCRIPTS / "odr-kg", "export", "--format", "nq", "-o", kg], check=True)
        data = {}
        all_sizes = sizes + ([] if args.no_million or args.quick else [MILLION])
        for size in all_sizes:
            folder = work / f"cases-{size}"
            folder.mkdir()
            start = time.perf_counter()
            write(generate(size, seed=1), None, folder / "cases.nq")
            data[size] = folder / "cases.nq"
            log(f"generated {size} cases in {time.perf_counter() - start:.0f} s")

        # Load rate and peak memory.
        loads = report["load"] = []
        for size in all_sizes:
            engines = ["disk"] if size == MILLION else ["memory", "disk", "rdflib"]
            for engine in engines:
                if engine == "rdflib" and size > RDFLIB_MAX_CASES:
                    loads.append({"size": size, "engine": engine, "skipped": True})
                    continue
                task = {"kind": "load", "engine": engine, "files": [str(data[size])]}
                if engine != "rdflib":
                    task["lenient"] = True  # generated here, by generate_cases.py
                if engine == "disk":
                    task["path"] = str(work / f"store-{size}")
                figures = in_child(task)
                loads.append({"size": size, "engine": engine, **figures})
                log(f"load {size} {engine}: {figures}")

        # Queries on the embedded store.
        queries = report["queries"] = {}
        for size in sizes:
            task = {
                "kind": "queries",
                "files": [str(kg), str(data[size])],
                "queries": [str(path) for path in EXAMPLE_QUERIES + AGGREGATE_QUERIES],
                "budget": budget,
            }
            queries[f"embedded {size}"] = in_child(task)
            log(f"queries at {size}: done")
        if MILLION in data:
            # The store on disk loaded above holds the cases only; the KG goes in beside them.
            path = str(work / f"store-{MILLION}")
            in_child({"kind": "load", "engine": "disk", "files": [str(kg)], "path": path})
            task = {
                "kind": "queries",
                "path": path,
                "queries": [str(p) for p in EXAMPLE_QUERIES],
                "budget": budget,
            }
            queries[f"embedded on disk {MILLION}"] = in_child(task)
            log("queries at 1M: done")

        # The same questions through --endpoint.
        from odr_kg.sparql_store import SparqlEndpointStore

        size = max(sizes)
        endpoint_data = work / "endpoint-data"
        endpoint_data.mkdir()
        shutil.copy(kg, endpoint_data / "kg.nq")
        shutil.copy(data[size], endpoint_data / "cases.nq")
        endpoints = report["endpoints"] = {"size": size}
        location = work / "oxigraph-server"
        start = time.perf_counter()
        subprocess.run(
            [SCRIPTS / "oxigraph", "load", "--location", location, "--file", kg, data[size]],
            check=True,
            capture_output=True,
        )
        endpoints["oxigraph_load_seconds"] = time.perf_counter() - start
        port = free_port()
        command = [str(SCRIPTS / "oxigraph"), "serve", "--location", str(location)]
        command += ["--bind", f"127.0.0.1:{port}"]
        with running(command, f"http://127.0.0.1:{port}/query?query=ASK%7B%7D", work / "ox.log"):
            store = SparqlEndpointStore(f"http://127.0.0.1:{port}/query", timeout=300)
            endpoints["oxigraph"] = query_times(
                store.query, EXAMPLE_QUERIES + AGGREGATE_QUERIES, budget
            )
        log("oxigraph server: done")
        if VIRTUOSO and ISQL:
            with virtuoso(endpoint_data, work) as (endpoint, seconds):
                endpoints["virtuoso_load_seconds"] = seconds
                store = SparqlEndpointStore(endpoint, union_parameter=None, timeout=300)
                endpoints["virtuoso"] = query_times(
                    store.query, EXAMPLE_QUERIES + AGGREGATE_QUERIES, budget
                )
            log("virtuoso: done")

        # HTTP throughput, on the knowledge graph and the smallest size of cases.
        size = min(sizes)
        http_figures = report["http"] = {"size": size, "concurrency": 4}
        store_path = work / "serve-store"
        in_child({"kind": "prepare", "path": str(store_path), "files": [str(data[size])]})
        oxigraph_location = work / "oxigraph-http"
        subprocess.run(
            [SCRIPTS / "oxigraph", "load", "--location", oxigraph_location]
            + ["--file", kg, data[size]],
            check=True,
            capture_output=True,
        )
        texts = {path.name: path.read_text(encoding="utf-8") for path in HTTP_QUERIES}

        def sparql_paths(prefix: str, extra: dict[str, str]) -> dict[str, str]:
            return {
                name: f"{prefix}?{urllib.parse.urlencode({'query': text, **extra})}"
                for name, text in texts.items()
            }

        servers: list[tuple[str, list[str], str, dict[str, str], int]] = []
        port = free_port()
        servers.append(
            (
                "odr-kg serve",
                [str(SCRIPTS / "odr-kg"), "serve", "--store", str(store_path)]
                + ["--host", "127.0.0.1", "--port", str(port)]
                # One client sends the whole load: the per-client limits would refuse most of it.
                + ["--client-concurrency", "16", "--client-query-seconds", "1000000"]
                + ["--max-waiting", "16"],
                f"http://127.0.0.1:{port}/health",
                sparql_paths("/sparql", {}),
                port,
            )
        )
        port = free_port()
        servers.append(
            (
                "oxigraph serve",
                [str(SCRIPTS / "oxigraph"), "serve", "--location", str(oxigraph_location)]
                + ["--bind", f"127.0.0.1:{port}"],
                f"http://127.0.0.1:{port}/query?query=ASK%7B%7D",
                sparql_paths("/query", {"union-default-graph": "true"}),
                port,
            )
        )
        rdflib_endpoint = SCRIPTS / "rdflib-endpoint"
        if rdflib_endpoint.is_file():
            port = free_port()
            servers.append(
                (
                    "rdflib-endpoint",
                    [str(rdflib_endpoint), "serve", str(kg), str(data[size])]
                    + ["--host", "127.0.0.1", "--port", str(port)],
                    # It serves SPARQL at / (its help says /sparql), over a union default graph.
                    f"http://127.0.0.1:{port}/?query=ASK%7B%7D",
                    sparql_paths("/", {}),
                    port,
                )
            )
        else:
            http_figures["rdflib-endpoint"] = "not installed: pip install -e '.[bench]'"
        for name, command, probe, paths, port in servers:
            with running(command, probe, work / f"{name.replace(' ', '-')}.log"):
                figures = http_figures[name] = {}
                count = http_requests if name != "rdflib-endpoint" else http_requests // 5
                for query_name, path in paths.items():
                    rows = answer_rows(f"http://127.0.0.1:{port}{path}")
                    figures[query_name] = {"rows": rows, **hammer(port, path, count, 4)}
                if name == "odr-kg serve":
                    body = json.dumps(LOOKUP).encode()
                    figures["/api/lookup"] = hammer(port, "/api/lookup", http_requests * 2, 4, body)
            log(f"http {name}: done")

        # Bulk validation.
        # 20,000 cases: each worker process takes about half a second to start (imports, the
        # shapes compiled), which at 3,000 cases was half of the parallel run.
        count, reference = (200, 50) if args.quick else (20000, 300)
        report["validation"] = validation_figures(count, reference)
        log("validation: done")
        report["lookup_profile"] = lookup_profile()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["minutes"] = (time.monotonic() - started) / 60
    out = args.out or (
        Path(tempfile.gettempdir()) / "odr-kg-bench-quick.md"
        if args.quick
        else BENCH / "RESULTS.md"
    )
    if not args.quick:
        # The figures beside the page: render_results.py renders it again from them.
        (BENCH / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    out.write_text(render(report), encoding="utf-8")
    log(f"wrote {out} in {report['minutes']:.1f} min")
    return 0


# RESULTS.md --------------------------------------------------------------------------------


def render(report: dict) -> str:
    from render_results import render_markdown

    return render_markdown(report)


if __name__ == "__main__":
    sys.exit(main())
