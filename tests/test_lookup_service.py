"""The lookup service: answers cached by their facts, language and format, never stale after a
write to the store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from flask import Flask
from rdflib.compare import isomorphic

from odr_kg.lookup import LookupEngine
from odr_kg.lookup_service import LOOKUP_GRAPH_NAMES, LookupService, encode_answer
from odr_kg.store import KnowledgeStore
from odr_kg.stores import open_store

REQUEST = {
    "role": "buyer",
    "channel": "trade-assurance",
    "claim": "non-delivery",
    "paid": {"amount": "12000.00", "currency": "USD"},
    "guarantee": {"amount": "5000.00", "currency": "USD"},
    "asOf": "2026-11-27",
    "dissatisfiedWithDecision": True,
}
CASE = Path(__file__).resolve().parents[1] / "cases" / "trade-assurance-non-delivery.ttl"
SKOS_PREF_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


@pytest.fixture
def own_store() -> Iterator[KnowledgeStore]:
    """A store of this test's own, which it may write to."""
    store = open_store()
    yield store
    store.close()


def same_graph(turtle: bytes, other: bytes) -> bool:
    """Whether two answers in Turtle say the same (their blank nodes are named apart)."""
    return isomorphic(
        *(rdflib.Graph().parse(data=text, format="turtle") for text in (turtle, other))
    )


def relabel(store: KnowledgeStore, iri: str, label: str) -> None:
    """Replace the English labels of ``iri`` in whichever of the lookup's graphs states them,
    through the store's own write (as ``odr-kg load`` and ``--data`` write)."""
    for name in ("ontology", "kg"):
        graph = store.graph_iri(name)
        triples = [quad.triple for quad in store.quads(graph)]
        kept = [
            t
            for t in triples
            if not (
                t.subject == ox.NamedNode(iri)
                and t.predicate.value in (SKOS_PREF_LABEL, RDFS_LABEL)
                and isinstance(t.object, ox.Literal)
                and t.object.language == "en"
            )
        ]
        if len(kept) < len(triples):
            kept.append(
                ox.Triple(
                    ox.NamedNode(iri),
                    ox.NamedNode(SKOS_PREF_LABEL),
                    ox.Literal(label, language="en"),
                )
            )
            store.add_graphs({graph: kept})


def test_an_answer_is_computed_once_per_facts_language_and_format(
    own_store: KnowledgeStore,
) -> None:
    service = LookupService(own_store, cache_bytes=2**20)
    engine = service.engine()
    facts = engine.facts_from_json(REQUEST)
    first = service.answer(engine, facts, "en", "json")
    assert first == encode_answer(engine.lookup(facts, "en"), "json")
    # The same facts written otherwise (keys reordered, a default spelt out) share the entry.
    same = engine.facts_from_json({**dict(reversed(REQUEST.items())), "contractForum": "unknown"})
    assert service.answer(engine, same, "en", "json") is first
    assert service.cached_answers() == 1
    # Another language, format or date is another answer.
    assert json.loads(service.answer(engine, facts, "zh", "json")) != json.loads(first)
    turtle = service.answer(engine, facts, "en", "turtle")
    assert same_graph(turtle, encode_answer(engine.lookup(facts, "en"), "turtle"))
    later = engine.facts_from_json({**REQUEST, "asOf": "2027-06-01"})
    assert service.answer(engine, later, "en", "json") != first
    assert service.cached_answers() == 4


def test_amounts_written_apart_are_not_taken_for_one_another(own_store: KnowledgeStore) -> None:
    service = LookupService(own_store, cache_bytes=2**20)
    engine = service.engine()
    for amount in ("5000.00", "5000.000"):
        facts = engine.facts_from_json(
            {**REQUEST, "guarantee": {"amount": amount, "currency": "USD"}}
        )
        assert same_graph(
            service.answer(engine, facts, "en", "turtle"),
            encode_answer(engine.lookup(facts, "en"), "turtle"),
        )


def test_the_cache_holds_at_most_its_bytes_dropping_the_least_recently_used(
    own_store: KnowledgeStore,
) -> None:
    probe = LookupService(own_store, cache_bytes=0)
    engine = probe.engine()
    days = [engine.facts_from_json({**REQUEST, "asOf": f"2026-12-0{day}"}) for day in (1, 2, 3)]
    size = max(len(probe.answer(engine, facts, "en")) for facts in days)
    assert probe.cached_answers() == 0

    service = LookupService(own_store, cache_bytes=2 * size)
    engine = service.engine()
    first = service.answer(engine, days[0], "en")
    service.answer(engine, days[1], "en")
    assert service.answer(engine, days[0], "en") is first  # now the most recently used
    service.answer(engine, days[2], "en")  # drops days[1]
    assert service.cached_answers() == 2
    assert service.answer(engine, days[0], "en") is first


