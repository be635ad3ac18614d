"""A federated join: another dataset, in a real Oxigraph server, joined with ours over SPARQL.

The other dataset (a study's coded cases) references our IRIs; its own SPARQL server evaluates
a SERVICE clause against our /sparql endpoint. The client is SPARQLWrapper, as a researcher's
script would be.
"""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from SPARQLWrapper import JSON, SPARQLWrapper

from conftest import free_port, stop_process

OXIGRAPH = shutil.which("oxigraph", path=sysconfig.get_path("scripts")) or shutil.which("oxigraph")
OTHER_DATASET = """\
@prefix study: <https://example.org/study/> .
@prefix tdr: <https://w3id.org/odr-kg/eli/alibaba/transaction-dispute-rules/> .
@prefix tsa: <https://w3id.org/odr-kg/eli/alibaba/transaction-services-agreement/> .
study:case-17 study:cites tsa:art_10.5 ;
    study:heardBy <https://w3id.org/odr-kg/id/forum/hkiac> .
study:case-18 study:cites tdr:art_31 , tdr:art_40 .
"""


@pytest.fixture(scope="module")
def other_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if OXIGRAPH is None:
        pytest.fail("the oxigraph server (PyPI package 'oxigraph', in the test extra) is missing")
    folder = tmp_path_factory.mktemp("other-dataset")
    data = folder / "study.ttl"
    data.write_text(OTHER_DATASET, encoding="utf-8")
    location = folder / "store"
    subprocess.run(
        [OXIGRAPH, "load", "--location", str(location), "--file", str(data)],
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [OXIGRAPH, "serve-read-only", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, server)
        yield f"{url}/query"
    finally:
        stop_process(server)


def wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers, if only to say the page is not there
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    pytest.fail(f"the oxigraph server at {url} did not start")


def test_other_dataset_joins_our_articles_through_service(
    start_server: Callable[..., str], other_endpoint: str
) -> None:
    ours = start_server()
    client = SPARQLWrapper(other_endpoint)
    client.setReturnFormat(JSON)
    client.setQuery(
        f"""
        PREFIX eli: <http://data.europa.eu/eli/ontology#>
        PREFIX study: <https://example.org/study/>
        SELECT ?case ?number ?document WHERE {{
            ?case study:cites ?article .
            SERVICE <{ours}/sparql> {{
                ?article eli:number ?number ;
                         eli:is_part_of ?doc .
                ?doc eli:title ?document .
            }}
        }}
        ORDER BY ?case ?number
        """
    )
    rows = client.queryAndConvert()["results"]["bindings"]
    assert [
        (row["case"]["value"][-7:], row["number"]["value"], row["document"]["value"])
        for row in rows
    ] == [
        ("case-17", "10.5", "Transaction Services Agreement"),
        ("case-18", "31", "Transaction Dispute Rules"),
        ("case-18", "40", "Transaction Dispute Rules"),
    ]


def test_other_dataset_finds_forum_labels_in_both_languages(
    start_server: Callable[..., str], other_endpoint: str
) -> None:
    ours = start_server()
    client = SPARQLWrapper(other_endpoint)
    client.setReturnFormat(JSON)
    client.setQuery(
        f"""
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX study: <https://example.org/study/>
        SELECT ?label WHERE {{
            ?case study:heardBy ?forum .
            SERVICE <{ours}/sparql> {{ ?forum rdfs:label ?label }}
        }}
        ORDER BY ?label
        """
    )
    labels = [row["label"]["value"] for row in client.queryAndConvert()["results"]["bindings"]]
    assert labels == ["Hong Kong International Arbitration Centre", "香港国际仲裁中心"]
