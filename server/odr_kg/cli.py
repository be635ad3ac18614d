"""The ``odr-kg`` command: query the knowledge graph, validate case graphs, export, serve.

Exit status: 0 on success, 1 when the data is broken (a data file does not parse, or a case
graph does not conform), 2 for a usage error (bad option, unreadable query or case file,
unwritable output, query syntax error, a format that does not fit the result, an invalid base),
3 when the store fails (an external store down, too slow or refusing; a store not loaded).

Every command works on the embedded store in memory by default, on disk with ``--store PATH``,
or on an external SPARQL 1.1 store with ``--endpoint URL``.
"""

from __future__ import annotations

import argparse
import os
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pyoxigraph as ox

from odr_kg.resources import DEFAULT_BASE, rebase
from odr_kg.serving import add_serve_command
from odr_kg.store import (
    EXPORT_FORMATS,
    DataSyntaxError,
    EmbeddedStore,
    InvalidBaseError,
    InvalidGraphNameError,
    KnowledgeStore,
    QueryResult,
    QuerySyntaxError,
    StoreError,
    UnsupportedFormatError,
    compact_iri,
    open_store,
    serialize_results,
    triples_of,
)

EXIT_OK = 0
EXIT_DATA_ERROR = 1
EXIT_USAGE = 2
EXIT_STORE = 3