def test_a_write_to_the_store_reaches_the_next_answer(own_store: KnowledgeStore) -> None:
    service = LookupService(own_store, cache_bytes=2**20)
    engine = service.engine()
    facts = engine.facts_from_json(REQUEST)
    stage = json.loads(service.answer(engine, facts, "en"))["stages"][0]
    relabel(own_store, stage["iri"], "A stage renamed")
    engine = service.engine()
    assert service.cached_answers() == 0
    answer = json.loads(service.answer(engine, engine.facts_from_json(REQUEST), "en"))
    assert answer["stages"][0]["label"] == "A stage renamed"


def case_triples(store: KnowledgeStore) -> list[ox.Triple]:
    """A case graph from cases/, as ``odr-kg cases import`` would write it."""
    return store.parse_file(CASE)[0]


def test_a_write_to_a_case_graph_keeps_the_copy_and_the_cached_answers(
    own_store: KnowledgeStore,
) -> None:
    service = LookupService(own_store, cache_bytes=2**20)
    engine = service.engine()
    facts = engine.facts_from_json(REQUEST)
    first = service.answer(engine, facts, "en")
    # What `odr-kg cases import` writes: case graphs, then the inferred graph again.
    own_store.add_graphs({own_store.case_graph_iri("imported"): case_triples(own_store)})
    own_store.infer()
    own_store.clear_graph(own_store.case_graph_iri("imported"))
    own_store.infer()
    assert service.engine() is engine  # not copied again
    assert service.answer(engine, facts, "en") is first
    assert service.cached_answers() == 1


def test_a_write_that_does_not_say_its_graphs_empties_the_cache(
    own_store: KnowledgeStore, tmp_path: Path
) -> None:
    service = LookupService(own_store, cache_bytes=2**20)
    engine = service.engine()
    service.answer(engine, engine.facts_from_json(REQUEST), "en")
    data = tmp_path / "case.nq"
    graph = ox.NamedNode(own_store.case_graph_iri("bulk"))
    data.write_bytes(
        ox.serialize(
            [ox.Quad(*t, graph) for t in case_triples(own_store)], format=ox.RdfFormat.N_QUADS
        )
    )
    own_store.bulk_load(data)  # its graphs are named in the file: any may be the kg
    assert service.engine() is not engine
    assert service.cached_answers() == 0


class _Recording:
    """A store that notes the graphs read from it."""

    def __init__(self, store: KnowledgeStore) -> None:
        self._store = store
        self.read: list[str | None] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def quads(self, graph_iri: str | None = None) -> Iterator[ox.Quad]:
        self.read.append(graph_iri)
        return self._store.quads(graph_iri)

    def query(self, *args: object, **kwargs: object) -> object:
        self.read.append(None)  # a query may read any graph
        return self._store.query(*args, **kwargs)


def test_the_engine_reads_only_the_graphs_whose_writes_the_service_watches(
    own_store: KnowledgeStore,
) -> None:
    recording = _Recording(own_store)
    engine = LookupEngine(recording)  # type: ignore[arg-type]
    engine.lookup(engine.facts_from_json(REQUEST), "en")
    watched = {own_store.graph_iri(name) for name in LOOKUP_GRAPH_NAMES}
    assert recording.read
    assert set(recording.read) <= watched


def test_an_engine_replaced_meanwhile_still_answers_uncached(own_store: KnowledgeStore) -> None:
    service = LookupService(own_store, cache_bytes=2**20)
    old = service.engine()
    facts = old.facts_from_json(REQUEST)
    kg = own_store.graph_iri("kg")
    own_store.add_graphs({kg: [quad.triple for quad in own_store.quads(kg)]})  # the same again
    assert service.engine() is not old
    assert service.answer(old, facts, "en") == encode_answer(old.lookup(facts, "en"), "json")
    assert service.cached_answers() == 0


def test_over_a_store_others_write_to_the_data_is_read_again_after_refresh_seconds(
    own_store: KnowledgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(own_store, "sees_every_write", False)
    service = LookupService(own_store, cache_bytes=2**20, refresh_seconds=60)
    engine = service.engine()
    assert service.engine() is engine
    # Another writer's change is not seen by the store object: only the age of the copy tells.
    service._copy.taken_at -= 61
    assert service.engine() is not engine


def test_a_write_through_the_application_changes_the_api_answer(app: Flask) -> None:
    client = app.test_client()
    before = client.post("/api/lookup", json=REQUEST)
    assert before.status_code == 200
    stage = before.get_json()["stages"][0]
    assert stage["label"] != "A stage renamed"
    relabel(app.extensions["odr_kg"], stage["iri"], "A stage renamed")
    after = client.post("/api/lookup", json=REQUEST).get_json()
    assert after["stages"][0]["label"] == "A stage renamed"
    form = {"role": "buyer", "channel": "trade-assurance", "claim": "non-delivery"}
    page = client.get("/lookup.json", query_string=form)
    assert page.get_json()["stages"][0]["label"] == "A stage renamed"
