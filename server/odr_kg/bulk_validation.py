"""Validating a corpus of case graphs: batches of cases over one copy of the context, the results
split by case.

Two engines give the same reports (tests/test_cases_bulk.py keeps them equal):

- ``pyshacl``, the reference: each batch as an rdflib graph, the context copied into it;
- ``turbo`` (pyshacl-turbo, pySHACL's API in Rust): the shapes compiled once per process, each
  batch handed over as one N-Triples text, parsed in Rust; no rdflib graph is built for the
  data. Batches run in ``jobs`` processes side by side.

A result belongs to the case whose triples have its focus node as subject. Cases that share a
subject (two versions of one case, say) go to different batches, so that no case is checked
with another's triples: the reports are those of validating each case alone.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import pyoxigraph as ox
import rdflib

from odr_kg.validation import (
    ShapesValidator,
    ValidationReport,
    ValidationResult,
    case_graph,
    results_of,
)

ENGINES = ("pyshacl", "turbo")
# Cases a batch holds at most: beyond a few hundred, pyshacl-turbo slows down per case.
BATCH_CASES = 500

CaseTriples = Sequence[ox.Triple]


@dataclass(frozen=True)
class _Batch:
    """Cases validated together: their triples as N-Triples, and the case owning each subject."""

    text: str
    owners: dict[str, str]


def validate_many(
    validator: ShapesValidator,
    cases: Sequence[tuple[str, CaseTriples]],
    engine: str = "turbo",
    jobs: int = 1,
) -> list[ValidationReport]:
    """The report of each case of ``cases`` (``(source, triples)``), in order."""
    if engine not in ENGINES:
        raise ValueError(f"unknown validation engine {engine!r}; use one of {', '.join(ENGINES)}")
    batches = [_batch(batch) for batch in _batches(cases)]
    if engine == "pyshacl":
        outcomes: Iterable[list[tuple[str, ValidationResult]]] = (
            _pyshacl(validator, batch) for batch in batches
        )
    elif jobs > 1 and len(batches) > 1:
        context = multiprocessing.get_context("spawn")
        shapes = validator.shapes.serialize(format="nt")
        context_text = _text(validator.context)
        with ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_start_turbo, initargs=(shapes, context_text)
        ) as executor:
            outcomes = list(executor.map(_turbo, batches))
    else:
        _start_turbo(validator.shapes, _text(validator.context))
        outcomes = (_turbo(batch) for batch in batches)
    by_case: dict[str, list[ValidationResult]] = {source: [] for source, _ in cases}
    for outcome in outcomes:
        for owner, result in outcome:
            by_case.setdefault(owner, []).append(result)
    return [
        ValidationReport(source=source, conforms=not results, results=results)
        for source, results in by_case.items()
    ]


def _batches(cases: Sequence[tuple[str, CaseTriples]]) -> list[list[tuple[str, CaseTriples]]]:
    open_batches: list[tuple[list[tuple[str, CaseTriples]], set[str]]] = []
    full: list[list[tuple[str, CaseTriples]]] = []
    for source, triples in cases:
        subjects = {triple.subject.value for triple in triples}
        for index, (batch, taken) in enumerate(open_batches):
            if taken.isdisjoint(subjects):
                batch.append((source, triples))
                taken |= subjects
                if len(batch) >= BATCH_CASES:
                    full.append(open_batches.pop(index)[0])
                break
        else:
            open_batches.append(([(source, triples)], subjects))
    return full + [batch for batch, _ in open_batches]


def _batch(cases: list[tuple[str, CaseTriples]]) -> _Batch:
    owners = {triple.subject.value: source for source, triples in cases for triple in triples}
    triples = [triple for _, case in cases for triple in case]
    return _Batch(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode(), owners)


def _text(graph: rdflib.Graph) -> str:
    return graph.serialize(format="nt")


def _owned(batch: _Batch, results: list[ValidationResult]) -> list[tuple[str, ValidationResult]]:
    return [(batch.owners.get(r.focus_node, "knowledge graph"), r) for r in results]


def _pyshacl(validator: ShapesValidator, batch: _Batch) -> list[tuple[str, ValidationResult]]:
    import pyshacl

    data = rdflib.Graph()
    data += validator.context
    data += case_graph(ox.parse(batch.text.encode(), ox.RdfFormat.N_TRIPLES))
    _, report, _ = pyshacl.validate(
        data, shacl_graph=validator.shapes, inference="none", inplace=True, allow_warnings=True
    )
    return _owned(batch, results_of(report, validator.shapes))


# pyshacl-turbo, once per process: the compiled shapes and the context as N-Triples text.
_turbo_state: dict[str, object] = {}


def _start_turbo(shapes: rdflib.Graph | str, context: str) -> None:
    import pyshacl_turbo

    if isinstance(shapes, str):
        shapes = rdflib.Graph().parse(data=shapes, format="nt")
    _turbo_state.update(
        shapes=shapes, compiled=pyshacl_turbo.compile_shapes(shapes), context=context
    )


def _turbo(batch: _Batch) -> list[tuple[str, ValidationResult]]:
    from pyshacl_turbo.rdf import Input

    shapes = _turbo_state["shapes"]
    data = Input(f"{_turbo_state['context']}\n{batch.text}", "nt", None, {})
    _, report, _ = _turbo_state["compiled"].validate(data, allow_warnings=True)  # type: ignore[attr-defined]
    return _owned(batch, results_of(report, shapes))  # type: ignore[arg-type]
