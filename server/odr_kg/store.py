"""The knowledge store: the ontology, the shapes and the KG as named graphs, behind one small
interface (:class:`KnowledgeStore`) with two implementations.

- :class:`EmbeddedStore`, the default: pyoxigraph in this process, in memory or on disk.
- :class:`odr_kg.sparql_store.SparqlEndpointStore`: any SPARQL 1.1 store over HTTP.

:func:`odr_kg.stores.open_store` opens the one a configuration names; :mod:`odr_kg.rdf` reads
and writes RDF for them, and :mod:`odr_kg.store_errors` holds the errors they raise.

Each part is a named graph under the base IRI: ``<base>graph/ontology``, ``<base>graph/shapes``
and ``<base>graph/kg``, and ``<base>graph/inferred`` with the RDFS entailments the ontology
declares (types through ``rdfs:subClassOf``, statements through ``rdfs:subPropertyOf``), written
by the rule ``queries/entailment/rdfs.rq`` each time data is loaded. Files loaded with ``odr-kg
serve --data`` go into further named graphs (``<base>graph/data/<file name>`` unless named),
case graphs into ``<base>graph/case/<name>``.
Queries see the union of all named graphs as their default graph, so a question needs no
``GRAPH`` clause; ``GRAPH`` still reaches a single part.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox

from odr_kg import formats, resources
from odr_kg.rdf import (
    QueryResult,
    entailment_rule,
    format_named,
    packaged_graphs,
    parse_text,
    quad_sort_key,
    split_data_option,
    triple_sort_key,
    triples_of,
    used_prefixes,
)
from odr_kg.sparql_tokens import keywords
from odr_kg.store_errors import (
    DataSyntaxError,
    InvalidBaseError,
    InvalidGraphNameError,
    QuerySyntaxError,
    StoreError,
    UnsupportedFormatError,
)

# The graphs read from the packaged files, and with the inferred graph, every graph of ours.
PACKAGED_GRAPH_NAMES = ("ontology", "shapes", "kg")
INFERRED_GRAPH_NAME = "inferred"
GRAPH_NAMES = (*PACKAGED_GRAPH_NAMES, INFERRED_GRAPH_NAME)

# Formats for the whole dataset, by file extension. Those that can hold named graphs keep them;
# the others get the union of the graphs.
EXPORT_FORMATS: dict[str, ox.RdfFormat] = formats.by_extension(
    formats.named("ntriples", "nquads", "turtle", "trig", "jsonld")
)


# An external store: how long to wait for each answer, in seconds, and the request parameter
# that asks Oxigraph's server for the union of the named graphs as the default graph.
DEFAULT_TIMEOUT = 30.0
OXIGRAPH_UNION_PARAMETER = "union-default-graph"


class KnowledgeStore(ABC):
    """A dataset of named graphs whose names and data IRIs use ``base``.

    Subclasses implement evaluation, reading and writing graphs; the rest (loading the packaged
    data and files, export, counting) is written once here on top of them.
    """

    # Whether queries are evaluated in this process (so the web application runs them in
    # confined worker processes), or by a server that bounds its own work.
    in_process = True
    # Whether every write to the data goes through this object, so that :attr:`generation`
    # moves whenever the data changes: true of the embedded store (this process holds it; on
    # disk, the store's lock keeps other writers out), not of an external one, which others
    # may write to.
    sees_every_write = True
    # The graphs whose writes are told apart (see :meth:`written_since`); writes to any other
    # graph (a case graph, a data file's) are counted together, so that importing a million
    # case graphs keeps nothing per graph.
    TRACKED_GRAPH_NAMES = GRAPH_NAMES

    def __init__(self, base: str = resources.DEFAULT_BASE) -> None:
        if not base.endswith("/"):
            raise InvalidBaseError(f"base IRI must end with '/': {base!r}")
        try:
            ox.NamedNode(base)
        except ValueError as error:
            raise InvalidBaseError(f"base IRI is not a valid absolute IRI: {base!r}") from error
        self.base = base
        self.prefixes: dict[str, str] = {}
        # Moves on after every write through this object. A reader holding a copy of some
        # graphs (the lookup's) notes it when taking the copy, and takes a new one when
        # :meth:`written_since` says one of those graphs was written to since.
        self.generation = 0
        self._tracked = {self.graph_iri(name) for name in self.TRACKED_GRAPH_NAMES}
        # The generation of the last write to each tracked graph, to any other graph, and to
        # graphs unsaid (a SPARQL Update, a bulk load, new prefixes: any graph may have changed).
        self._graph_written: dict[str, int] = {}
        self._other_written = 0
        self._all_written = 0
        self._write_lock = threading.Lock()

    # What an implementation provides --------------------------------------------------------

    @abstractmethod
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

    @abstractmethod
    def quads(self, graph_iri: str | None = None) -> Iterator[ox.Quad]:
        """Every quad of the named graph ``graph_iri``, or of the store."""

    @abstractmethod
    def graph_sizes(self) -> dict[str, int]:
        """The number of triples in each named graph, by graph IRI, sorted."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of quads, counting a triple once per graph that holds it."""

    @abstractmethod
    def has_graph(self, graph_iri: str) -> bool:
        """Whether the named graph ``graph_iri`` holds a triple."""

    @abstractmethod
    def add_graphs(self, graphs: Mapping[str, Sequence[ox.Triple]], replace: bool = True) -> None:
        """Write each named graph of ``graphs`` (graph IRI to triples), replacing what it held
        (or adding to it, ``replace=False``); atomically where the store can."""

    @abstractmethod
    def clear_graph(self, graph_iri: str) -> None:
        """Remove the named graph ``graph_iri``; nothing happens if there is none."""

    def close(self) -> None:  # noqa: B027 - most stores hold nothing to release
        """Release what the store holds open (files, connections)."""

    def _written(self, graph_iris: Iterable[str] | None = None) -> None:
        """Note a write to the named graphs ``graph_iris`` (``None``: to any graph), once it
        is done (or failed half-way): :attr:`generation` moves on."""
        with self._write_lock:
            # Moved on after the data changed: a reader that saw the old generation sees the
            # write in written_since, one that saw the new one copied the data already written.
            self.generation += 1
            if graph_iris is None:
                self._all_written = self.generation
                return
            for graph_iri in graph_iris:
                if graph_iri in self._tracked:
                    self._graph_written[graph_iri] = self.generation
                else:
                    self._other_written = self.generation

    def written_since(self, generation: int, graph_iris: Iterable[str]) -> bool:
        """Whether a write through this object after :attr:`generation` was ``generation`` may
        have changed one of the named graphs ``graph_iris`` or the prefixes: a write to another
        graph does not count, a write that does not say its graphs (a SPARQL Update, a bulk
        load) always does. Writes to graphs outside :attr:`TRACKED_GRAPH_NAMES` are told apart
        only from writes to those."""
        if self._all_written > generation:
            return True
        return any(
            self._graph_written.get(graph_iri, 0) > generation
            if graph_iri in self._tracked
            else self._other_written > generation
            for graph_iri in graph_iris
        )

    def _add_prefixes(self, prefixes: Mapping[str, str]) -> None:
        """Take ``prefixes`` besides the store's. The prefixes shape every reader's output (the
        lookup's answer in Turtle), so a change counts as a write to every graph."""
        if any(self.prefixes.get(prefix) != iri for prefix, iri in prefixes.items()):
            self.prefixes.update(prefixes)
            self._written()

    # Written once on top of them ------------------------------------------------------------

    def graph_iri(self, name: str) -> str:
        """The IRI of the named graph ``name`` (one of :data:`GRAPH_NAMES`)."""
        return f"{self.base}graph/{name}"

    def case_graph_iri(self, name: str) -> str:
        """The IRI of the named graph of the case graph ``name``: ``<base>graph/case/<name>``."""
        return f"{self.graph_iri('case')}/{quote(name)}"

    def is_loaded(self) -> bool:
        """Whether the store holds the knowledge graph (written last by :meth:`load_packaged`)."""
        return self.has_graph(self.graph_iri("kg"))

    def load_packaged(self) -> None:
        """(Re)write the packaged ontology, shapes and knowledge graph as named graphs, then
        the inferred graph. Idempotent: each graph is replaced, never added to twice."""
        graphs, prefixes = packaged_graphs(self.base)
        self.add_graphs({self.graph_iri(name): graphs[name] for name in PACKAGED_GRAPH_NAMES})
        self._add_prefixes(prefixes)
        self.infer()

    def infer(self) -> int:
        """(Re)write the named graph ``<base>graph/inferred`` from every other graph of the
        store with the rule ``queries/entailment/rdfs.rq``; return its number of triples.
        Called by every way of loading data; call it after writing with :meth:`add_graphs`."""
        triples = triples_of(self.query(entailment_rule(self.base)))
        self.add_graphs({self.graph_iri(INFERRED_GRAPH_NAME): triples})
        return len(triples)

    def use_packaged_prefixes(self) -> None:
        """Take the prefixes of the packaged files, for a store loaded earlier."""
        self._add_prefixes(packaged_graphs(self.base)[1])

    def add_file(self, path: str | Path | Traversable, graph_iri: str) -> None:
        """Load an RDF file into the named graph ``graph_iri``.

        The file is taken to be written like the project's own, with the default base, and is
        rebased. Its format follows the extension (``.ttl``, ``.nt``, ``.trig``, ``.jsonld``...);
        the graphs of a TriG or N-Quads file all go into ``graph_iri``.
        """
        triples, prefixes = self.parse_file(path)
        self.add_graphs({graph_iri: triples}, replace=False)
        self._add_prefixes(prefixes)
        self.infer()

    def parse_file(self, path: str | Path | Traversable) -> tuple[list[ox.Triple], dict[str, str]]:
        """The triples of an RDF file (rebased, by extension) and the prefixes it declares;
        :class:`DataSyntaxError` with the line where it does not parse."""
        entry = Path(path) if isinstance(path, str) else path
        rdf_format = ox.RdfFormat.from_extension(Path(entry.name).suffix.lstrip("."))
        if rdf_format is None:
            raise UnsupportedFormatError(f"cannot tell the RDF format of {entry.name!r}")
        try:
            text = resources.read_data_text(entry, self.base)
        except UnicodeDecodeError as error:
            raise DataSyntaxError(str(entry), f"not UTF-8: {error}") from error
        return parse_text(text, rdf_format, self.base, str(entry))

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

    def union_triples(self) -> list[ox.Triple]:
        """Every distinct triple of the store, in a stable order."""
        return sorted({quad.triple for quad in self.quads()}, key=triple_sort_key)

    def distinct_triple_count(self) -> int:
        """The number of distinct triples over all named graphs."""
        (row,) = self.query(
            "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o "
            "WHERE { GRAPH ?g { ?s ?p ?o } } }"
        )
        return int(row["n"].value)

    def export(self, fmt: str) -> bytes:
        """The whole dataset in an :data:`EXPORT_FORMATS` format.

        TriG, N-Quads and JSON-LD keep the graph names; N-Triples and Turtle hold the union.
        """
        rdf_format = format_named(EXPORT_FORMATS, fmt, "export")
        if rdf_format.supports_datasets:
            statements: list[ox.Quad] | list[ox.Triple] = sorted(self.quads(), key=quad_sort_key)
        else:
            statements = self.union_triples()
        prefixes = used_prefixes(statements, self.prefixes)
        return ox.serialize(statements, format=rdf_format, prefixes=prefixes)


