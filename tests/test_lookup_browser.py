"""The lookup form in a real browser: Debian's headless chromium, driven by Playwright, against a
live ``odr-kg serve``. Skipped only where /usr/bin/chromium is not installed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

pytestmark = pytest.mark.subprocess

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="module")
def served_url(start_server: Callable[..., str]) -> str:
    return start_server()


def test_the_form_is_filled_submitted_and_answered(
    browser: Browser, served_url: str, tmp_path: Path
) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{served_url}/lookup")
        page.get_by_label("You are the").select_option("buyer")
        page.get_by_label("Order").select_option("trade-assurance")
        page.get_by_label("Claim").select_option("quality")
        page.locator("#paidAmount").fill("12000")
        page.locator("#guaranteeAmount").fill("5000")
        # Confirmed receipt and the goods' receipt dated within the 30 days: else the stages
        # hold on those limits.
        page.locator("#receivedOn").fill("2026-11-10")
        page.locator("#goodsReceivedOn").fill("2026-11-10")
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
        # Three stages and approach A apply; enforcement (the advance refund) and approach B
        # hold on conditions.
        assert page.locator("svg.flow g.applies").count() == 4
        assert page.locator("svg.flow g.stage.conditional").count() == 1
        assert page.locator("svg.flow g.route.conditional").count() == 1
        summary = page.locator("#summary").inner_text()
        assert "5000.00 USD" in summary and "Where to object" in summary
        assert "applies only if the conditions hold" in summary  # route B: a possibility
        screenshot = tmp_path / "lookup-answer.png"
        page.screenshot(path=str(screenshot), full_page=True)
        assert screenshot.stat().st_size > 0
    finally:
        context.close()


def test_every_field_error_is_shown_at_its_field(browser: Browser, served_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{served_url}/lookup")
        page.get_by_label("You are the").select_option("buyer")
        page.get_by_label("Order").select_option("offline")
        page.get_by_label("Claim").select_option("non-payment")
        page.locator("#openedOn").fill("2026-12-01")
        page.locator("#asOf").fill("2026-11-27")
        # Receipt both dated and said not to have happened yet.
        page.locator("#receivedOn").fill("2026-11-01")
        page.get_by_label("confirmed receipt of the products").check()
        page.get_by_role("button", name="Look up").click()
        page.wait_for_selector("#errors")
        for field in ("claim", "openedOn", "notYet"):
            control = page.locator(f"#{field}")
            assert control.get_attribute("aria-invalid") == "true"
            described = control.get_attribute("aria-describedby")
            assert described and page.locator(f"#{described}").inner_text().strip()
        summary = page.locator("#errors").inner_text()
        assert "Claim" in summary and "Date the dispute was opened" in summary
        assert "Not happened yet" in summary
        assert page.locator("#role").get_attribute("aria-invalid") is None
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_flow_is_readable_at_390_px(browser: Browser, served_url: str, lang: str) -> None:
    """On a 390 px wide phone every label of the SVG flow lies within the drawing and within its
    own box, at a size that can be read (a label cut or shrunk below 10 px fails)."""
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(
            f"{served_url}/lookup?role=buyer&channel=trade-assurance&claim=non-delivery"
            "&paidAmount=12000&paidCurrency=USD&guaranteeAmount=5000&guaranteeCurrency=USD"
            f"&asOf=2026-11-27&dissatisfiedWithDecision=true&contractForum=none&lang={lang}"
        )
        flow = page.locator("svg.flow")
        box = flow.bounding_box()
        assert box is not None and box["width"] <= 390
        texts = flow.locator("text")
        assert texts.count() >= 8  # four stages and two routes, two lines each
        for index in range(texts.count()):
            text = texts.nth(index)
            label = text.text_content()
            inner = text.bounding_box()
            assert inner is not None, label
            assert inner["height"] >= 10, (label, inner)
            assert box["x"] <= inner["x"] and inner["x"] + inner["width"] <= box["x"] + box["width"]
            assert (
                box["y"] <= inner["y"] and inner["y"] + inner["height"] <= box["y"] + box["height"]
            )
            # ... and within the box drawn around it.
            frame = text.locator("xpath=../*[local-name()='rect']").bounding_box()
            assert frame is not None, label
            assert (
                frame["x"] <= inner["x"]
                and inner["x"] + inner["width"] <= frame["x"] + frame["width"]
            ), (
                label,
                inner,
                frame,
            )
    finally:
        context.close()
