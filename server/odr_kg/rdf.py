"""RDF in and out of the knowledge store: parsing text and the packaged files (with the line
where a file does not parse), the entailment rule, serializing query results, prefixes, and a
stable order of statements. Nothing here holds data: :mod:`odr_kg.store` does.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

import pyoxigraph as ox

from odr_kg import formats, resources
from odr_kg.store_errors import DataSyntaxError, UnsupportedFormatError

QueryResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples

FormatT = TypeVar("FormatT", ox.QueryResultsFormat, ox.RdfFormat)

# Formats for SELECT and ASK results, by name.
RESULTS_FORMATS: dict[str, ox.QueryResultsFormat] = formats.by_name(formats.RESULTS)
# Formats for CONSTRUCT and DESCRIBE results, by name.
GRAPH_FORMATS: dict[str, ox.RdfFormat] = formats.by_name(formats.RDF)


def parse_text(
    text: str | bytes, rdf_format: ox.RdfFormat, base: str, source: str
) -> tuple[list[ox.Triple], dict[str, str]]:
    """The triples of an RDF document (the graphs of a dataset merged) and its prefixes;
    :class:`DataSyntaxError` naming ``source`` and the line where it does not parse."""
    try:
        # Parsing ourselves, rather than Store.load, keeps the file's prefixes for display.
        parser = ox.parse(text, rdf_format, base_iri=base, rename_blank_nodes=True)
        triples = [quad.triple for quad in parser]
    except SyntaxError as error:
        raise DataSyntaxError(source, error.msg, error.lineno) from error
    except ValueError as error:  # e.g. bytes that are not UTF-8
        raise DataSyntaxError(source, str(error)) from error
    return triples, dict(parser.prefixes)


@functools.cache
def packaged_graphs(base: str) -> tuple[dict[str, list[ox.Triple]], dict[str, str]]:
    """The triples of each packaged graph (ontology, shapes, kg) rebased onto ``base``, and the
    prefixes their files declare. Parsed once per base; do not modify the result."""
    files_of_graph = {
        "ontology": [("ontology", entry) for entry in resources.ontology_files()],
        "shapes": [("ontology", entry) for entry in resources.shapes_files()],
        "kg": [("kg", entry) for entry in resources.data_files("kg")],
    }
    graphs: dict[str, list[ox.Triple]] = {}
    prefixes: dict[str, str] = {}
    for name, entries in files_of_graph.items():
        graphs[name] = []
        for folder, entry in entries:
            triples, declared = parse_text(
                resources.read_data_text(entry, base),
                ox.RdfFormat.TURTLE,
                base,
                f"{folder}/{entry.name}",
            )
            graphs[name] += triples
            prefixes.update(declared)
    return graphs, prefixes


@functools.cache
def entailment_rule(base: str) -> str:
    """The CONSTRUCT query whose answer is the inferred graph, rebased onto ``base``."""
    entry = resources.data_dir("queries") / "entailment" / "rdfs.rq"
    return resources.read_data_text(entry, base)


def split_data_option(option: str) -> tuple[str, str | None]:
    """``FILE=GRAPH_IRI`` as ``(FILE, GRAPH_IRI)``, ``FILE`` as ``(FILE, None)``. The split is
    at the first ``=`` followed by an IRI scheme, so a file name may hold ``=`` too."""
    match = _DATA_OPTION.match(option)
    if match is None:
        return option, None
    return match["path"], match["iri"]


_DATA_OPTION = re.compile(r"^(?P<path>.+?)=(?P<iri>[A-Za-z][A-Za-z0-9+.\-]*:.*)$", re.DOTALL)


def serialize_results(
    result: QueryResult, fmt: str, prefixes: Mapping[str, str] | None = None
) -> bytes:
    """Serialize a query result: SELECT/ASK to a :data:`RESULTS_FORMATS` format,
    CONSTRUCT/DESCRIBE to a :data:`GRAPH_FORMATS` format (Turtle uses ``prefixes``)."""
    if isinstance(result, ox.QueryTriples):
        rdf_format = format_named(GRAPH_FORMATS, fmt, "CONSTRUCT/DESCRIBE results")
        triples = triples_of(result)
        return ox.serialize(
            triples, format=rdf_format, prefixes=used_prefixes(triples, prefixes or {})
        )
    results_format = format_named(RESULTS_FORMATS, fmt, "SELECT/ASK results")
    return result.serialize(format=results_format)


def used_prefixes(
    statements: Iterable[ox.Triple | ox.Quad], prefixes: Mapping[str, str]
) -> dict[str, str]:
    """The entries of ``prefixes`` whose namespace begins an IRI of ``statements``, sorted."""
    iris: set[str] = set()
    for statement in statements:
        for term in (statement.subject, statement.predicate, statement.object):
            if isinstance(term, ox.NamedNode):
                iris.add(term.value)
            elif isinstance(term, ox.Literal):
                iris.add(term.datatype.value)
    return {
        prefix: namespace
        for prefix, namespace in sorted(prefixes.items())
        if any(iri.startswith(namespace) for iri in iris)
    }


def compact_iri(iri: str, prefixes: Mapping[str, str]) -> str:
    """``prefix:local`` for the longest namespace in ``prefixes`` that ``iri`` starts with,
    else ``<iri>``. The local part must be a plain name so the result reads back as Turtle."""
    best = ""
    best_namespace = ""
    for prefix, namespace in prefixes.items():
        if iri.startswith(namespace) and len(namespace) > len(best_namespace):
            local = iri[len(namespace) :]
            if _is_plain_local_name(local):
                best, best_namespace = f"{prefix}:{local}", namespace
    return best or f"<{iri}>"


def _is_plain_local_name(local: str) -> bool:
    return local == "" or (
        not local.startswith(("-", "."))
        and not local.endswith(".")
        and all(char.isalnum() or char in "_-." for char in local)
    )


def triples_of(result: Iterable[ox.Triple]) -> list[ox.Triple]:
    """The triples of a CONSTRUCT/DESCRIBE result, in a stable order."""
    return sorted(result, key=triple_sort_key)


def format_named(table: Mapping[str, FormatT], fmt: str, what: str) -> FormatT:
    try:
        return table[fmt]
    except KeyError:
        raise UnsupportedFormatError(
            f"format {fmt!r} does not apply to {what}; use one of {', '.join(table)}"
        ) from None


def triple_sort_key(triple: ox.Triple) -> tuple[str, str, str]:
    return (str(triple.subject), str(triple.predicate), str(triple.object))


def quad_sort_key(quad: ox.Quad) -> tuple[str, str, str, str]:
    return (str(quad.graph_name), *triple_sort_key(quad.triple))


# Query results made again, the types the embedded store returns ----------------------------


def query_boolean(value: bool) -> ox.QueryBoolean:
    """``value`` as the result of an ASK."""
    document = b'{"head": {}, "boolean": ' + (b"true" if value else b"false") + b"}"
    parsed = ox.parse_query_results(document, ox.QueryResultsFormat.JSON)
    assert isinstance(parsed, ox.QueryBoolean)
    return parsed


def as_query_triples(triples: Sequence[ox.Triple]) -> ox.QueryTriples:
    """``triples`` as the result of a CONSTRUCT, the type the embedded store returns."""
    scratch = ox.Store()
    scratch.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
    return scratch.query("CONSTRUCT WHERE { ?s ?p ?o }")


def query_solutions(
    variables: Sequence[ox.Variable], rows: list[ox.QuerySolution]
) -> ox.QuerySolutions:
    """Rows read already, as :class:`pyoxigraph.QuerySolutions` again (through SPARQL JSON)."""

    def term(value: ox.Term) -> dict[str, str]:
        if isinstance(value, ox.NamedNode):
            return {"type": "uri", "value": value.value}
        if isinstance(value, ox.BlankNode):
            return {"type": "bnode", "value": value.value}
        assert isinstance(value, ox.Literal)
        if value.language:
            return {"type": "literal", "value": value.value, "xml:lang": value.language}
        return {"type": "literal", "value": value.value, "datatype": value.datatype.value}

    names = [variable.value for variable in variables]
    document = {
        "head": {"vars": names},
        "results": {
            "bindings": [
                {name: term(row[name]) for name in names if row[name] is not None} for row in rows
            ]
        },
    }
    parsed = ox.parse_query_results(json.dumps(document).encode(), ox.QueryResultsFormat.JSON)
    assert isinstance(parsed, ox.QuerySolutions)
    return parsed
