"""How rule documents are built from parts and articles (``eli:is_part_of``): a document's table
of contents, an article's trail up to its document, its previous and next article. Articles
are ordered by their number as the sources cite it ("2.4" before "10.5" before "24")."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyoxigraph as ox

from odr_kg.linked_data import labels_of
from odr_kg.store import KnowledgeStore

ELI = "http://data.europa.eu/eli/ontology#"


@dataclass(frozen=True)
class Entry:
    """A part or article: its IRI, its number (``""`` if none), its labels by language and
    its depth below the document (1: directly in it)."""

    iri: str
    number: str
    labels: dict[str, str]
    depth: int = 1

    def label(self, lang: str = "en") -> str:
        return self.labels.get(lang) or self.labels.get("en") or self.number or self.iri


@dataclass(frozen=True)
class Structure:
    """Where a resource sits among parts and articles."""

    contents: list[Entry]
    trail: list[Entry]
    previous: Entry | None = None
    next: Entry | None = None


def number_key(number: str) -> tuple[tuple[int, int | str], ...]:
    """``"10.5"`` as ``((0, 10), (0, 5))``: numbers compare as numbers, letters after them."""
    return tuple(
        (0, int(piece)) if piece.isdigit() else (1, piece)
        for piece in re.split(r"[.\-_ ]", number)
        if piece
    )


def structure(store: KnowledgeStore, iri: str) -> Structure:
    """The contents below ``iri``, the trail above it and its neighbours under its parent."""
    node = ox.NamedNode(iri)
    rows = list(
        store.query(
            f"""PREFIX eli: <{ELI}>
            SELECT DISTINCT ?part ?parent ?number WHERE {{
              {{ ?part eli:is_part_of+ {node} }} UNION {{ {node} eli:is_part_of* ?part }}
              UNION {{ {node} eli:is_part_of ?parent . ?part eli:is_part_of ?parent }}
              ?part eli:is_part_of ?parent .
              OPTIONAL {{ ?part eli:number ?number }}
            }}"""
        )
    )
    parent_of: dict[str, str] = {}
    number_of: dict[str, str] = {}
    for row in rows:
        part = row["part"].value
        parent_of.setdefault(part, row["parent"].value)
        number_of[part] = row["number"].value if row["number"] is not None else ""
    labels = labels_of(store, [*parent_of, *parent_of.values()])

    def entry(part: str, depth: int = 1) -> Entry:
        return Entry(part, number_of.get(part, ""), labels.get(part, {}), depth)

    def children(parent: str) -> list[str]:
        found = [part for part, up in parent_of.items() if up == parent]
        return sorted(found, key=lambda part: (number_key(number_of.get(part, "")), part))

    contents: list[Entry] = []

    def walk(parent: str, depth: int) -> None:
        for child in children(parent):
            contents.append(entry(child, depth))
            walk(child, depth + 1)

    walk(iri, 1)
    trail: list[Entry] = []
    up = parent_of.get(iri)
    while up is not None and all(step.iri != up for step in trail):
        trail.insert(0, entry(up))
        up = parent_of.get(up)
    previous = following = None
    if iri in parent_of:
        siblings = children(parent_of[iri])
        place = siblings.index(iri)
        previous = entry(siblings[place - 1]) if place > 0 else None
        following = entry(siblings[place + 1]) if place + 1 < len(siblings) else None
    return Structure(contents, trail, previous, following)
