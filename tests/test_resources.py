from __future__ import annotations

from pathlib import Path

import pytest

import odr_kg
from odr_kg import resources
from odr_kg.resources import DEFAULT_BASE


@pytest.mark.parametrize("kind", resources.DATA_KINDS)
def test_data_dir_does_not_depend_on_the_current_directory(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = resources.data_dir(kind)
    assert folder.is_dir()
    assert folder.name == kind


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown data kind"):
        resources.data_dir("cases")


@pytest.mark.parametrize(
    ("kind", "suffix"), [("ontology", ".ttl"), ("kg", ".ttl"), ("queries", ".rq")]
)
def test_data_files_are_sorted_and_of_their_kind(kind: str, suffix: str) -> None:
    entries = resources.data_files(kind)
    names = [entry.name for entry in entries]
    assert names, f"no {kind} files"
    assert names == sorted(names)
    assert all(name.endswith(suffix) for name in names)


def test_ontology_and_shapes_files_split_the_ontology_folder() -> None:
    ontology = [entry.name for entry in resources.ontology_files()]
    shapes = [entry.name for entry in resources.shapes_files()]
    assert "odr.ttl" in ontology
    assert shapes and all(name.endswith("-shapes.ttl") for name in shapes)
    assert sorted(ontology + shapes) == [entry.name for entry in resources.data_files("ontology")]


def test_rebase_replaces_the_default_base() -> None:
    text = f"<{DEFAULT_BASE}kg/rule-1> <{DEFAULT_BASE}ontology#p> 1 ."
    rebased = resources.rebase(text, "https://example.org/odr/")
    assert rebased == "<https://example.org/odr/kg/rule-1> <https://example.org/odr/ontology#p> 1 ."
    assert resources.rebase(text, DEFAULT_BASE) == text


def test_read_data_text_rebases(tmp_path: Path) -> None:
    source = tmp_path / "a.ttl"
    source.write_text(f'<{DEFAULT_BASE}a> <{DEFAULT_BASE}b> "中文" .', encoding="utf-8")
    text = resources.read_data_text(source, "https://example.org/odr/")
    assert DEFAULT_BASE not in text
    assert "中文" in text


def test_a_checkout_reads_the_repository_folders() -> None:
    # The suite runs against the source checkout (an editable install). Hatch's editable wheel
    # also copies the force-included data into site-packages; those stale copies must not win.
    repository = Path(__file__).resolve().parents[1]
    assert Path(odr_kg.__file__).resolve() == repository / "server" / "odr_kg" / "__init__.py"
    for kind in resources.DATA_KINDS:
        assert resources.data_dir(kind) == repository / kind
