"""``odr-kg lookup --batch``: the batch lookup (:mod:`odr_kg.batch_lookup`) from the command
line, answers to a JSON Lines file and, with ``--into-store``, the findings into the store."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import pyoxigraph as ox

from odr_kg.batch_lookup import (
    CHUNK_SIZE,
    DATASET_FORMATS,
    BatchLookup,
    case_sources,
    default_workers,
)
from odr_kg.case_commands import CASE_SUFFIXES, case_files
from odr_kg.command_line import EXIT_DATA_ERROR, EXIT_OK, EXIT_USAGE, store_of
from odr_kg.lookup import LookupEngine

# The named graph (under the store's base) that --into-store writes the findings into.
FINDINGS_GRAPH = "findings"
# Findings written to the store in one transaction (one request to an external store).
STORE_BATCH = 20_000


def run_batch(args: Any) -> int:
    """``odr-kg lookup --batch PATH... --out FILE.jsonl [--as-of] [--into-store]``."""
    if args.out is None:
        print("odr-kg: lookup --batch needs --out FILE.jsonl", file=sys.stderr)
        return EXIT_USAGE
    try:
        as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    except ValueError as error:
        print(f"odr-kg: --as-of: {error}", file=sys.stderr)
        return EXIT_USAGE
    store = store_of(args)
    engine = LookupEngine(store)
    workers = args.workers or default_workers()
    batch = BatchLookup(
        engine, as_of, args.lang, args.chunk or CHUNK_SIZE, workers, keep_derived=args.into_store
    )
    paths = case_files(args.batch, (*CASE_SUFFIXES, *DATASET_FORMATS))
    graph = store.graph_iri(FINDINGS_GRAPH)
    pending: list[ox.Triple] = []
    first_write = True

    def write_findings(final: bool = False) -> None:
        nonlocal pending, first_write
        if (final or len(pending) >= STORE_BATCH) and (pending or first_write):
            # Each run replaces the findings of the one before: one as-of date, one corpus.
            store.add_graphs({graph: pending}, replace=first_write)
            pending, first_write = [], False

    answered = failed = 0
    try:
        # Line-buffered: a line that cannot be written fails at once, not at the final close.
        output = open(args.out, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed below
    except OSError as error:
        print(f"odr-kg: cannot write {args.out}: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with output, _progress() as bar:
            for outcome in batch.run(case_sources(paths)):
                _write(output, json.dumps(outcome.line, ensure_ascii=False) + "\n")
                if outcome.failed:
                    failed += 1
                    error = outcome.line["error"]
                    line = f":{error['line']}" if error.get("line") else ""
                    field = f"{error['field']}: " if error.get("field") else ""
                    bar.write(
                        f"odr-kg: cannot answer {outcome.line['source']}{line}: "
                        f"{field}{error['message']}",
                        file=sys.stderr,
                    )
                else:
                    answered += 1
                if args.into_store:
                    pending += outcome.derived
                    write_findings()
                bar.update()
    except OutputError as error:
        print(f"odr-kg: cannot write {args.out}: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.into_store:
        write_findings(final=True)
        store.infer()
        store.close()
    where = f"; findings in <{graph}>" if args.into_store else ""
    print(f"{answered} cases answered, {failed} could not be read{where}", file=sys.stderr)
    return EXIT_DATA_ERROR if failed else EXIT_OK


class OutputError(Exception):
    """The answers cannot be written: a full disk, a closed pipe."""


def _write(output: Any, text: str) -> None:
    try:
        output.write(text)
    except OSError as error:
        raise OutputError(error.strerror or str(error)) from None


def _progress() -> Any:
    """A progress bar on stderr when it is a terminal; else nothing (the count comes last)."""
    from tqdm import tqdm

    return tqdm(desc="lookup", unit="case", disable=None, file=sys.stderr)
