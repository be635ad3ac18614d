"""The lookup service: answers cached by their facts, language and format, never stale after a
write to the store."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
import rdflib
from flask import Flask
from rdflib.compare import isomorphic

from odr_kg.lookup_service import LookupService, encode_answer
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


def test_an_engine_replaced_meanwhile_still_answers_uncached(own_store: KnowledgeStore) -> None:
    service = LookupService(own_store, cache_bytes=2**20)
    old = service.engine()
    facts = old.facts_from_json(REQUEST)
    own_store.clear_graph(own_store.graph_iri("data") + "/nothing")  # a write, changing nothing
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
