"""Every fact of sections 1-4 of the domain reference list (FACTS.md) is in the knowledge graph.

Each ``tests/facts/NN-name.rq`` is a SPARQL ASK that checks one fact together with its source
(``dcterms:source`` to a source whose ``schema:url`` is the address the reference list gives)
and, where the list grades it, its ``odr:confidence``. Each file begins with three header lines:

    #+ fact: <the fact, one line>
    #+ section: <1, 2, 3 or 4>
    #+ source: <the address>
"""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from odr_kg.store import KnowledgeStore

FACTS_DIR = Path(__file__).parent / "facts"
FACT_FILES = sorted(FACTS_DIR.glob("*.rq"))

# The facts counted in FACTS.md sections 1-4, one per distinct fact (a row stating several
# facts counts once per fact):
#   section 1 (seed article): 11 -- rows 1, 2, 5, 7, 8 one each; row 3 two (either party may
#       apply; Alibaba mediates and decides under the TDR); row 4 two (sole discretion; family 1);
#       row 6 two (advance refund; capped at the guarantee amount)
#   section 2 (rules and help pages): 40 -- TDR 17-18 three; TDR 22, CCA 6.1, dispute after
#       payment one each; 30-day protection two; CONFLICT row four (3 days, day 4, day 7 older,
#       day 8 newer); escalation row two; quality one; refund row two; advance refund one;
#       guarantee amount two; covered amount one; offline orders seven; older rules one;
#       TSA three; Terms of Use seven; Chinese courts one
#   section 3 (forums and treaties): 15 -- HKIAC three; award arrangements three; interim
#       measures two; New York Convention two; CISG three; CIETAC two
#   section 4 (identifiers): 4 -- three Wikidata ids, and no id for the unverified entities
EXPECTED_FACT_COUNT = 70

HEADER = re.compile(
    r"\A#\+ fact: (?P<fact>\S.*)\n"
    r"#\+ section: (?P<section>[1-4])\n"
    r"#\+ source: (?P<source>https?://\S+)\n"
)
FILE_NAME = re.compile(r"\A(?P<number>\d{2})-s(?P<section>[1-4])-[a-z0-9]+(?:-[a-z0-9]+)*\.rq\Z")


def header_of(path: Path) -> re.Match[str]:
    match = HEADER.match(path.read_text(encoding="utf-8"))
    assert match, f"{path.name} does not begin with the #+ fact/section/source header"
    return match


@pytest.mark.parametrize("path", FACT_FILES, ids=[path.stem for path in FACT_FILES])
def test_fact_holds_in_the_graph(store: KnowledgeStore, path: Path) -> None:
    result = store.query(path.read_text(encoding="utf-8"))
    assert isinstance(result, ox.QueryBoolean), f"{path.name} is not an ASK query"
    assert bool(result), f"{path.name}: {header_of(path)['fact']}"


@pytest.mark.parametrize("path", FACT_FILES, ids=[path.stem for path in FACT_FILES])
def test_fact_fails_with_a_wrong_source_address(store: KnowledgeStore, path: Path) -> None:
    # The ASK really checks the source: with the address altered it no longer holds.
    text = path.read_text(encoding="utf-8")
    header = header_of(path)
    body = text[header.end() :]
    source = header["source"]
    assert source in body, f"{path.name} does not check its #+ source address"
    altered = body.replace(source, f"{source}-wrong")
    assert not bool(store.query(altered)), f"{path.name} holds even with a wrong source address"


def test_there_is_an_ask_file_for_every_fact() -> None:
    assert len(FACT_FILES) >= EXPECTED_FACT_COUNT


def test_each_file_has_the_header_and_follows_the_facts_order() -> None:
    numbers = []
    sections = []
    for path in FACT_FILES:
        header = header_of(path)
        name = FILE_NAME.match(path.name)
        assert name, f"{path.name} is not named NN-sS-short-name.rq"
        assert name["section"] == header["section"], f"{path.name}: section differs from header"
        numbers.append(int(name["number"]))
        sections.append(int(header["section"]))
    assert numbers == list(range(1, len(FACT_FILES) + 1)), "files are not numbered 01, 02, ..."
    assert sections == sorted(sections), "files are not in the order of FACTS.md sections"
