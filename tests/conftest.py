from __future__ import annotations

import socket
import subprocess
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from odr_kg.store import KnowledgeStore
from odr_kg.web import create_app


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
