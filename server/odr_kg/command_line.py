"""What every ``odr-kg`` command shares: the exit statuses, the ``--base`` and store options,
and the store they name."""

from __future__ import annotations

import argparse
import os

from odr_kg.resources import DEFAULT_BASE
from odr_kg.store import DEFAULT_TIMEOUT, OXIGRAPH_UNION_PARAMETER, KnowledgeStore
from odr_kg.stores import open_store

EXIT_OK = 0
EXIT_DATA_ERROR = 1
EXIT_USAGE = 2
EXIT_STORE = 3


def store_options() -> argparse.ArgumentParser:
    """The parent parser of the commands that work on a store: ``--base`` (default
    ``$ODR_KG_BASE``, else the default base) and where the store is."""
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
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="give up on an external store's answer after this long (%(default)s)",
    )
    stores.add_argument(
        "--union-parameter",
        default=OXIGRAPH_UNION_PARAMETER,
        metavar="NAME",
        help="the request parameter asking the external store for the union of its graphs as "
        "the default graph (%(default)s, Oxigraph's); '' for none, where the default graph is "
        "the union already (Virtuoso)",
    )
    stores.add_argument(
        "--store-max-rows",
        type=_row_cap,
        metavar="N",
        help="the external store's cap on the rows of an answer (Virtuoso's ResultSetMaxRows): "
        "reads page below it, and an answer reaching it is an error, never taken as complete",
    )
    return base_option


def _row_cap(text: str) -> int:
    """A store's row cap: a whole number of at least 2, so that a page below it holds a row."""
    return whole_number(text, least=2, what="a row cap is ")


def whole_number(text: str, least: int, what: str = "") -> int:
    """An option's whole number of at least ``least``; ``what`` begins the refusal."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{what}at least {least}, not {value}")
    return value


def store_of(args: argparse.Namespace, load: bool = True) -> KnowledgeStore:
    """The store the command line names: holding the knowledge graph, or (``load=False``) as it
    is, to be loaded into."""
    return open_store(
        args.base,
        path=args.store,
        endpoint=args.endpoint,
        load=load,
        update_endpoint=args.update_endpoint,
        graph_store=args.graph_store,
        timeout=args.timeout,
        union_parameter=args.union_parameter or None,
        max_rows=args.store_max_rows,
    )
