"""Peak memory of the web process and of each query worker, the knowledge graph alone and with a
corpus of generated cases loaded into the in-memory store.

Each run starts ``odr-kg serve --no-supervisor`` on a free port of 127.0.0.1 (with ``--data``
for the corpus), sends every example query once so that each worker has read what they touch,
and reads the peak resident size (``VmHWM``) of the web process and its workers from /proc. The
ratio that matters is a worker's peak with the corpus to its peak without: an in-memory store
over ``SHARED_ABOVE_QUADS`` quads is shared through one snapshot on disk, so a worker should not
grow with the corpus as the web process does. Figures go to bench/memory-results.json.

    .venv/bin/python bench/memory.py 100000 [--cases-file /tmp/cases.nq]
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import sysconfig
import time
import urllib.parse
from pathlib import Path

from generate_cases import generate, write
from lookup import free_port, wait_until_up

from odr_kg.workbench import example_queries

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "memory-results.json"


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def measure(*options: str) -> dict[str, object]:
    script = Path(sysconfig.get_path("scripts")) / "odr-kg"
    port = free_port()
    started = time.monotonic()
    command = [str(script), "serve", "--no-supervisor", "--port", str(port), *options]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(port, process, seconds=3600)
        ready = time.monotonic() - started
        for example in example_queries():
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            connection.request(
                "GET",
                "/sparql?" + urllib.parse.urlencode({"query": example["text"]}),
                headers={"Accept": "application/sparql-results+json"},
            )
            connection.getresponse().read()
        workers = [peak_mib(pid) for pid in children(process.pid)]
        return {
            "ready_seconds": round(ready, 1),
            "web_peak_mib": round(peak_mib(process.pid), 1),
            "worker_peak_mib": [round(value, 1) for value in sorted(workers)],
        }
    finally:
        process.terminate()
        process.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", type=int, help="cases in the corpus")
    parser.add_argument("--cases-file", type=Path, help="the corpus as N-Quads (made if absent)")
    args = parser.parse_args(argv)
    corpus = args.cases_file or Path(f"/tmp/odr-kg-cases-{args.cases}.nq")
    if not corpus.exists():
        write(generate(args.cases), None, corpus)
    alone = measure()
    loaded = measure("--data", str(corpus))
    worker_growth = max(loaded["worker_peak_mib"]) / max(alone["worker_peak_mib"])
    web_growth = loaded["web_peak_mib"] / alone["web_peak_mib"]
    figures = {
        "cases": args.cases,
        "knowledge graph alone": alone,
        "with the corpus": loaded,
        "worker peak, corpus / alone": round(worker_growth, 2),
        "web peak, corpus / alone": round(web_growth, 2),
    }
    runs = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    runs[str(args.cases)] = figures
    RESULTS.write_text(json.dumps(runs, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
