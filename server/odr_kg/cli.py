"""The ``odr-kg`` command: query the knowledge graph, validate case graphs, export, serve.

Exit status: 0 on success, 1 when the data is broken (a data file does not parse, or a case
graph does not conform), 2 for a usage error (bad option, unreadable query or case file,
unwritable output, query syntax error, a format that does not fit the result, an invalid base).
"""

from __future__ import annotations

import argparse
import os
import sys
import unicodedata
from collections.abc import Mapping, Sequence

import pyoxigraph as ox

from odr_kg.resources import DEFAULT_BASE, rebase
from odr_kg.store import (
    EXPORT_FORMATS,
    DataSyntaxError,
    InvalidBaseError,
    InvalidGraphNameError,
    KnowledgeStore,
    QueryResult,
    QuerySyntaxError,
    UnsupportedFormatError,
    compact_iri,
    serialize_results,
    triples_of,
)

EXIT_OK = 0
EXIT_DATA_ERROR = 1
EXIT_USAGE = 2

TABLE_FORMAT = "table"
QUERY_OUTPUT_FORMATS = (TABLE_FORMAT, "json", "csv", "tsv", "xml", "turtle", "ntriples", "jsonld")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    args = build_parser().parse_args(argv)
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; ``--base`` defaults to ``$ODR_KG_BASE``, else the default base."""
    base_option = argparse.ArgumentParser(add_help=False)
    base_option.add_argument(
        "--base",
        default=os.environ.get("ODR_KG_BASE", DEFAULT_BASE),
        metavar="IRI",
        help="base IRI of the graph names and the data (default: $ODR_KG_BASE or %(default)s)",
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

    serve = commands.add_parser(
        "serve",
        parents=[base_option],
        help="serve the web application with waitress",
        description="Serve the web application with the waitress WSGI server.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (%(default)s)")
    serve.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="FILE[=GRAPH_IRI]",
        help="load an RDF file (.ttl, .nt, .trig, .nq, .jsonld, .rdf) into the named graph "
        "GRAPH_IRI, by default <base>graph/data/<file name>; repeatable",
    )
    serve.set_defaults(run=run_serve)

    validate = commands.add_parser(
        "validate",
        parents=[base_option],
        help="validate case graphs against the SHACL shapes",
        description="Validate case graphs (Turtle .ttl, N-Triples .nt, JSON-LD .jsonld) with "
        "pySHACL against the case shapes, the ontology and the knowledge graph. Exit status: "
        "0 all conform, 1 some do not, 2 some cannot be read.",
    )
    validate.add_argument("cases", nargs="+", metavar="CASE", help="case graph files")
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
    lookup.add_argument("--as-of", metavar="YYYY-MM-DD", help="default: today")
    lookup.add_argument(
        "--dissatisfied", action="store_true", help="dissatisfied with the decision"
    )
    lookup.add_argument("--lang", choices=("en", "zh"), default="en")
    lookup.add_argument("--format", choices=("json", "turtle"), default="json")
    lookup.set_defaults(run=run_lookup)

    return parser


def run_query(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.source == "-" else _read_text(args.source)
    except OSError as error:
        print(f"odr-kg: cannot read {args.source}: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    store = KnowledgeStore.load(args.base)
    # Query files are written with the default base, like the data.
    result = store.query(rebase(text, args.base))
    _write_stdout(render_result(result, args.format, store.prefixes))
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    data = KnowledgeStore.load(args.base).export(args.format)
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
    from odr_kg.validation import ShapesValidator, UnreadableCaseError, read_case_file, reports_json

    validator = ShapesValidator.for_cases(KnowledgeStore.load(args.base))
    reports = []
    unreadable = False
    for path in args.cases:
        try:
            case = read_case_file(path)
        except UnreadableCaseError as error:
            print(f"odr-kg: cannot read {error}", file=sys.stderr)
            unreadable = True
            continue
        reports.append(validator.validate(case, path))
    if args.format == "json":
        print(reports_json(reports))
    else:
        for report in reports:
            print(report.text(args.lang))
    if unreadable:
        return EXIT_USAGE
    return EXIT_OK if all(report.conforms for report in reports) else EXIT_DATA_ERROR


def run_lookup(args: argparse.Namespace) -> int:
    import datetime as dt
    import json

    from odr_kg.lookup import LookupEngine, LookupInputError
    from odr_kg.validation import UnreadableCaseError, read_case_file

    engine = LookupEngine(KnowledgeStore.load(args.base))
    request: dict[str, object] = {
        "role": args.role,
        "channel": args.channel,
        "claim": args.claim,
        "contractForum": args.contract_forum,
        "receivedOn": args.received_on,
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


def run_serve(args: argparse.Namespace) -> int:
    # Imported here so that `query` and `export` do not pay for loading Flask.
    from waitress import serve

    from odr_kg.web import create_app

    try:
        app = create_app({"BASE": args.base, "DATA_FILES": args.data})
    except OSError as error:
        print(f"odr-kg: cannot read {error.filename}: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE
    serve(app, host=args.host, port=args.port)
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
