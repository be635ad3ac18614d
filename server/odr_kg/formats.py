"""The formats the service reads and writes, in one table: each format's short name, label, file
extension, media types (the preferred one first) and W3C format IRI, and the pyoxigraph format.

Every other table of formats in the code is a selection from :data:`FORMATS`, made here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

W3C_FORMATS = "http://www.w3.org/ns/formats/"


@dataclass(frozen=True)
class Format:
    """One serialization. ``aliases`` are other values of the SPARQL ``format`` parameter that
    mean it (the names SPARQLWrapper sends); ``boolean`` whether it can hold an ASK answer."""

    name: str
    label: str
    extension: str
    media_types: tuple[str, ...]
    w3c_name: str
    syntax: ox.RdfFormat | ox.QueryResultsFormat
    aliases: tuple[str, ...] = ()
    boolean: bool = True

    @property
    def media_type(self) -> str:
        return self.media_types[0]

    @property
    def is_rdf(self) -> bool:
        return isinstance(self.syntax, ox.RdfFormat)

    @property
    def w3c_iri(self) -> str:
        return W3C_FORMATS + self.w3c_name


FORMATS: tuple[Format, ...] = (
    # Query results: SELECT and ASK.
    Format(
        "json",
        "SPARQL JSON",
        "srj",
        ("application/sparql-results+json", "application/json"),
        "SPARQL_Results_JSON",
        ox.QueryResultsFormat.JSON,
    ),
    Format(
        "xml",
        "SPARQL XML",
        "srx",
        ("application/sparql-results+xml", "application/xml"),
        "SPARQL_Results_XML",
        ox.QueryResultsFormat.XML,
    ),
    # CSV and TSV have no form for an ASK answer (SPARQL 1.1 Query Results CSV and TSV, 1).
    Format(
        "csv",
        "CSV",
        "csv",
        ("text/csv",),
        "SPARQL_Results_CSV",
        ox.QueryResultsFormat.CSV,
        boolean=False,
    ),
    Format(
        "tsv",
        "TSV",
        "tsv",
        ("text/tab-separated-values",),
        "SPARQL_Results_TSV",
        ox.QueryResultsFormat.TSV,
        boolean=False,
    ),
    # RDF: CONSTRUCT and DESCRIBE results, resources, dumps, case graphs.
    Format(
        "turtle",
        "Turtle",
        "ttl",
        ("text/turtle", "application/x-turtle"),
        "Turtle",
        ox.RdfFormat.TURTLE,
        aliases=("n3",),
    ),
    Format(
        "ntriples",
        "N-Triples",
        "nt",
        ("application/n-triples", "text/plain"),
        "N-Triples",
        ox.RdfFormat.N_TRIPLES,
    ),
    Format(
        "jsonld",
        "JSON-LD",
        "jsonld",
        ("application/ld+json",),
        "JSON-LD",
        ox.RdfFormat.JSON_LD,
        aliases=("json-ld",),
    ),
    Format(
        "rdfxml",
        "RDF/XML",
        "rdf",
        ("application/rdf+xml",),
        "RDF_XML",
        ox.RdfFormat.RDF_XML,
        aliases=("rdf+xml", "xml", "rdf"),
    ),
    # A graph result in these is the default graph of a dataset.
    Format("trig", "TriG", "trig", ("application/trig",), "TriG", ox.RdfFormat.TRIG),
    Format("nquads", "N-Quads", "nq", ("application/n-quads",), "N-Quads", ox.RdfFormat.N_QUADS),
)

BY_NAME: dict[str, Format] = {fmt.name: fmt for fmt in FORMATS}
RESULTS: tuple[Format, ...] = tuple(fmt for fmt in FORMATS if not fmt.is_rdf)
RDF: tuple[Format, ...] = tuple(fmt for fmt in FORMATS if fmt.is_rdf)


def named(*names: str) -> tuple[Format, ...]:
    """The formats of ``names``, in that order."""
    return tuple(BY_NAME[name] for name in names)


def by_name(formats: Iterable[Format]) -> dict[str, ox.RdfFormat | ox.QueryResultsFormat]:
    """Short name → pyoxigraph format."""
    return {fmt.name: fmt.syntax for fmt in formats}


def by_extension(formats: Iterable[Format]) -> dict[str, ox.RdfFormat | ox.QueryResultsFormat]:
    """File extension (no dot) → pyoxigraph format."""
    return {fmt.extension: fmt.syntax for fmt in formats}


def by_media_type(formats: Iterable[Format], every: bool = False) -> dict[str, Format]:
    """Media type → format: the preferred media type of each, in order, then (``every``) the
    other media types each is known by."""
    formats = tuple(formats)
    table = {fmt.media_type: fmt for fmt in formats}
    if every:
        table |= {media_type: fmt for fmt in formats for media_type in fmt.media_types[1:]}
    return table


# The kinds of query result and the formats each is served in, preferred first.
FORMATS_OF_KIND: dict[str, tuple[Format, ...]] = {
    "boolean": tuple(fmt for fmt in RESULTS if fmt.boolean),
    "solutions": RESULTS,
    "graph": RDF,
}
# Case graphs: read from files by extension (``.json`` is JSON-LD too), or from request bodies.
CASE_GRAPHS: tuple[Format, ...] = named("turtle", "ntriples", "jsonld")
CASE_FILE_FORMATS: dict[str, ox.RdfFormat] = {
    f".{fmt.extension}": fmt.syntax for fmt in CASE_GRAPHS
} | {".json": ox.RdfFormat.JSON_LD}
