"""Where the data files (ontology, knowledge graph, queries) are, and reading them.

An installed wheel carries the data as ``odr_kg/data/<kind>``; a source checkout or an editable
install reads the repository's top-level folders. The current directory never matters.

Every Turtle and ``.rq`` file is written with :data:`DEFAULT_BASE`. A deployment may publish the
graph under another base IRI: :func:`rebase` rewrites the text before it is parsed.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

DEFAULT_BASE = "https://w3id.org/odr-kg/"

DATA_KINDS = ("ontology", "kg", "queries")
_SUFFIX_OF_KIND = {"ontology": ".ttl", "kg": ".ttl", "queries": ".rq"}
_SHAPES_SUFFIX = "-shapes.ttl"


class DataNotFoundError(FileNotFoundError):
    """Neither the installed package nor the source checkout has the data folder asked for."""


def data_dir(kind: str) -> Traversable:
    """The folder holding the data files of ``kind`` (one of :data:`DATA_KINDS`)."""
    if kind not in DATA_KINDS:
        raise ValueError(f"unknown data kind {kind!r}; expected one of {', '.join(DATA_KINDS)}")
    packaged = files("odr_kg") / "data" / kind
    if packaged.is_dir():
        return packaged
    # server/odr_kg/resources.py -> the repository root is two folders above the package.
    checkout = Path(__file__).resolve().parents[2] / kind
    if checkout.is_dir():
        return checkout
    raise DataNotFoundError(f"no {kind!r} data folder in the installed package or at {checkout}")


def data_files(kind: str) -> list[Traversable]:
    """The data files of ``kind``, sorted by name: ``*.ttl`` for ontology and kg, ``*.rq``."""
    suffix = _SUFFIX_OF_KIND.get(kind, "")
    folder = data_dir(kind)
    return sorted(
        (entry for entry in folder.iterdir() if entry.is_file() and entry.name.endswith(suffix)),
        key=lambda entry: entry.name,
    )


def ontology_files() -> list[Traversable]:
    """The OWL ontology files: every ``ontology/*.ttl`` that is not a SHACL shapes file."""
    return [entry for entry in data_files("ontology") if not entry.name.endswith(_SHAPES_SUFFIX)]


def shapes_files() -> list[Traversable]:
    """The SHACL shapes files, ``ontology/*-shapes.ttl``."""
    return [entry for entry in data_files("ontology") if entry.name.endswith(_SHAPES_SUFFIX)]


def rebase(text: str, base: str) -> str:
    """``text`` with every occurrence of :data:`DEFAULT_BASE` replaced by ``base``."""
    if base == DEFAULT_BASE:
        return text
    return text.replace(DEFAULT_BASE, base)


def read_data_text(entry: Traversable | Path, base: str = DEFAULT_BASE) -> str:
    """The UTF-8 text of a data file, rebased onto ``base``."""
    return rebase(entry.read_text(encoding="utf-8"), base)
