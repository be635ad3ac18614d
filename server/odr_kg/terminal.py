"""Query results on a terminal: an aligned table of terms (Chinese labels two columns wide),
``true``/``false``, or a serialization."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

import pyoxigraph as ox

from odr_kg.rdf import QueryResult, compact_iri, serialize_results, triples_of

TABLE_FORMAT = "table"
QUERY_OUTPUT_FORMATS = (TABLE_FORMAT, "json", "csv", "tsv", "xml", "turtle", "ntriples", "jsonld")


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
