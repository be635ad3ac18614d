"""``odr-kg lookup --batch``: the lookup over a corpus of case graphs, set at a time.

The cases are read from files (one case a ``.ttl``/``.nt``/``.jsonld`` file, one a named graph
of a ``.trig``/``.nq`` file) and their facts taken as ``POST /api/lookup`` takes them
(:meth:`LookupEngine.facts_from_case`). Then, a chunk of cases at a time, the case graphs of the
whole chunk go into one store beside one copy of the knowledge graph and each rule runs once
over all of them: the rules derive case-scoped findings (``?case lookup:finding ?f``), so the
cases do not mix. What the rules derived is split by case and framed into each case's answer by
the same frame as a single lookup's.

With ``workers`` above one, chunks are answered by that many worker processes, forked from this
one with its engine, at most two chunks a worker in flight; the outcomes still come back in the
order of the cases.
"""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from odr_kg.lookup import LookupEngine
from odr_kg.lookup_facts import Facts, LookupInputError
from odr_kg.namespaces import odr_term
from odr_kg.validation import (
    CaseStatements,
    UnreadableCaseError,
    case_format_for,
    read_case_triples,
)

# Cases whose case graphs share the store at once: each rule runs once per chunk, and the memory
# of a run stays bounded whatever the corpus. Some rules cost more a case in larger chunks (the
# engine, which keeps no statistics, may match a pattern against every case of the chunk, as an
# EXISTS test on a case's own findings did): a case costs 10.0 ms of rules in chunks of 200, 9.4
# in chunks of 100 and 9.0 in chunks of 50 (25 was no faster; planning each rule once a chunk
# costs about 0.5 ms a case at 50).
CHUNK_SIZE = 50
DATASET_FORMATS = {".trig": ox.RdfFormat.TRIG, ".nq": ox.RdfFormat.N_QUADS}
# A file of one case graph larger than this is not read (the API takes 1 MiB; a case graph is a
# few kilobytes, and the parser's own limit on one term is 16 MiB).
MAX_CASE_FILE_BYTES = 16 * 1024 * 1024
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
# Chunks handed to the worker processes and not yet written out, a worker: enough that none
# waits for the next, few enough that a large corpus is never read into memory ahead.
CHUNKS_IN_FLIGHT = 2


def default_workers() -> int:
    """The worker processes of a batch by default: one a core this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass
class CaseSource:
    """One case graph as read: where from, and its triples or why it cannot be read."""

    source: str
    triples: list[ox.Triple] | None = None
    error: dict[str, Any] | None = None


@dataclass
class Outcome:
    """One case's line of the output and, with the answer, the statements the rules derived."""

    line: dict[str, Any]
    derived: list[ox.Triple]

    @property
    def failed(self) -> bool:
        return "error" in self.line


def case_sources(paths: Sequence[Path]) -> Iterator[CaseSource]:
    """Every case graph of ``paths`` (files, in the order given), one at a time."""
    for path in paths:
        suffix = path.suffix.lower()
        if suffix in DATASET_FORMATS:
            refusal = _refusal(path, one_case=False)
            if refusal is not None:
                yield CaseSource(str(path), error={"message": refusal})
            else:
                yield from _dataset_cases(path, DATASET_FORMATS[suffix])
            continue
        refusal = _refusal(path, one_case=True)
        if refusal is not None:
            yield CaseSource(str(path), error={"message": refusal})
            continue
        try:
            case_format_for(path.name)
            yield CaseSource(str(path), triples=read_case_triples(path))
        except UnreadableCaseError as error:
            yield CaseSource(str(path), error=_unreadable(error))


def _refusal(path: Path, one_case: bool) -> str | None:
    """Why ``path`` is not read, if it is not: it is no regular file (a pipe or a device would
    never end), or, holding one case, it is larger than any case graph should be."""
    try:
        if not path.is_file():
            return "not a regular file" if path.exists() else "no such file"
        size = path.stat().st_size
    except OSError as error:
        return error.strerror or str(error)
    if one_case and size > MAX_CASE_FILE_BYTES:
        return f"{size} bytes; a file of one case graph is at most {MAX_CASE_FILE_BYTES}"
    return None


