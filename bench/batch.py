"""The batch lookup beside ``POST /api/lookup`` on the same generated case graphs (seeded, all
valid): the per-case rate of the API (each case graph sent as Turtle with ``?asOf``, one after
another over one keep-alive connection to a served ``odr-kg serve``) on a sample, and of
``odr-kg lookup --batch`` (the command, start-up and reading included) on all of them; their
ratio, and whether the sample's answers are identical. Writes bench/batch-results.json, which
bench/render_results.py renders into RESULTS.md.

Run: ``.venv/bin/python bench/batch.py [--cases N] [--sample N] [--chunk N] [--workers N]``. Never
asserted in tests: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from lookup import free_port, wait_until_up

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


def batch_side_by_side(count: int, sample: int, chunk: int | None, workers: int | None) -> dict:
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
    if workers:
        command += ["--workers", str(workers)]
    load_before = os.getloadavg()
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
        "load_before_batch": " ".join(f"{x:.2f}" for x in load_before),
        "cases": count,
        "api_sample": sample,
        "api_per_second": api_rate,
        "batch_per_second": batch_rate,
        "batch_seconds": batch_seconds,
        "chunk": chunk,
        "workers": workers or len(os.sched_getaffinity(0)),
        "ratio": batch_rate / api_rate,
        "identical": identical,
        "answered": sum("answer" in line for line in lines),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000, help="generated cases for the batch")
    parser.add_argument("--sample", type=int, default=300, help="cases sent to the API")
    parser.add_argument("--chunk", type=int, help="the batch's --chunk (its default)")
    parser.add_argument("--workers", type=int, help="the batch's --workers (its default)")
    args = parser.parse_args()
    figures = batch_side_by_side(args.cases, min(args.sample, args.cases), args.chunk, args.workers)
    (BENCH / "batch-results.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(
        f"POST /api/lookup {figures['api_per_second']:.1f} cases/s ({figures['api_sample']} "
        f"cases), batch {figures['batch_per_second']:.1f} cases/s ({figures['cases']} cases, "
        f"{figures['batch_seconds']:.1f} s, {figures['workers']} workers): "
        f"x{figures['ratio']:.2f}; identical answers: {figures['identical']}; load average "
        f"{figures['load_before_batch']} before the batch, {figures['load']} after"
    )


if __name__ == "__main__":
    main()
