"""The embedded, in-memory RDF store (pyoxigraph) holding the ontology, the shapes and the KG.

Each part is a named graph under the base IRI: ``<base>graph/ontology``, ``<base>graph/shapes``
and ``<base>graph/kg``; files loaded with ``odr-kg serve --data`` go into further named graphs
(``<base>graph/data/<file name>`` unless named). Queries see the union of all named graphs as
their default graph, so a question needs no ``GRAPH`` clause; ``GRAPH`` still reaches a single
part.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import pyoxigraph as ox

from odr_kg import resources
from odr_kg.sparql_tokens import keywords

QueryResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples

FormatT = TypeVar("FormatT", ox.QueryResultsFormat, ox.RdfFormat)

GRAPH_NAMES = ("ontology", "shapes", "kg")

# Formats for SELECT and ASK results.
RESULTS_FORMATS: dict[str, ox.QueryResultsFormat] = {
    "json": ox.QueryResultsFormat.JSON,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
    "xml": ox.QueryResultsFormat.XML,
}
# Formats for CONSTRUCT and DESCRIBE results.
GRAPH_FORMATS: dict[str, ox.RdfFormat] = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
    # The triples of the result as the default graph of a dataset.
    "trig": ox.RdfFormat.TRIG,
    "nquads": ox.RdfFormat.N_QUADS,
}
# Formats for the whole dataset. Those that can hold named graphs keep them; the others get
# the union of the graphs.
EXPORT_FORMATS: dict[str, ox.RdfFormat] = {
    "nt": ox.RdfFormat.N_TRIPLES,
    "nq": ox.RdfFormat.N_QUADS,
    "ttl": ox.RdfFormat.TURTLE,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,
}


class StoreError(Exception):
    """Base class of the errors the knowledge store raises."""


class InvalidBaseError(StoreError, ValueError):
    """The configured base IRI is not an absolute IRI ending in ``/``."""


class InvalidGraphNameError(StoreError, ValueError):
    """A graph name given for loaded data is not an absolute IRI."""


class DataSyntaxError(StoreError):
    """An RDF file does not parse. ``source`` names the file, ``message`` is the parser's."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


