"""The procedure lookup in process (``LookupEngine.lookup``, no HTTP): its p50 against the target
of 5 ms, and against a floor measured in the same process.

The floor is what pyoxigraph charges to be asked the rules at all: each rule of
``queries/rules/`` run once over an empty store, which parses and plans it (pyoxigraph plans a
query anew on every call) and finds nothing. No change to what the rules read or to the Python
around them goes under it; only fewer or simpler rules, or an engine that plans a query once,
would. The lookup is also split into its parts: the rules over the case (the case graph in, the
rules run, taken out again) and the framing of the JSON answer.

Each lookup asks about another as-of date (the engine keeps no answers, so each is computed;
``odr-kg serve``'s cache of answers is measured by bench/lookup.py). Writes
bench/lookup-in-process-results.json, rendered into bench/RESULTS.md by
bench/render_results.py. Run: ``.venv/bin/python bench/lookup_in_process.py [--lookups N]``.
Never asserted in tests: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

from odr_kg.lookup import LookupEngine
from odr_kg.stores import open_store

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from lookup import LOOKUP  # noqa: E402

RESULTS = BENCH / "lookup-in-process-results.json"
TARGET_MS = 5.0


def p50_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--no-save", action="store_true", help="do not write the results file")
    args = parser.parse_args()
    import pyoxigraph as ox

    engine = LookupEngine(open_store())
    first = dt.date.fromisoformat(LOOKUP["asOf"])
    requests = [
        {**LOOKUP, "asOf": (first + dt.timedelta(days=day)).isoformat()}
        for day in range(args.lookups)
    ]
    facts = [engine.facts_from_json(request) for request in requests]
    for one in facts[:20]:  # warm-up: the thread's copy of the knowledge graph, the caches
        engine.lookup(one)
    empty = ox.Store()
    lookups, rules, framing, floor = [], [], [], []
    # Interleaved, one of each in turn: a change of the machine's load touches all alike.
    for one in facts:
        start = time.perf_counter()
        engine.lookup(one)
        lookups.append(time.perf_counter() - start)
        case_triples = engine.case_triples(one)
        start = time.perf_counter()
        derived = engine._run_rules(case_triples)
        rules.append(time.perf_counter() - start)
        start = time.perf_counter()
        engine.answer(derived, case_triples[0].subject.value)
        framing.append(time.perf_counter() - start)
        start = time.perf_counter()
        for _name, rule in engine.rules:
            list(empty.query(rule))
        floor.append(time.perf_counter() - start)
    figures = {
        "lookup": p50_ms(lookups),
        "rules over the case": p50_ms(rules),
        "framing the answer": p50_ms(framing),
        "floor: the rules planned over an empty store": p50_ms(floor),
    }
    base = figures["floor: the rules planned over an empty store"]
    print(f"{'in process, p50':48} {'ms':>8} {'/ floor':>8}")
    for name, value in figures.items():
        print(f"{name:48} {value:8.2f} {value / base:8.2f}")
    lookup = figures["lookup"]
    print(f"target: lookup p50 <= {TARGET_MS:g} ms: {lookup / TARGET_MS:.2f}x the target")
    if not args.no_save:
        report = {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "lookups": args.lookups,
            "rules": len(engine.rules),
            "load": " ".join(f"{value:.2f}" for value in os.getloadavg()),
            "target_ms": TARGET_MS,
            "p50_ms": figures,
        }
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
