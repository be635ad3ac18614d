"""The W3C SPARQL 1.1 Protocol tests, run against a live ``odr-kg serve``.

The manifest is read from ``$ODR_KG_PROTOCOL_TESTS``, by default ``../shared/conformance/
sparql11-protocol`` beside the repository; it is never copied into the repository. Query tests
must pass as written. Update tests must be refused with a 4xx: the endpoint is read-only, so
their first request (the update) is what they check, and later requests are not sent.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import os
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import rdflib
from rdflib import RDF, RDFS, Namespace
from rdflib.collection import Collection

REPOSITORY = Path(__file__).resolve().parents[1]
TESTS_DIR = Path(
    os.environ.get(
        "ODR_KG_PROTOCOL_TESTS", REPOSITORY.parent / "shared" / "conformance" / "sparql11-protocol"
    )
)
MANIFEST = TESTS_DIR / "manifest.ttl"
ENDPOINT_PATH = "/sparql"

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")

RESULTS_JSON = "application/sparql-results+json"
RESULTS_XML = "application/sparql-results+xml"
# What each mf:expectedFormat allows as the response's media type.
MEDIA_TYPES_OF_FORMAT = {
    "boolean": {RESULTS_JSON, RESULTS_XML},
    "tabular": {RESULTS_JSON, RESULTS_XML, "text/csv", "text/tab-separated-values"},
    "RDF": {"application/rdf+xml", "text/turtle", "application/n-triples"},
}
STATUS_CLASSES = {HTS.StatusCode2xx: 2, HTS.StatusCode3xx: 3, HTS.StatusCode4xx: 4}

pytestmark = [
    pytest.mark.subprocess,
    pytest.mark.skipif(
        not MANIFEST.is_file(),
        reason=f"no SPARQL 1.1 Protocol manifest at {MANIFEST} (set ODR_KG_PROTOCOL_TESTS)",
    ),
]


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: set[int]
    expected_format: str | None
    expected_boolean: bool | None


@dataclass(frozen=True)
class ProtocolTest:
    name: str
    is_update: bool
    requests: list[HttpRequest]


def read_manifest() -> tuple[list[ProtocolTest], dict[str, Path]]:
    """The tests in manifest order, and the data files by the graph name the manifest uses."""
    graph = rdflib.Graph().parse(MANIFEST, format="turtle")
    manifest = next(graph.subjects(RDF.type, MF.Manifest))
    tests = []
    data: dict[str, Path] = {}
    for test in Collection(graph, graph.value(manifest, MF.entries)):
        for graph_data in graph.objects(test, UT.graphData):
            name = str(graph.value(graph_data, RDFS.label))
            data[name] = Path(urlsplit(str(graph.value(graph_data, UT.graph))).path)
        action = graph.value(test, MF.action)
        requests = [
            read_request(graph, request)
            for request in Collection(graph, graph.value(action, HT.requests))
        ]
        local_name = str(test).rsplit("#", 1)[-1]
        tests.append(ProtocolTest(local_name, "update" in local_name, requests))
    return tests, data


def read_request(graph: rdflib.Graph, request: rdflib.term.Node) -> HttpRequest:
    path = str(graph.value(request, HT.absolutePath))
    assert path.startswith("/sparql/")
    headers = {}
    header_list = graph.value(request, HT.headers)
    if header_list is not None:
        for header in Collection(graph, header_list):
            headers[str(graph.value(header, HT.fieldName))] = str(
                graph.value(header, HT.fieldValue)
            )
    body = None
    content = graph.value(request, HT.body)
    if content is not None:
        encoding = str(graph.value(content, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(content, CNT.chars)).encode(encoding)
    response = graph.value(request, HT.resp)
    statuses = {STATUS_CLASSES[status] for status in graph.objects(response, MF.expectedStatus)}
    expected_format = graph.value(response, MF.expectedFormat)
    expected_boolean = graph.value(response, MF.expectedBoolean)
    return HttpRequest(
        method=str(graph.value(request, HT.methodName)),
        path=ENDPOINT_PATH + path[len("/sparql/") :],
        headers=headers,
        body=body,
        statuses=statuses,
        expected_format=None if expected_format is None else str(expected_format),
        expected_boolean=None if expected_boolean is None else bool(expected_boolean.toPython()),
    )


TESTS, DATA_FILES = read_manifest() if MANIFEST.is_file() else ([], {})
QUERY_TESTS = [test for test in TESTS if not test.is_update]
UPDATE_TESTS = [test for test in TESTS if test.is_update]


@pytest.fixture(scope="module")
def endpoint(start_server: Callable[..., str]) -> str:
    arguments = []
    for name, path in sorted(DATA_FILES.items()):
        arguments += ["--data", f"{TESTS_DIR / path.name}={name}"]
    return start_server(*arguments)


def send(endpoint: str, request: HttpRequest) -> tuple[int, str, bytes]:
    # http.client sends exactly the manifest's headers: urllib would add a Content-Type.
    address = urlsplit(endpoint)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request(request.method, request.path, body=request.body, headers=request.headers)
        response = connection.getresponse()
        return response.status, response.headers.get_content_type(), response.read()
    finally:
        connection.close()


def boolean_of(media_type: str, body: bytes) -> bool:
    if media_type == RESULTS_JSON:
        return json.loads(body)["boolean"]
    element = ElementTree.fromstring(body).find("{http://www.w3.org/2005/sparql-results#}boolean")
    assert element is not None and element.text is not None
    return element.text.strip() == "true"


def check_format(expected: str, media_type: str, body: bytes) -> None:
    assert media_type in MEDIA_TYPES_OF_FORMAT[expected]
    if media_type == RESULTS_JSON:
        json.loads(body)
    elif media_type in (RESULTS_XML, "application/rdf+xml"):
        ElementTree.fromstring(body)
    elif media_type == "text/csv":
        list(csv.reader(io.StringIO(body.decode())))
    elif media_type in ("text/turtle", "application/n-triples"):
        rdflib.Graph().parse(data=body, format="turtle")


def test_the_manifest_has_twenty_query_and_fourteen_update_tests() -> None:
    assert (len(QUERY_TESTS), len(UPDATE_TESTS)) == (20, 14)


@pytest.mark.parametrize("test", QUERY_TESTS, ids=lambda test: test.name)
def test_query(endpoint: str, test: ProtocolTest) -> None:
    for request in test.requests:
        status, media_type, body = send(endpoint, request)
        assert status // 100 in request.statuses, body.decode(errors="replace")
        if request.expected_format is not None:
            check_format(request.expected_format, media_type, body)
        if request.expected_boolean is not None:
            assert boolean_of(media_type, body) is request.expected_boolean


@pytest.mark.parametrize("test", UPDATE_TESTS, ids=lambda test: test.name)
def test_update_is_refused(endpoint: str, test: ProtocolTest) -> None:
    status, _, body = send(endpoint, test.requests[0])
    assert 400 <= status < 500, body.decode(errors="replace")


def test_service_description_names_its_endpoint(endpoint: str) -> None:
    # The three tests of service-description-manifest.ttl: RDF, an sd:endpoint triple, sd terms.
    request = HttpRequest("GET", ENDPOINT_PATH, {"Accept": "text/turtle"}, None, {2}, None, None)
    status, media_type, body = send(endpoint, request)
    assert (status, media_type) == (200, "text/turtle")
    graph = rdflib.Graph().parse(data=body, format="turtle")
    service = rdflib.URIRef(endpoint + ENDPOINT_PATH)
    sd = Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert (service, RDF.type, sd.Service) in graph
    assert (service, sd.endpoint, service) in graph
    names = {str(name) for name in graph.objects(None, sd.name)}
    assert set(DATA_FILES) <= names
