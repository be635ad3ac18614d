from __future__ import annotations

import socket
import subprocess
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from flask.testing import FlaskClient

from odr_kg.store import KnowledgeStore
from odr_kg.web import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(autouse=True)
def _no_base_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI and the app read ODR_KG_BASE; a developer's shell must not change test results.
    monkeypatch.delenv("ODR_KG_BASE", raising=False)


@pytest.fixture(scope="session")
def store() -> KnowledgeStore:
    return KnowledgeStore.load()


@pytest.fixture
def app() -> Iterator[Flask]:
    yield create_app({"TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


SERVER_STARTUP_SECONDS = 20


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    """Start ``odr-kg serve`` on 127.0.0.1 on a free port with extra arguments; return its URL.
    The servers stop when the module's tests are done."""
    servers: list[subprocess.Popen[bytes]] = []

    def start(*arguments: str) -> str:
        script = Path(sysconfig.get_path("scripts")) / "odr-kg"
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
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
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    pytest.fail(f"odr-kg serve did not answer within {SERVER_STARTUP_SECONDS} s")
                time.sleep(0.1)

    yield start
    for server in servers:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


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
