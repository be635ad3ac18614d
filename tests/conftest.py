from __future__ import annotations

import socket
import subprocess
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from odr_kg.sparql_store import SparqlEndpointStore
from odr_kg.store import KnowledgeStore
from odr_kg.stores import open_store
from odr_kg.web import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route


@pytest.fixture(autouse=True)
def _no_base_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI and the app read ODR_KG_BASE; a developer's shell must not change test results.
    monkeypatch.delenv("ODR_KG_BASE", raising=False)


@pytest.fixture(scope="session")
def embedded_store() -> KnowledgeStore:
    return open_store()


@pytest.fixture(scope="session")
def store(embedded_store: KnowledgeStore) -> KnowledgeStore:
    return embedded_store


@pytest.fixture
def app() -> Iterator[Flask]:
    yield create_app({"TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


SERVER_STARTUP_SECONDS = 20


def stop_process(process: subprocess.Popen[bytes], seconds: float = 10) -> None:
    """Ask a server process to stop; kill it if it has not within ``seconds``."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    """Start ``odr-kg serve`` on 127.0.0.1 on a free port with extra arguments; return its URL.
    The servers stop when the module's tests are done."""
    servers: list[subprocess.Popen[bytes]] = []

    def start(*arguments: str) -> str:
        script = Path(sysconfig.get_path("scripts")) / "odr-kg"
        port = free_port()
        log_path = tmp_path_factory.mktemp("server") / "serve.log"
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [str(script), "serve", "--host", "127.0.0.1", "--port", str(port), *arguments],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        servers.append(server)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVER_STARTUP_SECONDS
        while True:
            if server.poll() is not None:
                output = log_path.read_text(errors="replace")
                pytest.fail(f"odr-kg serve exited with {server.returncode}:\n{output}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5):
                    return url
            except (urllib.error.URLError, ConnectionError, TimeoutError):  # still starting
                if time.monotonic() > deadline:
                    pytest.fail(f"odr-kg serve did not answer within {SERVER_STARTUP_SECONDS} s")
                time.sleep(0.1)

    yield start
    for server in servers:
        stop_process(server)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless chromium driven by Playwright (never ``playwright install``); the
    tests using it are skipped where /usr/bin/chromium is not installed."""
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# Installed in every page of a LocalContext: records what the Content-Security-Policy refused.
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@dataclass
class LocalContext:
    """A browser context whose requests may only go to 127.0.0.1: any other is aborted and
    kept in ``foreign``; each page records the Content-Security-Policy's refusals."""

    context: BrowserContext
    foreign: list[str]

    def new_page(self) -> Page:
        return self.context.new_page()

    def check(self, page: Page) -> None:
        """Fail on a request to another host or a refusal by the Content-Security-Policy."""
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"
        assert page.evaluate("window.cspViolations") == []


@pytest.fixture
def local_context(browser: Browser, request: pytest.FixtureRequest) -> Iterator[LocalContext]:
    """A fresh :class:`LocalContext`; ``@pytest.mark.parametrize("local_context", [{...}],
    indirect=True)`` passes options (viewport, java_script_enabled) to ``new_context``."""
    options = getattr(request, "param", {})
    context = browser.new_context(**options)
    foreign: list[str] = []

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    try:
        yield LocalContext(context, foreign)
    finally:
        context.close()


OXIGRAPH = Path(sysconfig.get_path("scripts")) / "oxigraph"


@dataclass(frozen=True)
class OxigraphServer:
    """A running ``oxigraph serve``: its SPARQL query, update and Graph Store endpoints."""

    url: str

    @property
    def query(self) -> str:
        return f"{self.url}/query"

    @property
    def update(self) -> str:
        return f"{self.url}/update"

    @property
    def graph_store(self) -> str:
        return f"{self.url}/store"


@pytest.fixture(scope="session")
def start_oxigraph() -> Iterator[Callable[[], OxigraphServer]]:
    """Start an empty, in-memory ``oxigraph serve`` on 127.0.0.1 on a free port; the servers
    stop at the end of the session."""
    servers: list[subprocess.Popen[bytes]] = []

    def start() -> OxigraphServer:
        if not OXIGRAPH.is_file():
            pytest.fail(
                "the oxigraph server (PyPI package 'oxigraph', in the test extra) is missing"
            )
        port = free_port()
        server = subprocess.Popen(
            [str(OXIGRAPH), "serve", "--bind", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        servers.append(server)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVER_STARTUP_SECONDS
        while server.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/query?query=ASK%7B%7D", timeout=2):
                    return OxigraphServer(url)
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        pytest.fail(f"oxigraph serve did not answer on {url}")

    yield start
    for server in servers:
        stop_process(server)


@pytest.fixture(scope="session")
def oxigraph_server(start_oxigraph: Callable[[], OxigraphServer]) -> OxigraphServer:
    """An Oxigraph server holding the packaged graphs, pushed by ``odr-kg load``'s code; the
    tests only read it."""
    server = start_oxigraph()
    SparqlEndpointStore(server.query, update_endpoint=server.update).load_packaged()
    return server


@pytest.fixture(scope="session")
def external_store(oxigraph_server: OxigraphServer) -> KnowledgeStore:
    return open_store(endpoint=oxigraph_server.query, update_endpoint=oxigraph_server.update)


@pytest.fixture(scope="session", params=["embedded", "external"])
def any_store(request: pytest.FixtureRequest) -> KnowledgeStore:
    """The store, once embedded and once on an Oxigraph server: a test using it runs on both."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture(params=["embedded", "external"])
def any_app(request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The application, once on the embedded store and once on an Oxigraph server."""
    config: dict[str, object] = {"TESTING": True}
    if request.param == "external":
        server = request.getfixturevalue("oxigraph_server")
        config.update(SPARQL_ENDPOINT=server.query, SPARQL_UPDATE_ENDPOINT=server.update)
    yield create_app(config)
