"""Opening the knowledge store a configuration names: the one way the CLI, the web application,
the benchmarks and the tests get a store.

:mod:`odr_kg.store` defines the interface and the embedded store, :mod:`odr_kg.sparql_store` the
external one; this module alone knows both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from odr_kg import resources
from odr_kg.store import INFERRED_GRAPH_NAME, EmbeddedStore, KnowledgeStore
from odr_kg.store_errors import NotLoadedError


def open_store(
    base: str = resources.DEFAULT_BASE,
    path: str | Path | None = None,
    endpoint: str | None = None,
    load: bool = True,
    **external: Any,
) -> KnowledgeStore:
    """The SPARQL store at ``endpoint``, else the embedded store on disk at ``path``, else a
    new one in memory. ``external`` holds the options of an external store, the keyword
    arguments of :class:`~odr_kg.sparql_store.SparqlEndpointStore` (``update_endpoint``,
    ``graph_store``, ``timeout``, ``union_parameter``, ``max_rows``).

    With ``load`` the store holds the packaged data: an embedded store is loaded on first use
    and opened as it is afterwards; an external store must hold the knowledge graph already
    (:class:`NotLoadedError` otherwise: ``odr-kg load --endpoint`` puts it there). Without
    ``load`` the store is as it is, to be loaded into.
    """
    if endpoint is not None:
        # Imported here so that commands on the embedded store do not pay for SPARQLWrapper.
        from odr_kg.sparql_store import SparqlEndpointStore

        external_store = SparqlEndpointStore(endpoint, base, **external)
        if load and not external_store.is_loaded():
            raise NotLoadedError(
                f"the SPARQL store at {endpoint} holds no <{external_store.graph_iri('kg')}>: "
                f"run odr-kg load --endpoint {endpoint} first"
            )
        return external_store
    store = EmbeddedStore(base, path)
    if not load:
        return store
    if store.is_loaded():
        store.use_packaged_prefixes()
        if not store.has_graph(store.graph_iri(INFERRED_GRAPH_NAME)):
            store.infer()  # a store written before the inferred graph existed
    else:
        store.load_packaged()
    return store
