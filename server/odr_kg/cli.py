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
import sys
from collections.abc import Sequence

from odr_kg.case_commands import add_case_commands
from odr_kg.command_line import (
    EXIT_DATA_ERROR,
    EXIT_OK,
    EXIT_STORE,
    EXIT_USAGE,
    store_of,
    store_options,
    whole_number,
)
from odr_kg.resources import rebase
from odr_kg.serving import add_serve_command
from odr_kg.store import EXPORT_FORMATS
from odr_kg.store_errors import (
    DataSyntaxError,
    InvalidBaseError,
    InvalidGraphNameError,
    QuerySyntaxError,
    StoreError,
    UnsupportedFormatError,
)
from odr_kg.terminal import QUERY_OUTPUT_FORMATS, render_result


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
    base_option = store_options()
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

    add_case_commands(commands, [base_option])

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
    lookup.add_argument(
        "--contract-forum-exclusive",
        metavar="true|false",
        help="whether the contract's foreign-court clause is exclusive (default: not known)",
    )
    lookup.add_argument(
        "--received-on",
        metavar="YYYY-MM-DD",
        help='date of confirmed receipt (Secure Payment: "Confirm: Order Received")',
    )
    lookup.add_argument(
        "--goods-received-on", metavar="YYYY-MM-DD", help="date the goods were received"
    )
    lookup.add_argument(
        "--opened-on", metavar="YYYY-MM-DD", help="date the dispute was opened (default: not yet)"
    )
    lookup.add_argument(
        "--not-yet",
        metavar="EVENT",
        action="append",
        help="an event of the order that has not happened yet: confirmed-receipt or "
        "goods-received (repeat for both); the limits counted from it have not started",
    )
    lookup.add_argument("--as-of", metavar="YYYY-MM-DD", help="default: today")
    lookup.add_argument(
        "--dissatisfied", action="store_true", help="dissatisfied with the decision"
    )
    lookup.add_argument("--lang", choices=("en", "zh"), default="en")
    lookup.add_argument("--format", choices=("json", "turtle"), default="json")
    batch = lookup.add_argument_group(
        "batch",
        "answer a corpus: every case graph of the files and folders named (one case a .ttl, "
        ".nt or .jsonld file, one a named graph of a .trig or .nq file), one JSON line a case "
        '({"case": IRI, "answer": ...} as POST /api/lookup answers it, or "error" and "source"); '
        "the rules run over a chunk of cases at once. Exit status 1 when a case could not be read",
    )
    batch.add_argument("--batch", nargs="+", metavar="PATH", help="case graph files or folders")
    batch.add_argument("--out", metavar="FILE.jsonl", help="where the answers go (required)")
    batch.add_argument(
        "--into-store",
        action="store_true",
        help="also write the findings into the store (--store or --endpoint), in the named "
        "graph <base>graph/findings, replacing what it held",
    )
    batch.add_argument(
        "--chunk",
        type=_at_least_one,
        metavar="N",
        help="cases reasoned over together (default 50)",
    )
    batch.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="processes answering chunks side by side, at most one a core (default: one a "
        "core; 1: this process)",
    )
    lookup.set_defaults(run=run_lookup)

    return parser


def _workers(text: str) -> int:
    """At least one, at most one a core: more processes than cores only wait on each other,
    and each is a copy of this one."""
    from odr_kg.batch_lookup import default_workers

    value, cores = _at_least_one(text), default_workers()
    if value > cores:
        raise argparse.ArgumentTypeError(f"at most {cores} (one a core), not {value}")
    return value


def _at_least_one(text: str) -> int:
    return whole_number(text, least=1)


def run_load(args: argparse.Namespace) -> int:
    if args.store is None and args.endpoint is None:
        print("odr-kg: load needs --store PATH or --endpoint URL", file=sys.stderr)
        return EXIT_USAGE
    store = store_of(args, load=False)
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


def run_lookup(args: argparse.Namespace) -> int:
    import json

    from odr_kg.lookup import LookupEngine
    from odr_kg.lookup_facts import LookupInputError, parse_date
    from odr_kg.validation import UnreadableCaseError, read_case_file

    if args.batch:
        from odr_kg.batch_command import run_batch

        return run_batch(args)
    engine = LookupEngine(store_of(args))
    request: dict[str, object] = {
        "role": args.role,
        "channel": args.channel,
        "claim": args.claim,
        "contractForum": args.contract_forum,
        # true and false as the JSON's booleans; anything else is passed on to be refused.
        "contractForumExclusive": {"true": True, "false": False}.get(
            args.contract_forum_exclusive, args.contract_forum_exclusive
        ),
        "receivedOn": args.received_on,
        "goodsReceivedOn": args.goods_received_on,
        "openedOn": args.opened_on,
        "notYet": args.not_yet,
        "asOf": args.as_of,
        "dissatisfiedWithDecision": args.dissatisfied,
    }
    for name in ("paid", "guarantee"):
        if getattr(args, name):
            amount, currency = getattr(args, name)
            request[name] = {"amount": amount, "currency": currency}
    try:
        if args.case:
            facts = engine.facts_from_case(
                read_case_file(args.case),
                as_of=parse_date(args.as_of, "asOf"),
                dissatisfied=args.dissatisfied or None,
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
    answer = engine.lookup(facts, args.lang)
    if args.format == "turtle":
        _write_stdout(answer.turtle())
    else:
        _write_stdout((json.dumps(answer.json, ensure_ascii=False, indent=2) + "\n").encode())
    return EXIT_OK


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as source:
        return source.read()


def _write_stdout(data: bytes) -> None:
    # Bytes go straight to the buffer: the output is UTF-8 whatever the locale says.
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
