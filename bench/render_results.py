"""bench/RESULTS.md from the figures bench/run.py measured (kept in bench/results.json, so the
page can be rendered again without measuring: ``python bench/render_results.py``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
MILLION = 1_000_000
TRIPLES_PER_CASE = 25


def render_markdown(report: dict) -> str:
    out: list[str] = []
    add = out.append
    add("# Benchmarks\n")
    add(
        "Written by `bench/run.py` (do not edit by hand; the figures are in `bench/results.json`). "
        f"Run {report['date']}, {report['minutes']:.1f} min"
        + (", **--quick: tiny sizes, the figures mean nothing**" if report["quick"] else "")
        + ".\n"
    )
    machine = report["machine"]
    add("## Machine and versions\n")
    add("| | |\n|---|---|")
    add(f"| CPU | {machine['cpu']}, {machine['cores']} cores |")
    add(f"| Memory | {machine['memory']} |")
    add(f"| System | {machine['system']} |")
    add(f"| Load average at start | {machine['load']} |")
    for name, version in report["versions"].items():
        add(f"| {name} | {version} |")
    load1 = float(machine["load"].split()[0])
    if load1 > 0.3:
        add(
            f"\nThe machine was not idle at the start of the run (load average {load1:.2f}), so "
            "timings are pessimistic and noisier than on an idle machine; ratios measured side "
            "by side suffer less.\n"
        )
    add("")
    targets(report, add)
    loads(report, add)
    queries(report, add)
    endpoints(report, add)
    http(report, add)
    validation(report, add)
    load_runs(add)
    memory_runs(add)
    lookup_runs(add)
    lookup_in_process_runs(add)
    batch_runs(add)
    notes = BENCH / "NOTES.md"
    if notes.is_file():
        add("## Notes on the misses (hand-written, in bench/NOTES.md)\n")
        add(notes.read_text(encoding="utf-8").strip() + "\n")
    add("## Profiles\n")
    add("cProfile of 1,000 cases through `validate_many(..., 'turbo')` (cumulative time):\n")
    add("```\n" + report["validation"]["profile"] + "\n```\n")
    add("cProfile of 300 lookups in process (`LookupEngine.lookup`, no HTTP):\n")
    add("```\n" + report["lookup_profile"] + "\n```\n")
    return "\n".join(out) + "\n"


def verdict(ok: bool, detail: str) -> str:
    return ("met" if ok else "**missed**") + f" ({detail})"


def targets(report: dict, add) -> None:
    add("## Targets\n")
    add("| Target | Measured | Verdict |\n|---|---|---|")
    v = report["validation"]
    rate = v["turbo_per_second"]
    ratio = rate / v["pyshacl_per_second"]
    add(
        f"| bulk validation ≥ 3,000 cases/s and ≥ 50× pyshacl in the same run, identical to "
        f"pyshacl | {rate:,.0f} cases/s with {v.get('jobs', 1)} processes "
        f"(pyshacl {v['pyshacl_per_second']:,.0f}: {ratio:.0f}×); identical: {v['identical']} | "
        + verdict(
            rate >= 3000 and ratio >= 50 and v["identical"],
            f"{rate / 3000:.2f}× the rate, {ratio / 50:.2f}× the ratio",
        )
        + " |"
    )
    million = [row for row in report["load"] if row["size"] == MILLION and "seconds" in row]
    if million:
        row = million[0]
        ok = row["seconds"] <= 240 and row["rss_mib"] <= 4096
        add(
            f"| 1M cases into the on-disk store ≤ 4 min within 4 GiB | {row['seconds']:.0f} s, "
            f"{row['rss_mib']:,.0f} MiB peak"
            + (
                f" ({row['measured']['date']}, load average {row['measured']['load']})"
                if "measured" in row
                else ""
            )
            + " | "
            + verdict(
                ok, f"{row['seconds'] / 240:.2f}× the time, {row['rss_mib'] / 4096:.2f}× the memory"
            )
            + " |"
        )
    else:
        add("| 1M cases into the on-disk store ≤ 4 min within 4 GiB | not run | – |")
    at_million = report["queries"].get(f"embedded on disk {MILLION}")
    if at_million:
        worst = max(at_million.items(), key=lambda item: item[1]["p50"])
        add(
            "| every example question at 1M cases p50 ≤ 1 s | slowest "
            f"`{worst[0]}` p50 {worst[1]['p50']:,.0f} ms | "
            + verdict(worst[1]["p50"] <= 1000, f"{worst[1]['p50'] / 1000:.2f}× the bound")
            + " |"
        )
    else:
        add("| every example question at 1M cases p50 ≤ 1 s | not run | – |")
    virtuoso = report["endpoints"].get("virtuoso")
    size = report["endpoints"]["size"]
    million_virtuoso = report["endpoints"].get("virtuoso_million")
    if million_virtuoso:
        worst = max(million_virtuoso["queries"].items(), key=lambda item: item[1]["p50"])
        add(
            f"| five aggregate questions at 1M p50 ≤ 1 s through Virtuoso | at 1,000,000 cases "
            f"({million_virtuoso['measured']['date']}): slowest `{worst[0]}` p50 "
            f"{worst[1]['p50']:,.0f} ms | "
            + verdict(worst[1]["p50"] <= 1000, f"{worst[1]['p50'] / 1000:.2f}× the bound")
            + " |"
        )
    elif virtuoso:
        aggregates = {k: v for k, v in virtuoso.items() if k in aggregate_names(report)}
        worst = max(aggregates.items(), key=lambda item: item[1]["p50"])
        add(
            f"| five aggregate questions at 1M p50 ≤ 1 s through Virtuoso | at {size:,} cases "
            f"(1M not run): slowest `{worst[0]}` p50 {worst[1]['p50']:,.0f} ms | "
            + verdict(
                worst[1]["p50"] * MILLION / size <= 1000,
                f"at {size:,}; linear extrapolation to 1M: "
                f"{worst[1]['p50'] * MILLION / size / 1000:.2f} s",
            )
            + " |"
        )
    else:
        add("| five aggregate questions at 1M p50 ≤ 1 s through Virtuoso | Virtuoso absent | – |")
    h = report["http"]
    ours = h.get("odr-kg serve", {})
    for baseline, factor in (("rdflib-endpoint", 5), ("oxigraph serve", 0.5)):
        other = h.get(baseline)
        if not isinstance(other, dict):
            add(f"| `/sparql` ≥ {factor}× {baseline} | {other or 'not run'} | – |")
            continue
        ratios = [
            ours[name]["per_second"] / other[name]["per_second"]
            for name in other
            if name in ours and name.endswith(".rq")
        ]
        worst = min(ratios)
        shown = ", ".join(f"{ratio:.2f}×" for ratio in ratios)
        add(
            f"| `/sparql` ≥ {factor}× {baseline} (req/s, same query) | {shown} | "
            + verdict(worst >= factor, f"worst {worst / factor:.2f}× the target")
            + " |"
        )
    in_process = measured_apart("lookup-in-process-results.json")
    if in_process:
        p50 = in_process["p50_ms"]["lookup"]
        floor = in_process["p50_ms"]["floor: the rules planned over an empty store"]
        add(
            f"| lookup ≤ {in_process['target_ms']:g} ms p50 in process | {p50:.1f} ms "
            f"(the rules' planning alone {floor:.1f} ms) | "
            + verdict(
                p50 <= in_process["target_ms"],
                f"{p50 / in_process['target_ms']:.1f}× the bound; measured apart, "
                f"{in_process['date']}",
            )
            + " |"
        )
    batch = measured_apart("batch-results.json")
    if batch:
        add(
            f"| batch lookup ≥ 20× the per-case rate of `POST /api/lookup`, same cases, identical "
            f"answers | {batch['batch_per_second']:,.1f} cases/s against "
            f"{batch['api_per_second']:,.1f} ({batch['ratio']:.2f}×); identical: "
            f"{batch['identical']} | "
            + verdict(
                batch["ratio"] >= 20 and batch["identical"],
                f"{batch['ratio'] / 20:.2f}× the target; measured apart, {batch['date']}",
            )
            + " |"
        )
    lookup = ours.get("/api/lookup")
    if lookup:
        ok = lookup["per_second"] >= 1000 and lookup["p99"] <= 20
        add(
            f"| `/api/lookup` ≥ 1,000 req/s, p99 ≤ 20 ms | {lookup['per_second']:,.0f} req/s, "
            f"p99 {lookup['p99']:.1f} ms | "
            + verdict(
                ok,
                f"{lookup['per_second'] / 1000:.2f}× the rate, {lookup['p99'] / 20:.2f}× the p99",
            )
            + " |"
        )
    add("")


def measured_apart(name: str) -> Any:
    """The figures a benchmark run apart from run.py wrote to bench/``name``, if it has run."""
    path = BENCH / name
    return json.loads(path.read_text()) if path.is_file() else None


def batch_runs(add) -> None:
    b = measured_apart("batch-results.json")
    if not b:
        return
    add("## Batch lookup beside `POST /api/lookup` (bench/batch.py)\n")
    add(
        f"Run {b['date']} (load average at the end {b['load']}). The same {b['cases']:,} "
        "generated case graphs (seeded, all valid): the first "
        f"{b['api_sample']:,} sent one by one as Turtle to `POST /api/lookup?asOf=…` of a "
        "served `odr-kg serve` (one keep-alive connection, the client on the same 2 cores), "
        f"all of them to `odr-kg lookup --batch cases.nq --out …` (the command, start-up "
        f"included: {b['batch_seconds']:.1f} s, --chunk {b['chunk'] or 'default'}, "
        f"--workers {b.get('workers', 1)}).\n"
    )
    add("| | cases | cases/s |\n|---|---:|---:|")
    add(f"| `POST /api/lookup` | {b['api_sample']:,} | {b['api_per_second']:,.1f} |")
    add(f"| `odr-kg lookup --batch` | {b['cases']:,} | {b['batch_per_second']:,.1f} |")
    add(
        f"\nRatio {b['ratio']:.2f}×; the API's answers of the sample and the batch's lines "
        + ("are **identical**." if b["identical"] else "**differ**.")
        + "\n"
    )


def aggregate_names(report: dict) -> set[str]:
    return {path.name for path in (BENCH / "queries").glob("*.rq")}


def loads(report: dict, add) -> None:
    add("## Load rate and peak memory\n")
    add(
        "Each configuration in a process of its own; peak memory is its `ru_maxrss`. The "
        "embedded store loads with pyoxigraph's bulk loader (`EmbeddedStore.bulk_load`); "
        "rdflib parses the same N-Quads into an in-memory `Dataset`.\n"
    )
    add("| cases | engine | seconds | CPU s | triples/s | cases/s | peak MiB | vs rdflib |")
    add("|---:|---|---:|---:|---:|---:|---:|---:|")
    rdflib_rate = {
        row["size"]: row["quads"] / row["seconds"]
        for row in report["load"]
        if row["engine"] == "rdflib" and "seconds" in row
    }
    names = {"memory": "embedded, in memory", "disk": "embedded, on disk", "rdflib": "rdflib"}
    skipped = []
    apart = []
    for row in report["load"]:
        if row.get("skipped"):
            skipped.append(row["size"])
            continue
        rate = row["quads"] / row["seconds"]
        ratio = f"{rate / rdflib_rate[row['size']]:.1f}×" if row["size"] in rdflib_rate else "–"
        engine = names[row["engine"]] + (", lenient" if row.get("lenient") else "")
        cpu = f"{row['cpu_seconds']:.0f}" if "cpu_seconds" in row else "–"
        if "measured" in row:
            apart.append(row)
            engine += " ¹"
        add(
            f"| {row['size']:,} | {engine} | {row['seconds']:.2f} | {cpu} | {rate:,.0f} | "
            f"{row['size'] / row['seconds']:,.0f} | {row['rss_mib']:,.0f} | {ratio} |"
        )
    for row in apart:
        add(
            f"\n¹ Measured apart by `bench/million.py` on {row['measured']['date']}, load "
            f"average {row['measured']['load']} at its start. CPU s counts all threads of "
            "the loading process: on a machine shared with other work it says more than the "
            "wall clock."
        )
    if any(row.get("lenient") for row in report["load"]):
        add(
            "\n*lenient*: the generated cases are loaded without the parser's IRI checks "
            "(`EmbeddedStore.bulk_load(..., lenient=True)`, for files we wrote ourselves); a "
            "store's quads are counted after the clock stops."
        )
    if skipped:
        add(
            f"\nrdflib skipped at {', '.join(f'{s:,}' for s in skipped)} cases: it loads at a "
            "few tens of thousands of triples a second and would take minutes."
        )
    if not any(row["size"] == MILLION for row in report["load"]):
        add("\n1M cases not run (`--no-million` or `--quick`).")
    else:
        add(
            "\nAt 1M cases only the on-disk load and the example questions ran: the other "
            "configurations would take most of the run's time budget."
        )
    add("")


def queries(report: dict, add) -> None:
    add("## Questions on the embedded store\n")
    add(
        "p50 / p99 in ms after one warm-up run; at least three runs, more within a few seconds "
        "per question (so p99 is near the maximum of few runs). `queries/*.rq` are the "
        "example questions; `bench/queries/*.rq` the five aggregates over the cases.\n"
    )
    columns = list(report["queries"])
    add("| question | " + " | ".join(columns) + " |")
    add("|---|" + "---:|" * len(columns))
    names = sorted({name for figures in report["queries"].values() for name in figures})
    aggregates = aggregate_names(report)
    for name in sorted(names, key=lambda n: (n in aggregates, n)):
        cells = [cell(report["queries"][column].get(name)) for column in columns]
        label = f"**{name}**" if name in aggregates else name
        add(f"| {label} | " + " | ".join(cells) + " |")
    add("")


def cell(figures: dict | None) -> str:
    if not figures:
        return "–"
    return f"{figures['p50']:,.1f} / {figures['p99']:,.1f}"


def endpoints(report: dict, add) -> None:
    e = report["endpoints"]
    size = e["size"]
    add(f"## The same questions through `--endpoint`, at {size:,} cases\n")
    add(
        f"Oxigraph server loaded with `oxigraph load` in {e['oxigraph_load_seconds']:.0f} s"
        + (
            f"; Virtuoso loaded with its bulk loader (`ld_dir`, `rdf_loader_run`) in "
            f"{e['virtuoso_load_seconds']:.0f} s"
            if "virtuoso" in e
            else "; Virtuoso not installed"
        )
        + ". Through `SparqlEndpointStore` (SPARQLWrapper, HTTP on 127.0.0.1). "
        "p50 / p99 ms; the embedded column repeats the figures above.\n"
    )
    embedded = report["queries"].get(f"embedded {size}", {})
    add("| question | embedded | Oxigraph server | Virtuoso | embedded p50 / Virtuoso p50 |")
    add("|---|---:|---:|---:|---:|")
    aggregates = aggregate_names(report)
    for name in sorted(e["oxigraph"], key=lambda n: (n in aggregates, n)):
        virtuoso = e.get("virtuoso", {}).get(name)
        speed = (
            f"{embedded[name]['p50'] / virtuoso['p50']:.2f}"
            if virtuoso and name in embedded and virtuoso["p50"] > 0
            else "–"
        )
        label = f"**{name}**" if name in aggregates else name
        add(
            f"| {label} | {cell(embedded.get(name))} | {cell(e['oxigraph'][name])} | "
            f"{cell(virtuoso)} | {speed} |"
        )
    mismatched = [
        name
        for name in e.get("virtuoso", {})
        if name in e["oxigraph"] and e["virtuoso"][name]["rows"] != e["oxigraph"][name]["rows"]
    ]
    if mismatched:
        add(
            "\nRow counts that differ between Virtuoso and Oxigraph: "
            + ", ".join(
                f"`{n}` ({e['virtuoso'][n]['rows']} vs {e['oxigraph'][n]['rows']})"
                for n in mismatched
            )
            + ". Virtuoso's default graph also holds its own system graphs, and it reads "
            "some typed literals differently."
        )
    add("")
    million = e.get("virtuoso_million")
    if million:
        measured = million["measured"]
        add("### The five aggregate questions through Virtuoso at 1,000,000 cases\n")
        add(
            f"Measured apart by `bench/million.py` on {measured['date']} (load average "
            f"{measured['load']} at its start): the knowledge graph and the 1M cases loaded "
            f"with Virtuoso's bulk loader in {million['load_seconds']:.0f} s, the questions "
            "asked as above"
            + (
                f" (load average {million['asked']['load']} then)"
                if "asked" in million
                else " (the load average when they were asked was not recorded)"
            )
            + ". p50 / p99 ms.\n"
        )
        add(f"| question | Virtuoso {size:,} | Virtuoso 1,000,000 | rows at 1M | 1M / {size:,} |")
        add("|---|---:|---:|---:|---:|")
        for name, figures in million["queries"].items():
            smaller = e.get("virtuoso", {}).get(name)
            growth = f"{figures['p50'] / smaller['p50']:.1f}×" if smaller else "–"
            add(
                f"| **{name}** | {cell(smaller)} | {cell(figures)} | {figures['rows']} | {growth} |"
            )
        add("")


def http(report: dict, add) -> None:
    h = report["http"]
    add(f"## HTTP throughput on 127.0.0.1 (knowledge graph + {h['size']:,} cases)\n")
    add(
        f"A thread pool of {h['concurrency']} clients, each on a keep-alive connection, sends N "
        "requests after a warm-up; the client shares the 2 cores with the server. The same "
        "dump is served by each: `odr-kg serve --store` (ours), bare `oxigraph serve` (the "
        "engine without our layer; `union-default-graph=true` gives it our default graph) and "
        "rdflib-endpoint.\n"
    )
    add("| server | request | N | req/s | p50 ms | p99 ms | failed | rows |")
    add("|---|---|---:|---:|---:|---:|---:|---:|")
    for server, figures in h.items():
        if not isinstance(figures, dict):
            continue
        for request, f in figures.items():
            add(
                f"| {server} | {request} | {f['count']} | {f['per_second']:,.0f} | "
                f"{f['p50']:.1f} | {f['p99']:.1f} | {failures(f)} | {f.get('rows', '–')} |"
            )
    for server, figures in h.items():
        if isinstance(figures, str):
            add(f"\n{server}: {figures}")
    add("")


def failures(figures: dict) -> str:
    if not figures["failed"]:
        return "0"
    return f"{figures['failed']} ({', '.join(f'{k}: {v}' for k, v in figures['failures'].items())})"


def validation(report: dict, add) -> None:
    v = report["validation"]
    add("## Bulk validation\n")
    add(
        f"`validate_many` over {v['cases']:,} generated cases (10% invalid): pyshacl-turbo "
        f"{v['turbo_per_second']:,.0f} cases/s in {v.get('jobs', 1)} processes"
        + (
            f" ({v['turbo_one_process_per_second']:,.0f} in one; the same reports: "
            f"{v['parallel_identical']})"
            if "turbo_one_process_per_second" in v
            else ""
        )
        + f"; {v['turbo_nonconforming']} do not conform. "
        f"pyshacl, the reference, on the first {v['reference_cases']:,}: "
        f"{v['pyshacl_per_second']:,.0f} cases/s ({v['reference_nonconforming']} do not "
        f"conform); turbo on the same cases gives "
        + ("**identical** reports." if v["identical"] else "**different** reports.")
        + f" Ratio turbo / pyshacl: {v['turbo_per_second'] / v['pyshacl_per_second']:.0f}×.\n"
    )


def latency_cells(f: dict) -> str:
    return f"{f['p50_ms']:.1f} | {f['p99_ms']:.1f} | {f['max_ms']:.0f}"


def load_runs(add) -> None:
    """The runs of bench/load.py, from bench/load-results.json (measured apart from run.py)."""
    runs = measured_apart("load-results.json")
    if runs is None:
        return
    add("## Load, fairness and memory bombs (bench/load.py)\n")
    add(
        "Each run against a server of its own on 127.0.0.1, the client sharing the 2 cores "
        "with it; `python bench/load.py all` measures them again.\n"
    )
    if "mix" in runs:
        m = runs["mix"]
        add(
            f"**Mix** ({m['date']}): {m['clients']} clients for {m['seconds']:g} s, lookups, "
            f"example queries and bad requests: {m['answers']:,} answers "
            f"({m['per_second']:,.0f}/s), by status {m['statuses']}, connection errors "
            f"{m['connection_errors'] or 0}.\n"
        )
        add("| requests | n | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|")
        for kind, f in m["latency"].items():
            add(f"| {kind} | {f['n']:,} | {latency_cells(f)} |")
        add("")
    if "fairness" in runs:
        f = runs["fairness"]
        alone, beside = f["cheap_alone"], f["cheap_beside_two_slow_clients"]
        add(
            f"**Fairness** ({f['date']}), the default configuration (3 workers, one request "
            f"at a time per client): two clients send slow queries back to back for "
            f"{f['seconds']:g} s (their answers: {f['slow_statuses']}); a third sends cheap "
            f"queries (answers: {f['cheap_statuses']}).\n"
        )
        add("| cheap query | n | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|")
        for label, g in (("alone (baseline)", alone), ("beside two slow clients", beside)):
            add(f"| {label} | {g['n']:,} | {latency_cells(g)} |")
        add(f"\np50 beside the slow clients / alone: {f['p50_ratio']:.1f}×.\n")
    if "memory" in runs:
        b = runs["memory"]
        add(
            f"**Memory bombs** ({b['date']}): one client sends nested `REPLACE` and `ORDER BY` "
            f"over a cartesian product back to back for {b['seconds']:g} s ({b['bombs']} sent, "
            f"answers {b['bomb_statuses']}); the highest peak RSS of the server's "
            f"{b['processes_sampled']} processes was {b['peak_rss_mib']:,.0f} MiB against a "
            f"cap of {b['cap_mib']:,} MiB per worker; the server stayed up: "
            f"{b['server_alive']}. Cheap queries of another client meanwhile: p50 "
            f"{b['cheap']['p50_ms']:.1f} ms, p99 {b['cheap']['p99_ms']:.1f} ms, max "
            f"{b['cheap']['max_ms']:.0f} ms, answers {b['cheap_statuses']}.\n"
        )


def memory_runs(add) -> None:
    """The runs of bench/memory.py, from bench/memory-results.json (measured apart)."""
    runs = measured_apart("memory-results.json")
    if runs is None:
        return
    add("## One copy of the data per process (bench/memory.py)\n")
    add(
        "Peak resident size (VmHWM) of `odr-kg serve`'s web process and of each of its "
        "workers after every example query, the knowledge graph alone and with a corpus of "
        "generated cases loaded in memory (`--data`). Over 100,000 quads the workers share one "
        "snapshot of the store on disk, opened read-only, instead of a copy each.\n"
    )
    add(
        "| cases | ready s | web MiB | workers MiB | web corpus/alone | worker corpus/alone |\n"
        "|---:|---:|---:|---|---:|---:|"
    )
    for cases, r in sorted(runs.items(), key=lambda item: int(item[0])):
        alone, loaded = r["knowledge graph alone"], r["with the corpus"]
        add(
            f"| 0 | {alone['ready_seconds']} | {alone['web_peak_mib']:,.0f} | "
            f"{', '.join(f'{v:,.0f}' for v in alone['worker_peak_mib'])} | | |"
        )
        add(
            f"| {int(cases):,} | {loaded['ready_seconds']} | {loaded['web_peak_mib']:,.0f} | "
            f"{', '.join(f'{v:,.0f}' for v in loaded['worker_peak_mib'])} | "
            f"{r['web peak, corpus / alone']:.1f}× | {r['worker peak, corpus / alone']:.2f}× |"
        )
    add("")


def lookup_in_process_runs(add) -> None:
    run = measured_apart("lookup-in-process-results.json")
    if not run:
        return
    figures = run["p50_ms"]
    floor = figures["floor: the rules planned over an empty store"]
    add("## The lookup in process (bench/lookup_in_process.py)\n")
    add(
        f"Run {run['date']} (load average {run['load']} at the end): `LookupEngine.lookup` "
        f"called {run['lookups']:,} times, each on another as-of date (so each is computed), "
        "interleaved with its parts and with the floor. The floor is each of the "
        f"{run['rules']} rules run once over an empty store: pyoxigraph parses and plans a "
        "query anew on every call, so no change to what the rules read or to the Python around "
        "them goes under it. Target: the lookup at ≤ "
        f"{run['target_ms']:g} ms p50: "
        + verdict(
            figures["lookup"] <= run["target_ms"],
            f"{figures['lookup'] / run['target_ms']:.1f}× the target",
        )
        + ".\n"
    )
    add("| p50 in process | ms | / floor |\n|---|---:|---:|")
    for name, value in figures.items():
        add(f"| {name} | {value:.2f} | {value / floor:.2f}× |")
    add("")


def lookup_runs(add) -> None:
    """The run of bench/lookup.py, from bench/lookup-results.json (measured apart)."""
    run = measured_apart("lookup-results.json")
    if run is None:
        return
    figures = run["figures"]
    cached = figures["lookup, the same facts"]["ratio_to_health"]
    add("## `/api/lookup` against `/health` (bench/lookup.py)\n")
    add(
        f"Run {run['date']} (load average {run['load']} at the end): `odr-kg serve` with its "
        "defaults, one client sending requests one after another on a keep-alive connection, "
        f"{run['requests']:,} of each kind after a warm-up. Target: `/api/lookup` at ≥ 0.5× "
        f"the `/health` rate of the same run: "
        + verdict(cached >= 0.5, f"{cached:.2f}× with the same facts, answered from the cache")
        + ". Lookups each on another date are each computed by the rules: the cost the cache "
        "saves.\n"
    )
    add("| requests | req/s | p50 ms | p99 ms | / health |\n|---|---:|---:|---:|---:|")
    for name, f in figures.items():
        add(
            f"| {name} | {f['per_second']:,.0f} | {f['p50_ms']:.2f} | {f['p99_ms']:.2f} | "
            f"{f['ratio_to_health']:.2f}× |"
        )
    add("")


if __name__ == "__main__":
    figures = json.loads((BENCH / "results.json").read_text())
    (BENCH / "RESULTS.md").write_text(render_markdown(figures), encoding="utf-8")
    sys.exit(0)