def _dataset_cases(path: Path, rdf_format: ox.RdfFormat) -> Iterator[CaseSource]:
    """One case a named graph of a TriG or N-Quads file, read as a stream: a graph's
    statements must come together (as every dump of a store writes them); a graph met again
    after another is refused, and so is a statement outside any named graph."""
    done: set[str] = set()
    current: str | None = None
    triples: list[ox.Triple] = []
    outside = 0
    try:
        with path.open("rb") as data:
            for quad in ox.parse(data, rdf_format, rename_blank_nodes=True):
                if isinstance(quad.graph_name, ox.DefaultGraph):
                    outside += 1
                    continue
                name = quad.graph_name.value
                if name != current:
                    if current is not None:
                        done.add(current)
                        yield CaseSource(f"{path} <{current}>", triples=triples)
                    if name in done:
                        yield CaseSource(
                            f"{path} <{name}>",
                            error={
                                "message": "the graph's statements are not together in the "
                                "file; its earlier statements were answered on their own"
                            },
                        )
                    current, triples = name, []
                triples.append(quad.triple)
    except SyntaxError as error:
        yield CaseSource(str(path), error={"message": error.msg, "line": error.lineno})
        return
    except (OSError, ValueError, MemoryError) as error:
        # MemoryError: the parser's limit on one term (a literal of many megabytes).
        message = getattr(error, "strerror", None) or str(error)
        yield CaseSource(str(path), error={"message": message})
        return
    if current is not None:
        yield CaseSource(f"{path} <{current}>", triples=triples)
    if outside:
        yield CaseSource(
            str(path),
            error={
                "message": f"{outside} statement(s) outside any named graph: one case a named graph"
            },
        )


def _unreadable(error: UnreadableCaseError) -> dict[str, Any]:
    body: dict[str, Any] = {"message": error.message}
    if error.line is not None:
        body["line"] = error.line
    return body


Entry = tuple[CaseSource, str | None, Facts | None, dict | None]

# The batch a forked worker process answers with: set in the parent just before the workers
# are forked, so that each starts with the parent's engine as it is.
_worker_batch: BatchLookup | None = None


def _answer_in_worker(chunk: list[Entry]) -> list[tuple[dict[str, Any], bytes]]:
    """Each case's line and, when the batch keeps them, its derived statements in N-Triples:
    pickling them one object at a time cost more than the rules (7 s for 1,000 cases)."""
    batch = _worker_batch
    assert batch is not None
    return [
        (outcome.line, _encoded(outcome.derived) if batch.keep_derived else b"")
        for outcome in batch._answer(chunk)
    ]


def _encoded(triples: list[ox.Triple]) -> bytes:
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""


def _decoded(data: bytes) -> list[ox.Triple]:
    """One case's derived statements, each blank node named afresh (one name within the case,
    so a cap stays the node its finding names): the workers, forked from one process, draw the
    same blank node names, and two cases' caps would be taken for one."""
    if not data:
        return []
    return [quad.triple for quad in ox.parse(data, ox.RdfFormat.N_TRIPLES, rename_blank_nodes=True)]