class QuerySyntaxError(StoreError):
    """A SPARQL query does not parse. ``message`` is the parser's, position included."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnsupportedFormatError(StoreError, ValueError):
    """No serialization of that name, or none that fits this kind of result."""


class KnowledgeStore:
    """An in-memory pyoxigraph store whose graph names and data IRIs use ``base``."""

    def __init__(self, base: str = resources.DEFAULT_BASE) -> None:
        if not base.endswith("/"):
            raise InvalidBaseError(f"base IRI must end with '/': {base!r}")
        try:
            ox.NamedNode(base)
        except ValueError as error:
            raise InvalidBaseError(f"base IRI is not a valid absolute IRI: {base!r}") from error
        self.base = base
        self.prefixes: dict[str, str] = {}
        self._store = ox.Store()

    @classmethod
    def load(cls, base: str = resources.DEFAULT_BASE) -> KnowledgeStore:
        """A store holding the packaged ontology, shapes and knowledge graph."""
        store = cls(base)
        files_of_graph = {
            "ontology": [("ontology", entry) for entry in resources.ontology_files()],
            "shapes": [("ontology", entry) for entry in resources.shapes_files()],
            "kg": [("kg", entry) for entry in resources.data_files("kg")],
        }
        for name, entries in files_of_graph.items():
            for folder, entry in entries:
                store._add_text(
                    resources.read_data_text(entry, base),
                    ox.RdfFormat.TURTLE,
                    store.graph_iri(name),
                    source=f"{folder}/{entry.name}",
                )
        return store

    def graph_iri(self, name: str) -> str:
        """The IRI of the named graph ``name`` (one of :data:`GRAPH_NAMES`)."""
        return f"{self.base}graph/{name}"

    def add_file(self, path: str | Path | Traversable, graph_iri: str) -> None:
        """Load an RDF file into the named graph ``graph_iri``.

        The file is taken to be written like the project's own, with the default base, and is
        rebased. Its format follows the extension (``.ttl``, ``.nt``, ``.trig``, ``.jsonld``...);
        the graphs of a TriG or N-Quads file all go into ``graph_iri``.
        """
        entry = Path(path) if isinstance(path, str) else path
        rdf_format = ox.RdfFormat.from_extension(Path(entry.name).suffix.lstrip("."))
        if rdf_format is None:
            raise UnsupportedFormatError(f"cannot tell the RDF format of {entry.name!r}")
        text = resources.read_data_text(entry, self.base)
        self._add_text(text, rdf_format, graph_iri, source=str(entry))

    def data_graph_iri(self, path: str | Path) -> str:
        """The default name of the graph holding a file loaded with ``--data``:
        ``<base>graph/data/<file name>``."""
        return f"{self.graph_iri('data')}/{quote(Path(path).name)}"

    def add_data(self, option: str) -> str:
        """Load the file of a ``FILE`` or ``FILE=GRAPH_IRI`` option (``odr-kg serve --data``)
        into its named graph, by default :meth:`data_graph_iri`; return the graph IRI."""
        path, graph_iri = split_data_option(option)
        graph_iri = graph_iri or self.data_graph_iri(path)
        try:
            ox.NamedNode(graph_iri)
        except ValueError:
            raise InvalidGraphNameError(f"not an absolute IRI: {graph_iri!r}") from None
        self.add_file(path, graph_iri)
        return graph_iri

    def _add_text(self, text: str, rdf_format: ox.RdfFormat, graph_iri: str, source: str) -> None:
        graph = ox.NamedNode(graph_iri)
        try:
            # Parsing ourselves, rather than Store.load, keeps the file's prefixes for display.
            parser = ox.parse(text, rdf_format, base_iri=self.base, rename_blank_nodes=True)
            quads = [ox.Quad(q.subject, q.predicate, q.object, graph) for q in parser]
        except SyntaxError as error:
            raise DataSyntaxError(source, error.msg) from error
        self._store.extend(quads)
        self.prefixes.update(parser.prefixes)

    def quads(self) -> Iterator[ox.Quad]:
        """Every quad of the store."""
        return iter(self._store)

    def __len__(self) -> int:
        """The number of quads, counting a triple once per graph that holds it."""
        return len(self._store)

    def graph_sizes(self) -> dict[str, int]:
        """The number of triples in each named graph, by graph IRI."""
        return {
            graph.value: sum(1 for _ in self._store.quads_for_pattern(None, None, None, graph))
            for graph in sorted(self._store.named_graphs(), key=str)
        }

    def query(
        self,
        sparql: str,
        default_graphs: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """Evaluate a SPARQL query; its default graph is the union of the named graphs.

        The union is a bag: a triple stated in two graphs matches twice, so
        ``SELECT (COUNT(*) AS ?n) { ?s ?p ?o }`` counts it twice. Use DISTINCT where it matters.

        A query with ``FROM`` or ``FROM NAMED`` gets the dataset it describes instead. Given
        ``default_graphs`` or ``named_graphs`` (graph IRIs, as the SPARQL Protocol's
        ``default-graph-uri`` and ``named-graph-uri``), the dataset is made of exactly those,
        whatever the query says; one left out is empty. A graph name the store does not hold is
        an empty graph: nothing is ever fetched. ``base_iri`` resolves relative IRIs.
        """
        if default_graphs is None and named_graphs is None:
            options = {"use_default_graph_as_union": "FROM" not in keywords(sparql)}
        else:
            options = {
                "default_graph": [ox.NamedNode(iri) for iri in default_graphs or ()],
                "named_graphs": [ox.NamedNode(iri) for iri in named_graphs or ()],
            }
        try:
            return self._store.query(sparql, base_iri=base_iri, **options)
        except SyntaxError as error:
            raise QuerySyntaxError(error.msg) from error

    def union_triples(self) -> list[ox.Triple]:
        """Every distinct triple of the store, in a stable order."""
        return sorted({quad.triple for quad in self._store}, key=_triple_sort_key)

    def export(self, fmt: str) -> bytes:
        """The whole dataset in an :data:`EXPORT_FORMATS` format.

        TriG, N-Quads and JSON-LD keep the graph names; N-Triples and Turtle hold the union.
        """
        rdf_format = _lookup(EXPORT_FORMATS, fmt, "export")
        if rdf_format.supports_datasets:
            statements: list[ox.Quad] | list[ox.Triple] = sorted(self._store, key=_quad_sort_key)
        else:
            statements = self.union_triples()
        prefixes = used_prefixes(statements, self.prefixes)
        return ox.serialize(statements, format=rdf_format, prefixes=prefixes)


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
        rdf_format = _lookup(GRAPH_FORMATS, fmt, "CONSTRUCT/DESCRIBE results")
        triples = triples_of(result)
        return ox.serialize(
            triples, format=rdf_format, prefixes=used_prefixes(triples, prefixes or {})
        )
    results_format = _lookup(RESULTS_FORMATS, fmt, "SELECT/ASK results")
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
    return sorted(result, key=_triple_sort_key)


def _lookup(table: Mapping[str, FormatT], fmt: str, what: str) -> FormatT:
    try:
        return table[fmt]
    except KeyError:
        raise UnsupportedFormatError(
            f"format {fmt!r} does not apply to {what}; use one of {', '.join(table)}"
        ) from None


def _triple_sort_key(triple: ox.Triple) -> tuple[str, str, str]:
    return (str(triple.subject), str(triple.predicate), str(triple.object))


def _quad_sort_key(quad: ox.Quad) -> tuple[str, str, str, str]:
    return (str(quad.graph_name), *_triple_sort_key(quad.triple))
