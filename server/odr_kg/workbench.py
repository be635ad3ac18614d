"""What the query workbench shows people: a result as a table (and a bar chart where it has one
label and one number column), a syntax error at its position in plain words, the PREFIX lines
of the default query, the terms its editor completes, the example questions of ``queries/``.
No Flask here: :mod:`odr_kg.web.workbench` renders these; the SPARQL Protocol itself is
:mod:`odr_kg.sparql_protocol`."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox

from odr_kg import formats, resources
from odr_kg.linked_data import labels_of, page_vocabulary
from odr_kg.rdf import QueryResult, compact_iri, triples_of
from odr_kg.sparql_protocol import result_kind
from odr_kg.store import KnowledgeStore

XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = f"{XSD}string"
NUMERIC_TYPES = frozenset(
    f"{XSD}{name}"
    for name in (
        "integer decimal double float long int short byte nonNegativeInteger positiveInteger "
        "nonPositiveInteger negativeInteger unsignedLong unsignedInt unsignedShort unsignedByte"
    ).split()
)
# The workbench's download links per kind of result: `format` name, label and file extension.
DOWNLOAD_FORMATS: dict[str, dict[str, tuple[str, str]]] = {
    kind: {fmt.name: (fmt.label, fmt.extension) for fmt in kind_formats}
    for kind, kind_formats in formats.FORMATS_OF_KIND.items()
}
# The summary line of an example question's header.
_SUMMARY = re.compile(r"^#\+ summary: (.+)$", re.MULTILINE)
# A bar chart shows at most this many bars.
CHART_BARS = 50


@dataclass(frozen=True)
class Cell:
    """An RDF term of a result as people read it: ``text`` (an IRI compacted with the store's
    prefixes), ``iri`` for an IRI, ``note`` a literal's language or datatype, ``number`` the
    value of a numeric literal."""

    text: str
    iri: str | None = None
    note: str = ""
    number: float | None = None


@dataclass(frozen=True)
class ResultTable:
    """A query result for an HTML table: the first rows of it (``None``: unbound), how many
    there are in all, or the answer of an ASK."""

    kind: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[Cell | None]] = field(default_factory=list)
    total: int = 0
    boolean: bool | None = None


@dataclass(frozen=True)
class BarChart:
    """Bars of a result with one label and one number column: ``(label, value as written,
    percent of the largest)``; ``label_column`` and ``value_column`` name the columns."""

    label_column: str
    value_column: str
    bars: list[tuple[str, str, float]]
    total: int


def result_table(result: QueryResult, prefixes: Mapping[str, str], limit: int) -> ResultTable:
    """``result`` as a table of at most ``limit`` rows: the variables of a SELECT, subject,
    predicate and object of a CONSTRUCT or DESCRIBE. Consumes ``result``."""
    kind = result_kind(result)
    if isinstance(result, ox.QueryBoolean):
        return ResultTable(kind, boolean=bool(result))
    if isinstance(result, ox.QueryTriples):
        columns = ["subject", "predicate", "object"]
        rows: Iterable[Sequence[ox.Term | None]] = (
            (triple.subject, triple.predicate, triple.object) for triple in triples_of(result)
        )
    else:
        columns = [variable.value for variable in result.variables]
        rows = ([solution[name] for name in columns] for solution in result)
    shown: list[list[Cell | None]] = []
    total = 0
    for total, row in enumerate(rows, start=1):
        if total <= limit:
            shown.append([None if term is None else _cell(term, prefixes) for term in row])
    return ResultTable(kind, columns, shown, total)


def _cell(term: ox.Term, prefixes: Mapping[str, str]) -> Cell:
    if isinstance(term, ox.NamedNode):
        compacted = compact_iri(term.value, prefixes)
        return Cell(term.value if compacted.startswith("<") else compacted, iri=term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Cell(term.value, note=f"@{term.language}")
        datatype = term.datatype.value
        number = None
        if datatype in NUMERIC_TYPES:
            try:
                number = float(term.value)
            except ValueError:
                number = None
        return Cell(
            term.value,
            note="" if datatype == XSD_STRING else compact_iri(datatype, prefixes),
            number=number,
        )
    return Cell(str(term))


def bar_chart(table: ResultTable) -> BarChart | None:
    """The bar chart of a result of exactly two columns, one of labels and one of numbers
    (every shown row has both), else ``None``."""
    if table.kind != "solutions" or len(table.columns) != 2 or not table.rows:
        return None
    for value_at in (1, 0):
        label_at = 1 - value_at
        cells = [(row[label_at], row[value_at]) for row in table.rows]
        if all(
            label is not None
            and label.number is None
            and value is not None
            and value.number is not None
            for label, value in cells
        ):
            values = [value.number for _, value in cells if value and value.number is not None]
            largest = max((abs(v) for v in values), default=0) or 1
            bars = [
                (label.text, value.text, 100 * abs(value.number) / largest)
                for label, value in cells[:CHART_BARS]
                if label is not None and value is not None and value.number is not None
            ]
            return BarChart(table.columns[label_at], table.columns[value_at], bars, len(cells))
    return None


@dataclass(frozen=True)
class SyntaxProblem:
    """Where a query stopped parsing and why, for people: ``line`` and ``column`` (from 1, as
    the parser counts), the ``text`` of that line, ``near`` the last word before the
    position, ``explanation`` in words, ``expected`` the tokens the parser could have read
    there (those people can type)."""

    line: int
    column: int
    text: str
    near: str
    explanation: str
    expected: list[str]

    @property
    def near_column(self) -> int:
        """The column where ``near`` begins (``column`` when there is none)."""
        end = self.text.rstrip()[: max(self.column - 1, 0)].rstrip()
        return len(end) - len(self.near) + 1 if self.near else self.column


_POSITION = re.compile(r"error at (\d+):(\d+): ?(.*)", re.DOTALL)
# What the parser's own words mean, by a phrase of its message; {near} is the word before.
_EXPLANATIONS = {
    "Prefix not found": "the prefix of “{near}” is not declared: add a PREFIX line for it",
    "IRI parsing failed": "“{near}” is not a valid absolute IRI (or a BASE is missing)",
    "variable that is unbound": (
        "a variable in SELECT is neither grouped nor aggregated: add it to GROUP BY or wrap "
        "it in an aggregate such as SAMPLE or COUNT"
    ),
}


def syntax_problem(query: str, message: str) -> SyntaxProblem | None:
    """``message``, a parser error naming its position ("error at 1:25: expected ..."), read
    for people; ``None`` when it names no position."""
    match = _POSITION.search(message)
    if match is None:
        return None
    line, column, detail = int(match[1]), int(match[2]), match[3]
    lines = query.replace("\r\n", "\n").split("\n")
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    before = re.search(r"(\S+)\s*$", text[: max(column - 1, 0)])
    near = before[1] if before else ""
    expected = _plain_tokens(detail)
    template = next((words for phrase, words in _EXPLANATIONS.items() if phrase in detail), "")
    if template:
        explanation = template.format(near=near)
    else:
        explanation = "the query cannot be read here" + (f", after “{near}”" if near else "")
        if expected:
            explanation += f"; the parser expected {', '.join(expected)}"
    return SyntaxProblem(line, column, text, near, explanation, expected)


def _plain_tokens(detail: str) -> list[str]:
    """The tokens a parser message lists that people can type: quoted punctuation and keywords,
    not its character classes."""
    listed = detail.removeprefix("expected ").removeprefix("one of ")
    without_classes = re.sub(r"\[[^\]]*\]", "", listed)
    tokens = []
    for piece in without_classes.split(","):
        token = piece.strip().strip('"')
        if token and re.fullmatch(r"[A-Z_]+|[^\sA-Za-z0-9]{1,3}", token):
            tokens.append(token)
    return tokens


def prefix_declarations(prefixes: Mapping[str, str], base: str) -> str:
    """``PREFIX`` lines for ``prefixes``: the vocabularies first, then the namespaces of the
    resources minted under ``base`` (``id/``, ``eli/``), each group by name."""

    def order(item: tuple[str, str]) -> tuple[bool, str]:
        return item[1].startswith((f"{base}id/", f"{base}eli/")), item[0]

    return "".join(
        f"PREFIX {prefix}: <{namespace}>\n"
        for prefix, namespace in sorted(prefixes.items(), key=order)
    )


def completion_vocabulary(store: KnowledgeStore) -> dict[str, object]:
    """What the editor completes: the store's ``prefixes`` and every labelled ``term`` that
    compacts to a prefixed name (``name``, English ``label``, ``kind``: class, property or
    constant)."""
    kinds = store.query(
        """PREFIX owl: <http://www.w3.org/2002/07/owl#>
        PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT DISTINCT ?term ?type WHERE {
          VALUES ?type { owl:Class rdfs:Class owl:ObjectProperty owl:DatatypeProperty
                         rdf:Property }
          ?term a ?type .
        }"""
    )
    kind_of = {
        row["term"].value: "class" if row["type"].value.endswith("Class") else "property"
        for row in kinds
    }
    named = {
        row["term"].value
        for row in store.query(
            """SELECT DISTINCT ?term WHERE {
              ?term <http://www.w3.org/2000/01/rdf-schema#label>
                    |<http://www.w3.org/2004/02/skos/core#prefLabel> ?label
              FILTER (isIRI(?term))
            }"""
        )
    }
    named |= set(page_vocabulary(store.base).labels)
    labels = labels_of(store, named)
    terms = []
    for iri in sorted(named):
        name = compact_iri(iri, store.prefixes)
        if name.startswith("<"):
            continue
        label = labels.get(iri, {})
        terms.append(
            {
                "name": name,
                "label": label.get("en") or next(iter(label.values()), ""),
                "kind": kind_of.get(iri, "constant"),
            }
        )
    return {"prefixes": dict(sorted(store.prefixes.items())), "terms": terms}


@functools.cache
def example_queries(base: str = resources.DEFAULT_BASE) -> tuple[dict[str, str], ...]:
    """The example questions of ``queries/``: ``name``, ``summary`` and ``text`` (rebased).
    Read once per base: the packaged files do not change while the service runs."""
    examples = []
    for entry in resources.data_files("queries"):
        text = resources.read_data_text(entry, base)
        summary = _SUMMARY.search(text)
        examples.append(
            {"name": entry.name, "summary": summary.group(1) if summary else "", "text": text}
        )
    return tuple(examples)
