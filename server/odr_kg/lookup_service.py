"""The lookup as a service answers it: over the store's current data, and from a bounded cache
of encoded answers.

:class:`~odr_kg.lookup.LookupEngine` works on a copy of the ontology and the knowledge graph
taken when it is built. :class:`LookupService` keeps that copy current: it builds a new engine,
and drops every cached answer, when one of those graphs was written to since the copy was taken
(:meth:`~odr_kg.store.KnowledgeStore.written_since`: a write to a case graph leaves the copy and
the answers as they are, a SPARQL Update may have written anywhere) or, over a store that others
may write to (an external one), when the copy is older than ``refresh_seconds``.

An answer depends only on the facts (parsed and checked, so that requests saying the same
thing in other words, keys in another order or defaults spelt out, share it), the as-of date
among them, the language and the format; so within one copy of the data it is computed once
and kept, encoded, in a least-recently-used cache bounded in bytes.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from odr_kg.lookup import Answer, LookupEngine
from odr_kg.lookup_facts import Facts
from odr_kg.store import KnowledgeStore

# The encodings of an answer, by the name a caller asks for.
ANSWER_FORMATS = ("json", "turtle")
# The graphs LookupEngine copies (with the store's prefixes): only a write to one of them can
# change an answer.
LOOKUP_GRAPH_NAMES = ("ontology", "kg")


def encode_answer(answer: Answer, answer_format: str) -> bytes:
    """``answer`` in one of :data:`ANSWER_FORMATS`: the JSON of the API, or its graph in
    Turtle."""
    if answer_format == "turtle":
        return answer.turtle()
    return json.dumps(answer.json, ensure_ascii=False, indent=2).encode()


@dataclass
class _Copy:
    """An engine over one copy of the data, with the answers computed from it."""

    engine: LookupEngine
    generation: int
    taken_at: float
    answers: OrderedDict[tuple[str, str, str], bytes] = field(default_factory=OrderedDict)
    size: int = 0


class LookupService:
    """The lookup engine over ``store``'s current data and a cache of its answers, at most
    ``cache_bytes`` of them (0: none). Over a store that does not see every write
    (:attr:`~odr_kg.store.KnowledgeStore.sees_every_write`), the data is read again once it is
    ``refresh_seconds`` old. Thread-safe."""

    def __init__(
        self, store: KnowledgeStore, cache_bytes: int, refresh_seconds: float | None = None
    ) -> None:
        self.store = store
        self.cache_bytes = cache_bytes
        self.refresh_seconds = refresh_seconds
        self._graphs = [store.graph_iri(name) for name in LOOKUP_GRAPH_NAMES]
        self._lock = threading.Lock()
        self._copy = self._take_copy()

    def _take_copy(self) -> _Copy:
        # The generation is read before the data: a write during the copy leaves the copy
        # marked older than the store, so it is taken again.
        generation = self.store.generation
        return _Copy(LookupEngine(self.store), generation, time.monotonic())

    def _is_current(self, copy: _Copy) -> bool:
        if self.store.written_since(copy.generation, self._graphs):
            return False
        if self.store.sees_every_write or self.refresh_seconds is None:
            return True
        return time.monotonic() - copy.taken_at < self.refresh_seconds

    def _current(self) -> _Copy:
        copy = self._copy
        if self._is_current(copy):
            return copy
        with self._lock:
            if not self._is_current(self._copy):
                self._copy = self._take_copy()
            return self._copy

    def engine(self) -> LookupEngine:
        """The engine over the store's current data: read the request's facts with it, and
        pass it to :meth:`answer`."""
        return self._current().engine

    def answer(
        self, engine: LookupEngine, facts: Facts, lang: str, answer_format: str = "json"
    ) -> bytes:
        """The answer to ``facts`` in ``lang``, encoded in ``answer_format``
        (:data:`ANSWER_FORMATS`), by ``engine`` (from :meth:`engine`); from the cache when it
        holds it. An engine replaced meanwhile still answers, uncached."""
        # The facts' repr, not the facts: amounts equal as numbers but written apart
        # (5000.0, 5000.000) are equal Decimals, and the answer's graph keeps how each is written.
        key = (repr(facts), lang, answer_format)
        copy = self._copy
        if copy.engine is engine:
            with self._lock:
                body = copy.answers.get(key)
                if body is not None:
                    copy.answers.move_to_end(key)
                    return body
        body = encode_answer(engine.lookup(facts, lang), answer_format)
        if copy.engine is engine and len(body) <= self.cache_bytes:
            with self._lock:
                if key not in copy.answers:
                    copy.answers[key] = body
                    copy.size += len(body)
                while copy.size > self.cache_bytes:
                    _, dropped = copy.answers.popitem(last=False)
                    copy.size -= len(dropped)
        return body

    def cached_answers(self) -> int:
        """How many answers the cache holds now."""
        return len(self._copy.answers)
