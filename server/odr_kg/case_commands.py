"""``odr-kg validate`` and ``odr-kg cases import``: case graphs from files, validated or loaded
into the store."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyoxigraph as ox

from odr_kg import formats
from odr_kg.command_line import EXIT_DATA_ERROR, EXIT_OK, EXIT_USAGE, store_of
from odr_kg.store_errors import DataSyntaxError, UnsupportedFormatError


def add_case_commands(
    commands: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    """Add ``cases import`` and ``validate`` to the ``odr-kg`` command's ``commands``."""
    cases = commands.add_parser(
        "cases", help="case graphs in the store", description="Case graphs in the store."
    )
    case_commands = cases.add_subparsers(dest="cases_command", required=True, metavar="COMMAND")
    import_cases = case_commands.add_parser(
        "import",
        parents=parents,
        help="load case graph files, one named graph each",
        description="Load case graphs (.ttl, .nt, .jsonld; folders are searched) into the "
        "store, each into <base>graph/case/<file name without extension>, replacing it. A file "
        "that does not parse is reported with its line and left out; with --atomic nothing is "
        "loaded then. Exit status 1 when some file was left out.",
    )
    import_cases.add_argument("paths", nargs="+", metavar="FILE|DIR")
    import_cases.add_argument(
        "--atomic", action="store_true", help="load every file or, if one fails, none"
    )
    import_cases.set_defaults(run=run_cases_import)

    validate = commands.add_parser(
        "validate",
        parents=parents,
        help="validate case graphs against the SHACL shapes",
        description="Validate case graphs (Turtle .ttl, N-Triples .nt, JSON-LD .jsonld) with "
        "pySHACL against the case shapes, the ontology and the knowledge graph. Exit status: "
        "0 all conform, 1 some do not, 2 some cannot be read.",
    )
    validate.add_argument(
        "cases", nargs="+", metavar="CASE", help="case graph files, or folders of them"
    )
    validate.add_argument(
        "--engine",
        choices=("pyshacl", "turbo"),
        help="pyshacl validates each case on its own (the reference; the default for one "
        "case); turbo (pyshacl-turbo) validates the cases in batches (the default for many)",
    )
    validate.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="processes validating batches side by side, with turbo (%(default)s: the cores)",
    )
    validate.add_argument(
        "--format", choices=("text", "json"), default="text", help="report format (%(default)s)"
    )
    validate.add_argument(
        "--lang", choices=("en", "zh"), default="en", help="language of the messages (%(default)s)"
    )
    validate.set_defaults(run=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    from odr_kg.bulk_validation import validate_many
    from odr_kg.validation import (
        ShapesValidator,
        UnreadableCaseError,
        case_graph,
        read_case_triples,
        reports_json,
    )

    validator = ShapesValidator.for_cases(store_of(args))
    paths = case_files(args.cases)
    engine = args.engine or ("turbo" if len(paths) > 1 else "pyshacl")
    cases = []
    unreadable = False
    for path in progress(paths, "reading"):
        try:
            cases.append((str(path), read_case_triples(path)))
        except UnreadableCaseError as error:
            print(f"odr-kg: cannot read {error}", file=sys.stderr)
            unreadable = True
    if engine == "pyshacl" and len(cases) <= 1:
        reports = [validator.validate(case_graph(case), source) for source, case in cases]
    else:
        reports = validate_many(validator, cases, engine, jobs=args.jobs)
    if args.format == "json":
        print(reports_json(reports))
    else:
        for report in reports:
            print(report.text(args.lang))
        if len(reports) > 1:
            conforming = sum(report.conforms for report in reports)
            print(f"{len(reports)} cases: {conforming} conform, {len(reports) - conforming} do not")
    if unreadable:
        return EXIT_USAGE
    return EXIT_OK if all(report.conforms for report in reports) else EXIT_DATA_ERROR


CASE_SUFFIXES = tuple(formats.CASE_FILE_FORMATS)


def case_files(paths: Sequence[str], suffixes: Sequence[str] = CASE_SUFFIXES) -> list[Path]:
    """The files named, and the files in the folders named whose extension is one of
    ``suffixes`` (the case graph files), sorted within each."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in suffixes)
        else:
            found.append(path)
    return found


def progress(items: Sequence[Path], what: str) -> Iterable[Path]:
    """``items`` with a progress bar on stderr when there are many and stderr is a terminal."""
    from tqdm import tqdm

    return tqdm(items, desc=what, unit="case", disable=len(items) < 2 or None, file=sys.stderr)


def run_cases_import(args: argparse.Namespace) -> int:
    from odr_kg.validation import UnreadableCaseError, case_format_for

    store = store_of(args)
    paths = case_files(args.paths)
    parsed: dict[str, list[ox.Triple]] = {}
    failed = 0
    for path in progress(paths, "parsing"):
        try:
            case_format_for(path.name)
            triples, _ = store.parse_file(path)
        except (DataSyntaxError, UnreadableCaseError, UnsupportedFormatError, OSError) as error:
            line = f":{error.line}" if getattr(error, "line", None) else ""
            message = getattr(error, "message", None) or getattr(error, "strerror", None) or error
            print(f"odr-kg: {path}{line}: {message}", file=sys.stderr)
            failed += 1
            continue
        parsed[store.case_graph_iri(path.stem)] = triples
        if not args.atomic and len(parsed) >= IMPORT_BATCH:
            store.add_graphs(parsed)
            parsed = {}
    if failed and args.atomic:
        print(f"odr-kg: {failed} file(s) do not parse; nothing loaded (--atomic)", file=sys.stderr)
        return EXIT_DATA_ERROR
    store.add_graphs(parsed)
    store.infer()
    store.close()
    print(f"{len(paths) - failed} case graphs loaded, {failed} left out", file=sys.stderr)
    return EXIT_DATA_ERROR if failed else EXIT_OK


# Case graphs written to the store in one transaction (one request to an external store).
IMPORT_BATCH = 1000
