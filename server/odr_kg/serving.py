"""``odr-kg serve``: its options (the limits' made from :data:`odr_kg.limits.LIMITS`) and its
run, as a master process keeping a web process serving (:mod:`odr_kg.supervisor`)."""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence

from odr_kg import supervisor
from odr_kg.command_line import EXIT_OK, EXIT_USAGE
from odr_kg.limits import LIMITS

# Options the master does not pass on to its web process: it holds the socket they describe.
MASTER_ONLY = ("--host", "--port")


def add_serve_command(
    commands: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    """Add ``serve`` to the ``odr-kg`` command's ``commands``."""
    serve = commands.add_parser(
        "serve",
        parents=parents,
        help="serve the web application with waitress",
        description="Serve the web application with the waitress WSGI server, from a web "
        "process that a master process restarts if it dies.",
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
    serve.add_argument(
        "--threads", type=int, default=8, help="waitress threads answering requests (%(default)s)"
    )
    serve.add_argument(
        "--trusted-proxy",
        metavar="ADDRESS",
        help="the reverse proxy's address: take the client's address from its X-Forwarded-For "
        "(the limits per client count by it)",
    )
    serve.add_argument(
        "--no-supervisor",
        action="store_true",
        help="serve from this process, with no master to restart it if it dies",
    )
    # Given by the master to the web processes it starts.
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="the scheme and host the service is reached at (https://kg.example.org): its "
        "own addresses in answers are built on it, never on the request's Host header",
    )
    serve.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    group = serve.add_argument_group(
        "limits", "bounds on requests (default: $ODR_KG_<KEY>, else the value shown)"
    )
    for limit in LIMITS:
        if limit.option is None:
            continue
        help_text = f"{limit.help} ({limit.key}; default {_shown(limit.default)})"
        if isinstance(limit.default, bool):
            group.add_argument(
                limit.option, dest=limit.key, action="store_false", default=None, help=help_text
            )
        elif isinstance(limit.default, tuple):
            group.add_argument(
                limit.option, dest=limit.key, action="append", metavar=limit.metavar, help=help_text
            )
        else:
            kind = float if isinstance(limit.default, float) else int
            group.add_argument(
                limit.option, dest=limit.key, type=kind, metavar=limit.metavar, help=help_text
            )
    serve.set_defaults(run=run_serve)


def _shown(value: object) -> str:
    if value is None:
        return "derived"
    if isinstance(value, tuple):
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def limit_options(args: argparse.Namespace) -> dict[str, object]:
    """The configuration keys of the limit options given on the command line; the others keep
    their value from the environment or the default."""
    options = {limit.key: getattr(args, limit.key, None) for limit in LIMITS if limit.option}
    return {key: value for key, value in options.items() if value is not None}


def run_serve(args: argparse.Namespace) -> int:
    if args.listen_fd is None and not args.no_supervisor:
        return _run_master(args)
    return _run_web_process(args)


def _run_master(args: argparse.Namespace) -> int:
    try:
        sock = supervisor.listen(args.host, args.port)
    except OSError as error:
        print(f"odr-kg: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return EXIT_USAGE

    def announce() -> None:
        print(f"odr-kg: serving on http://{args.host}:{args.port}", file=sys.stderr, flush=True)

    with sock:
        return supervisor.supervise(_passed_on(args.command_line), sock, announce)


def _passed_on(argv: Sequence[str]) -> list[str]:
    """The command line of ``serve`` without the command itself and the master's options."""
    arguments = argv[argv.index("serve") + 1 :] if "serve" in argv else list(argv)
    kept: list[str] = []
    skip = False
    for argument in arguments:
        if skip:
            skip = False
            continue
        name = argument.split("=", 1)[0]
        if name in MASTER_ONLY:
            skip = "=" not in argument
            continue
        kept.append(argument)
    return kept


def _run_web_process(args: argparse.Namespace) -> int:
    # Imported here so that `query` and `export` do not pay for loading Flask.
    from waitress import serve

    from odr_kg.sandbox import SandboxUnavailableError
    from odr_kg.web import create_app

    if args.listen_fd is not None:
        supervisor.die_with_parent()
    try:
        app = create_app(
            {
                "BASE": args.base,
                "DATA_FILES": args.data,
                "STORE_PATH": args.store,
                "SPARQL_ENDPOINT": args.endpoint,
                "SPARQL_UPDATE_ENDPOINT": args.update_endpoint,
                "GRAPH_STORE": args.graph_store,
                "STORE_TIMEOUT": args.timeout,
                "STORE_UNION_PARAMETER": args.union_parameter,
                "STORE_MAX_ROWS": args.store_max_rows,
                **({"PUBLIC_URL": args.public_url} if args.public_url else {}),
                **limit_options(args),
            }
        )
    except OSError as error:
        if isinstance(error, SandboxUnavailableError):
            print(
                f"odr-kg: the workers cannot be confined here ({error}); start with "
                "--no-sandbox (or ODR_KG_SANDBOX=false) to serve without that guarantee",
                file=sys.stderr,
            )
        else:
            print(f"odr-kg: cannot read {error.filename}: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE
    options: dict[str, object] = {}
    if args.trusted_proxy:
        options |= {
            "trusted_proxy": args.trusted_proxy,
            "trusted_proxy_count": 1,
            "trusted_proxy_headers": "x-forwarded-for x-forwarded-proto x-forwarded-host",
        }
    where: dict[str, object] = {"host": args.host, "port": args.port}
    if args.listen_fd is not None:
        where = {"sockets": [socket.socket(fileno=args.listen_fd)]}
    # waitress refuses a larger body before reading it; the application says 413 too. With
    # MAX_CONTENT_LENGTH None (no limit) waitress keeps its own, 1 GiB.
    body_limit = app.config["MAX_CONTENT_LENGTH"]
    if body_limit is not None:
        options["max_request_body_size"] = body_limit
    supervisor.say_ready(args.ready_fd)
    serve(app, threads=args.threads, ident="odr-kg", **where, **options)
    return EXIT_OK
