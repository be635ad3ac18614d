"""The lookup form in a real browser: Debian's headless chromium, driven by Playwright, against a
live ``odr-kg serve``. Skipped only where /usr/bin/chromium is not installed."""

from __future__ import annotations

import socket
import subprocess
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

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
STARTUP_TIMEOUT_SECONDS = 15

pytestmark = [
    pytest.mark.subprocess,
    pytest.mark.skipif(
        not CHROMIUM.is_file(),
        reason="Debian's chromium is not installed at /usr/bin/chromium (make test installs it)",
    ),
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served_url(tmp_path: Path) -> Iterator[str]:
    script = Path(sysconfig.get_path("scripts")) / "odr-kg"
    port = _free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"odr-kg serve exited:\n{log_path.read_text(errors='replace')}")
            try:
                urllib.request.urlopen(f"{url}/health", timeout=5).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    pytest.fail("odr-kg serve did not start")
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_the_form_is_filled_submitted_and_answered(served_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(java_script_enabled=False)
            page.goto(f"{served_url}/lookup")
            page.get_by_label("You are the").select_option("buyer")
            page.get_by_label("Order").select_option("trade-assurance")
            page.get_by_label("Claim").select_option("non-delivery")
            page.locator("#paidAmount").fill("12000")
            page.locator("#guaranteeAmount").fill("5000")
            page.locator("#asOf").fill("2026-11-27")
            page.get_by_label("I am dissatisfied with Alibaba's decision").check()
            page.get_by_label("Dispute clause of the contract").select_option("none")
            page.get_by_role("button", name="Look up").click()
            page.wait_for_selector("#answer")
            assert "role=buyer" in page.url and "channel=trade-assurance" in page.url
            assert "5000.00 USD" in page.locator("#advance-refund").inner_text()
            objections = page.locator("#objections").inner_text()
            assert "Hong Kong International Arbitration Centre" in objections
            assert "Chinese people's courts" in objections
            assert page.locator("svg.flow g.applies").count() == 6
            screenshot = tmp_path / "lookup-answer.png"
            page.screenshot(path=str(screenshot), full_page=True)
            assert screenshot.stat().st_size > 0
        finally:
            browser.close()
