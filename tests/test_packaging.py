from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
DATA_PATTERNS = {"ontology": "*.ttl", "kg": "*.ttl", "queries": "*.rq"}

# Run from / against the installed copy only: where the package and its data were found.
FIND_DATA = """
import json
import odr_kg
from odr_kg import resources
from odr_kg.stores import open_store

store = open_store()
print(json.dumps({
    "package": odr_kg.__file__,
    "ontology": str(resources.data_dir("ontology")),
    "odr_ttl": resources.data_dir("ontology").joinpath("odr.ttl").is_file(),
    "queries": [entry.name for entry in resources.data_files("queries")],
    "graphs": store.graph_sizes(),
}))
"""


def run(command: list[str], **options) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False, **options
    )
    assert completed.returncode == 0, f"{command} failed:\n{completed.stdout}\n{completed.stderr}"
    return completed


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheel_dir = tmp_path_factory.mktemp("wheel")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(wheel_dir),
            str(REPOSITORY),
        ],
    )
    (built,) = wheel_dir.glob("odr_kg-*.whl")
    return built


@pytest.mark.subprocess
def test_the_wheel_carries_the_data_and_the_templates(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "odr_kg/data/ontology/odr.ttl" in names
    assert any(name.startswith("odr_kg/data/kg/") for name in names)
    assert any(name.startswith("odr_kg/data/queries/") for name in names)
    for kind, pattern in DATA_PATTERNS.items():
        expected = {f"odr_kg/data/{kind}/{path.name}" for path in (REPOSITORY / kind).glob(pattern)}
        assert expected <= names, f"{kind} files missing from the wheel: {expected - names}"
    assert "odr_kg/web/templates/index.html" in names
    assert "odr_kg/cli.py" in names


@pytest.mark.subprocess
def test_the_installed_wheel_finds_its_own_data(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)])
    environment = {**os.environ, "PYTHONPATH": str(target)}
    environment.pop("ODR_KG_BASE", None)
    completed = run([sys.executable, "-c", FIND_DATA], cwd="/", env=environment)
    found = json.loads(completed.stdout)
    assert Path(found["package"]).is_relative_to(target)
    assert Path(found["ontology"]) == target / "odr_kg" / "data" / "ontology"
    assert found["odr_ttl"]
    assert found["queries"] == sorted(path.name for path in (REPOSITORY / "queries").glob("*.rq"))
    # ontology, shapes, kg and the inferred graph
    assert len(found["graphs"]) == 4 and all(found["graphs"].values())