TABLE_FORMAT = "table"
QUERY_OUTPUT_FORMATS = (TABLE_FORMAT, "json", "csv", "tsv", "xml", "turtle", "ntriples", "jsonld")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    args = build_parser().parse_args(argv)
    args.command_line = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.run(args)
    except QuerySyntaxError as error:
        print(f"odr-kg: SPARQL syntax error: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    except (UnsupportedFormatError, InvalidBaseError, InvalidGraphNameError) as error:
        print(f"odr-kg: {error}", file=sys.stderr)
        return EXIT_USAGE
    except DataSyntaxError as error:
        print(f"odr-kg: the data does not parse: {error}", file=sys.stderr)
        return EXIT_DATA_ERROR
    except StoreError as error:
        print(f"odr-kg: {error}", file=sys.stderr)
        return EXIT_STORE


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; ``--base`` defaults to ``$ODR_KG_BASE``, else the default base."""
    base_option = argparse.ArgumentParser(add_help=False)
    base_option.add_argument(
        "--base",
        default=os.environ.get("ODR_KG_BASE", DEFAULT_BASE),
        metavar="IRI",
        help="base IRI of the graph names and the data (default: $ODR_KG_BASE or %(default)s)",
    )
    stores = base_option.add_argument_group(
        "store", "where the data is (default: the embedded store, in memory)"
    )
    where = stores.add_mutually_exclusive_group()
    where.add_argument(
        "--store",
        metavar="PATH",
        help="the embedded store on disk at PATH; loaded on first use, kept across runs",
    )
    where.add_argument(
        "--endpoint", metavar="URL", help="an external SPARQL 1.1 store's query endpoint"
    )
    stores.add_argument(
        "--update-endpoint",
        metavar="URL",
        help="its SPARQL Update endpoint (default: the query endpoint)",
    )
    stores.add_argument(
        "--graph-store",
        metavar="URL",
        help="its Graph Store Protocol endpoint; writes use it instead of SPARQL Update",
    )
    stores.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="give up on an external store's answer after this long (%(default)s)",
    )

    parser = argparse.ArgumentParser(
        prog="odr-kg",
        description="Query, export and serve the ODR legal knowledge graph.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    query = commands.add_parser(
        "query",
        parents=[base_option],
        help="run a SPARQL query against the knowledge graph",
        description="Run a SPARQL query; its default graph is the union of all named graphs.",
    )
    query.add_argument("source", metavar="FILE.rq", help="the query file, or - to read stdin")
    query.add_argument(
        "--format",
        choices=QUERY_OUTPUT_FORMATS,
        help="output format (default: table for SELECT, true/false for ASK, turtle for "
        "CONSTRUCT/DESCRIBE)",
    )
    query.set_defaults(run=run_query)

    export = commands.add_parser(
        "export",
        parents=[base_option],
        help="write the whole dataset in one RDF format",
        description="Write the whole dataset. trig, nq and jsonld keep the named graphs; "
        "nt and ttl hold their union.",
    )
    export.add_argument("--format", choices=tuple(EXPORT_FORMATS), default="ttl")
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    export.set_defaults(run=run_export)

    add_serve_command(commands, [base_option])

    load = commands.add_parser(
        "load",
        parents=[base_option],
        help="write the ontology, shapes and knowledge graph into a store",
        description="Write the packaged ontology, shapes and knowledge graph as named graphs "
        "into the store of --store or --endpoint, replacing what those graphs held: running it "
        "twice leaves the same store.",
    )
    load.set_defaults(run=run_load)

    cases = commands.add_parser(
        "cases", help="case graphs in the store", description="Case graphs in the store."
    )
    case_commands = cases.add_subparsers(dest="cases_command", required=True, metavar="COMMAND")
    import_cases = case_commands.add_parser(
        "import",
        parents=[base_option],
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
        parents=[base_option],
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

    lookup = commands.add_parser(
        "lookup",
        parents=[base_option],
        help="look up the procedure for a dispute and print the answer as JSON",
        description="Describe a dispute with options (named like the JSON API's keys) or a "
        "case graph file (.ttl, .jsonld); print the answer of POST /api/lookup.",
    )
    lookup.add_argument(
        "case", nargs="?", metavar="CASE", help="a case graph file instead of options"
    )
    for option in ("role", "channel", "claim", "contract-forum"):
        lookup.add_argument(f"--{option}")
    for option in ("paid", "guarantee"):
        lookup.add_argument(f"--{option}", metavar="AMOUNT CURRENCY", nargs=2)
    lookup.add_argument("--received-on", metavar="YYYY-MM-DD")
    lookup.add_argument(
        "--opened-on", metavar="YYYY-MM-DD", help="date the dispute was opened (default: not yet)"
    )
    lookup.add_argument("--as-of", metavar="YYYY-MM-DD", help="default: today")
    lookup.add_argument(
        "--dissatisfied", action="store_true", help="dissatisfied with the decision"
    )
    lookup.add_argument("--lang", choices=("en", "zh"), default="en")
    lookup.add_argument("--format", choices=("json", "turtle"), default="json")
    lookup.set_defaults(run=run_lookup)

    return parser


def store_of(args: argparse.Namespace) -> KnowledgeStore:
    """The store the command line names, holding the knowledge graph."""
    return open_store(
        args.base,
        path=args.store,
        endpoint=args.endpoint,
        update_endpoint=args.update_endpoint,
        graph_store=args.graph_store,
        timeout=args.timeout,
    )


def writable_store_of(args: argparse.Namespace) -> KnowledgeStore:
    """The store the command line names, as it is: nothing loaded into it yet."""
    if args.endpoint is not None:
        from odr_kg.sparql_store import SparqlEndpointStore

        return SparqlEndpointStore(
            args.endpoint,
            args.base,
            update_endpoint=args.update_endpoint,
            graph_store=args.graph_store,
            timeout=args.timeout,
        )
    return EmbeddedStore(args.base, args.store)


def run_load(args: argparse.Namespace) -> int:
    if args.store is None and args.endpoint is None:
        print("odr-kg: load needs --store PATH or --endpoint URL", file=sys.stderr)
        return EXIT_USAGE
    store = writable_store_of(args)
    store.load_packaged()
    store.close()
    for graph_iri, size in store.graph_sizes().items():
        print(f"{graph_iri}\t{size}")
    return EXIT_OK


def run_query(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.source == "-" else _read_text(args.source)
    except OSError as error:
        print(f"odr-kg: cannot read {args.source}: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    store = store_of(args)
    # Query files are written with the default base, like the data.
    result = store.query(rebase(text, args.base))
    _write_stdout(render_result(result, args.format, store.prefixes))
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    data = store_of(args).export(args.format)
    if args.output is None:
        _write_stdout(data)
        return EXIT_OK
    try:
        with open(args.output, "wb") as output:
            output.write(data)
    except OSError as error:
        print(f"odr-kg: cannot write {args.output}: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


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


CASE_SUFFIXES = (".ttl", ".nt", ".jsonld", ".json")


def case_files(paths: Sequence[str]) -> list[Path]:
    """The files named, and the case graph files in the folders named, sorted within each."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in CASE_SUFFIXES)
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


def run_lookup(args: argparse.Namespace) -> int:
    import datetime as dt
    import json

    from odr_kg.lookup import LookupEngine, LookupInputError
    from odr_kg.validation import UnreadableCaseError, read_case_file

    engine = LookupEngine(store_of(args))
    request: dict[str, object] = {
        "role": args.role,
        "channel": args.channel,
        "claim": args.claim,
        "contractForum": args.contract_forum,
        "receivedOn": args.received_on,
        "openedOn": args.opened_on,
        "asOf": args.as_of,
        "dissatisfiedWithDecision": args.dissatisfied,
    }
    for name in ("paid", "guarantee"):
        if getattr(args, name):
            amount, currency = getattr(args, name)
            request[name] = {"amount": amount, "currency": currency}
    try:
        if args.case:
            as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
            facts = engine.facts_from_case(
                read_case_file(args.case), as_of=as_of, dissatisfied=args.dissatisfied or None
            )
        else:
            facts = engine.facts_from_json(request)
    except UnreadableCaseError as error:
        print(f"odr-kg: cannot read {error}", file=sys.stderr)
        return EXIT_USAGE
    except LookupInputError as error:
        allowed = f" (allowed: {', '.join(error.allowed)})" if error.allowed else ""
        print(f"odr-kg: {error.field}: {error.message}{allowed}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as error:
        print(f"odr-kg: --as-of: {error}", file=sys.stderr)
        return EXIT_USAGE
    answer = engine.lookup(facts, args.lang)
    if args.format == "turtle":
        _write_stdout(answer.turtle())
    else:
        _write_stdout((json.dumps(answer.json, ensure_ascii=False, indent=2) + "\n").encode())
    return EXIT_OK


def render_result(result: QueryResult, fmt: str | None, prefixes: Mapping[str, str]) -> bytes:
    """A query result as bytes in ``fmt``: one of :data:`QUERY_OUTPUT_FORMATS`, or ``None`` for
    the usual form of the result kind (a table, ``true``/``false``, or Turtle)."""
    if isinstance(result, ox.QueryBoolean):
        if fmt in (None, TABLE_FORMAT):
            return b"true\n" if bool(result) else b"false\n"
        return serialize_results(result, fmt)
    if isinstance(result, ox.QueryTriples):
        if fmt == TABLE_FORMAT:
            rows = [
                [triple.subject, triple.predicate, triple.object] for triple in triples_of(result)
            ]
            return format_table(["subject", "predicate", "object"], rows, prefixes).encode()
        return serialize_results(result, fmt or "turtle", prefixes)
    if fmt in (None, TABLE_FORMAT):
        variables = [variable.value for variable in result.variables]
        rows = [[solution[name] for name in variables] for solution in result]
        return format_table(variables, rows, prefixes).encode()
    return serialize_results(result, fmt)


def format_table(
    columns: Sequence[str], rows: Sequence[Sequence[object]], prefixes: Mapping[str, str]
) -> str:
    """An aligned text table of RDF terms, IRIs compacted with ``prefixes``."""
    cells = [[term_text(term, prefixes) for term in row] for row in rows]
    widths = [
        max([_display_width(column), *(_display_width(row[index]) for row in cells)])
        for index, column in enumerate(columns)
    ]
    lines = [
        " | ".join(_pad(column, width) for column, width in zip(columns, widths, strict=True)),
        "-+-".join("-" * width for width in widths),
    ]
    lines += [
        " | ".join(_pad(cell, width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.append(f"({len(cells)} row{'' if len(cells) == 1 else 's'})")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def term_text(term: object, prefixes: Mapping[str, str]) -> str:
    """One RDF term as a table cell: a compacted IRI, ``_:id``, or a literal's text."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return compact_iri(term.value, prefixes)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        text = term.value if term.language is None else f"{term.value}@{term.language}"
    else:
        text = str(term)
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def _display_width(text: str) -> int:
    # Chinese labels take two columns each in a terminal.
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _display_width(text))


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as source:
        return source.read()


def _write_stdout(data: bytes) -> None:
    # Bytes go straight to the buffer: the output is UTF-8 whatever the locale says.
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