class EmbeddedStore(KnowledgeStore):
    """A pyoxigraph store in this process: in memory, or on disk at ``path``."""

    def __init__(
        self,
        base: str = resources.DEFAULT_BASE,
        path: str | Path | None = None,
        writable: bool = True,
    ) -> None:
        super().__init__(base)
        self.path = Path(path) if path is not None else None
        self.writable = writable
        try:
            if path is None:
                self._store = ox.Store()
            elif writable:
                self._store = ox.Store(str(path))
            else:
                self._store = ox.Store.read_only(str(path))
        except OSError as error:
            raise StoreError(f"cannot open the store at {path}: {error}") from error
        # Counting scans the whole store (0.36 s at 100,000 cases), and /health, the home page
        # and the VoID description ask on every request; this store only changes through its
        # own writes below, after each of which the counts are forgotten.
        self._counts: dict[str, Any] = {}
        # Whether a transaction wrote since the last flush (see close).
        self._unflushed = False

    @classmethod
    def read_only(cls, base: str, path: str | Path) -> EmbeddedStore:
        """The store on disk at ``path``, opened for reading while another process (the web
        process) holds it open for writing."""
        return cls(base, path, writable=False)

    def query(
        self,
        sparql: str,
        default_graphs: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
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

    def quads(self, graph_iri: str | None = None) -> Iterator[ox.Quad]:
        if graph_iri is None:
            return iter(self._store)
        return iter(self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph_iri)))

    def __len__(self) -> int:
        if "quads" not in self._counts:
            self._counts["quads"] = len(self._store)
        return self._counts["quads"]

    def graph_sizes(self) -> dict[str, int]:
        if "graphs" not in self._counts:
            sizes: dict[str, int] = {}
            for solution in self._store.query(
                "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
            ):
                sizes[solution["g"].value] = int(solution["n"].value)
            self._counts["graphs"] = dict(sorted(sizes.items()))
        return dict(self._counts["graphs"])

    def distinct_triple_count(self) -> int:
        if "triples" not in self._counts:
            self._counts["triples"] = super().distinct_triple_count()
        return self._counts["triples"]

    def has_graph(self, graph_iri: str) -> bool:
        graph = ox.NamedNode(graph_iri)
        return next(iter(self._store.quads_for_pattern(None, None, None, graph)), None) is not None

    def add_graphs(self, graphs: Mapping[str, Sequence[ox.Triple]], replace: bool = True) -> None:
        self._unflushed = True
        try:
            if replace:
                for graph_iri in graphs:
                    self._store.remove_graph(ox.NamedNode(graph_iri))
            # One extend: one transaction, so a store holds all of the graphs or none of them.
            self._store.extend(
                ox.Quad(triple.subject, triple.predicate, triple.object, ox.NamedNode(graph_iri))
                for graph_iri, triples in graphs.items()
                for triple in triples
            )
        finally:
            self._written(graphs)

    def clear_graph(self, graph_iri: str) -> None:
        self._unflushed = True
        try:
            self._store.remove_graph(ox.NamedNode(graph_iri))
        finally:
            self._written([graph_iri])

    def _written(self, graph_iris: Iterable[str] | None = None) -> None:
        self._counts.clear()
        super()._written(graph_iris)

    def bulk_load(self, path: str | Path, *, lenient: bool = False) -> None:
        """Load a dataset file (N-Quads, TriG; format by extension) as it is, graph names kept,
        with pyoxigraph's bulk loader: several times faster than :meth:`add_graphs`, but not
        atomic (a file that fails half-way stays half loaded) and not rebased.

        ``lenient`` skips the parser's checks of IRIs and language tags (an eighth to a quarter
        of the load's CPU time, bench/NOTES.md): a relative or malformed IRI then goes into the
        store as it is. Only for files this project wrote itself (``odr-kg export``, the
        generator of ``bench/``) or checked already; a file from elsewhere is loaded strictly."""
        rdf_format = ox.RdfFormat.from_extension(Path(path).suffix.lstrip("."))
        if rdf_format is None:
            raise UnsupportedFormatError(f"cannot tell the RDF format of {Path(path).name!r}")
        try:
            self._store.bulk_load(path=str(path), format=rdf_format, lenient=lenient)
        except SyntaxError as error:
            raise DataSyntaxError(str(path), error.msg, error.lineno) from error
        finally:
            self._written()  # the file names its own graphs, any of them

    def close(self) -> None:
        # Only what transactions wrote needs flushing. bulk_load ingests files of its own, on
        # disk when it returns; a flush after it would wait until RocksDB has compacted them
        # (533 s of a 2,000 s load of 1M cases on a shared machine) instead of letting that
        # run in the background, where it slows reads until it is done.
        if self.path is not None and self.writable and self._unflushed:
            self._store.flush()
            self._unflushed = False