class BatchLookup:
    """Answers many cases with the rules of ``engine``, ``chunk_size`` cases a store, in
    ``workers`` processes (1: in this one). Each outcome carries the statements derived for its
    case unless ``keep_derived`` is false (then, from a worker, none)."""

    def __init__(
        self,
        engine: LookupEngine,
        as_of: dt.date | None = None,
        lang: str = "en",
        chunk_size: int = CHUNK_SIZE,
        workers: int = 1,
        keep_derived: bool = True,
    ) -> None:
        self.engine = engine
        self.as_of = as_of or dt.date.today()
        self.lang = lang
        self.chunk_size = chunk_size
        self.workers = workers
        self.keep_derived = keep_derived
        self._finding = engine.frame.iri("lookup:finding")
        self._case_class = odr_term("Case", engine.base)

    def run(self, sources: Iterable[CaseSource]) -> Iterator[Outcome]:
        """One outcome a case, in the order of ``sources``."""
        chunks = self._chunks(sources)
        if self.workers <= 1:
            for chunk in chunks:
                yield from self._answer(chunk)
            return
        first = next(chunks, None)
        second = next(chunks, None)
        if second is None:  # one chunk: no process is worth starting
            yield from self._answer(first or [])
            return
        yield from self._answer_in_workers([first, second], chunks)

    def _answer_in_workers(
        self, first: list[list[Entry]], chunks: Iterator[list[Entry]]
    ) -> Iterator[Outcome]:
        """The outcomes of ``first`` then ``chunks``, each chunk answered by a worker process,
        in order."""
        global _worker_batch
        _worker_batch = self
        # Forked, not spawned: a worker starts with this engine, the knowledge graph's copy and
        # what it worked out once, instead of building its own (and pickling nothing of it).
        context = multiprocessing.get_context("fork")
        pending: deque[Future[list[tuple[dict[str, Any], bytes]]]] = deque()
        try:
            with ProcessPoolExecutor(self.workers, mp_context=context) as pool:
                for chunk in itertools.chain(first, chunks):
                    pending.append(pool.submit(_answer_in_worker, _portable(chunk)))
                    if len(pending) >= self.workers * CHUNKS_IN_FLIGHT:
                        for line, derived in pending.popleft().result():
                            yield Outcome(line, _decoded(derived))
                while pending:
                    for line, derived in pending.popleft().result():
                        yield Outcome(line, _decoded(derived))
        finally:
            _worker_batch = None

    def _chunks(self, sources: Iterable[CaseSource]) -> Iterator[list[Entry]]:
        """The cases of ``sources`` read, in chunks of at most ``chunk_size``."""
        chunk: list[Entry] = []
        iris: set[str] = set()
        for source in sources:
            entry = self._read(source)
            iri = entry[1]
            # A case IRI given twice in one chunk would share its findings: a chunk of its own.
            if len(chunk) >= self.chunk_size or (iri is not None and iri in iris):
                yield chunk
                chunk, iris = [], set()
            chunk.append(entry)
            if iri is not None:
                iris.add(iri)
        if chunk:
            yield chunk

    def _read(self, source: CaseSource) -> Entry:
        if source.triples is None:
            return source, None, None, source.error
        cases = {
            t.subject
            for t in source.triples
            if t.predicate.value == RDF_TYPE and t.object.value == self._case_class
        }
        iri = next((c.value for c in cases if isinstance(c, ox.NamedNode)), None)
        try:
            facts = self.engine.facts_from_case(CaseStatements(source.triples), as_of=self.as_of)
        except LookupInputError as error:
            return source, iri, None, error.to_json()
        return source, iri, facts, None

    def _answer(self, chunk: list[Entry]) -> Iterator[Outcome]:
        if not chunk:
            return
        engine = self.engine
        nodes: list[ox.NamedNode | None] = []
        case_triples: list[ox.Triple] = []
        for number, (_source, iri, facts, _error) in enumerate(chunk):
            if facts is None:
                nodes.append(None)
                continue
            # A case without an IRI is reasoned about under one made for this run.
            node = ox.NamedNode(iri or f"urn:odr-kg:lookup:batch-case:{number}")
            nodes.append(node)
            case_triples += engine.case_triples(facts, node)
        derived = self._run_rules(case_triples)
        by_case = self._split(derived, {node for node in nodes if node is not None})
        for (source, iri, facts, error), node in zip(chunk, nodes, strict=True):
            if facts is None or node is None:
                line: dict[str, Any] = {"case": iri, "source": source.source, "error": error}
                yield Outcome(line, [])
                continue
            mine = by_case.get(node, [])
            answer = engine.answer(mine, node.value, self.lang)
            line = {"case": iri, "answer": answer}
            if iri is None:
                line["source"] = source.source
            as_of = ox.Literal(
                facts.as_of.isoformat(),
                datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date"),
            )
            stated = [ox.Triple(node, ox.NamedNode(engine.frame.iri("lookup:asOf")), as_of)]
            yield Outcome(line, stated + mine if iri is not None else [])

    def _run_rules(self, case_triples: list[ox.Triple]) -> list[ox.Triple]:
        """Every rule once over the chunk's case graphs and a copy of the knowledge graph made
        for the chunk (copied as each thread's copy is, in the same order: see
        LookupEngine._run_rules) and dropped after it: cheaper than taking each derived
        statement out again. Quads are made without naming the default graph, which is theirs
        anyway: the argument alone doubles what making one costs."""
        store = ox.Store()
        store.extend(self.engine.knowledge)
        store.extend([ox.Quad(*t) for t in case_triples])
        derived: list[ox.Triple] = []
        for _name, rule in self.engine.rules:
            result = list(store.query(rule))
            store.extend([ox.Quad(*t) for t in result])
            derived += result
        return derived

    def _split(
        self, derived: list[ox.Triple], cases: set[ox.NamedNode]
    ) -> dict[ox.NamedNode, list[ox.Triple]]:
        """The derived statements of each case, in the order derived: of the case, of its
        findings, and of the nodes its findings name (a cap)."""
        owner: dict[Any, ox.NamedNode] = {case: case for case in cases}
        for triple in derived:
            if triple.predicate.value == self._finding and triple.subject in cases:
                owner[triple.object] = triple.subject
        for triple in derived:
            if isinstance(triple.object, ox.BlankNode) and triple.subject in owner:
                owner.setdefault(triple.object, owner[triple.subject])
        by_case: dict[ox.NamedNode, list[ox.Triple]] = {}
        for triple in derived:
            case = owner.get(triple.subject)
            if case is not None:
                by_case.setdefault(case, []).append(triple)
        return by_case


def _portable(chunk: list[Entry]) -> list[Entry]:
    """``chunk`` as sent to a worker: each source without its statements, which the facts
    already hold what the answer needs of."""
    return [
        (CaseSource(source.source, error=source.error), iri, facts, error)
        for source, iri, facts, error in chunk
    ]
