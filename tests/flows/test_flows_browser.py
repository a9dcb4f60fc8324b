"""The flows pages on the seeded demo in headless Chromium, without Shopify's CDN: the list (each flow, on or off,
what it did, the frequency policy, the latest shoppers with why a flow stopped), a flow's editor with every step
previewed in English and Thai, a save and a switch; and the delivery log with the messages the flows sent. In
English and Thai, at 1280 and 390 px, screenshots in test-artifacts/flows/, no sideways scrolling."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.config import Settings
from app.extensions import db
from app.flows.models import Flow
from tests.browser import CHROMIUM, CHROMIUM_ARGS, artifacts, needs_chromium, serving

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test says what to install
    sync_playwright = None  # type: ignore[assignment]

THAI = re.compile(r"[\u0e00-\u0e7f]")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("flows-demo")
    settings = Settings.from_env({"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{folder / 'demo.db'}"})
    app = create_app(settings)
    with app.app_context():
        from app.demo import setup_demo

        setup_demo()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _fits(page, locale: str, name: str, width: int) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
    assert page.evaluate("document.documentElement.lang") == locale
    headings = page.locator("s-page h1, s-page h2").all_inner_texts()
    assert any(THAI.search(h) for h in headings) == (locale == "th"), headings


@needs_chromium
@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["en", "th"])
def test_flows_list_editor_preview_and_the_delivery_log(demo, locale, width):
    if sync_playwright is None:
        pytest.fail("Python Playwright is not installed: .venv/bin/pip install playwright")
    folder = artifacts("flows")
    with serving(demo) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": 900})
            context.route(
                "**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort()
            )
            page = context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))

            page.goto(f"{base}/app/flows?locale={locale}")
            assert page.locator("tr[data-flow]").count() == 4
            text = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
            if locale == "th":
                assert "ดูแลหลังส่งถึง" in text and "หยุด: ผู้ซื้อสั่งซื้ออีกครั้ง" in text
            else:
                assert "Post-delivery care" in text and "stopped: the shopper ordered again" in text
                assert "at most 1 a day and 3 a week" in text
            _fits(page, locale, "flows", width)
            page.screenshot(path=str(folder / f"flows-{locale}-{width}.png"), full_page=True)

            page.goto(f"{base}/app/flows/post_delivery?locale={locale}")
            previews = page.locator("[data-preview]")
            assert previews.count() == 2  # one step, in English and in Thai
            # (an earlier run on this module's demo saved its own subject)
            assert re.search(r"(Getting the most from your order|Caring for) #1001", previews.nth(0).inner_text())
            assert THAI.search(previews.nth(1).inner_text())
            _fits(page, locale, "flow editor", width)
            page.screenshot(path=str(folder / f"flow-editor-{locale}-{width}.png"), full_page=True)
            page.fill("input[name='steps.0.wait_days']", "5")
            page.fill("input[name='steps.0.en.subject']", "Caring for {{ order_name }}")
            page.locator("button.primary").click()
            page.wait_for_load_state()
            assert "Caring for #1001" in page.locator("[data-preview]").nth(0).inner_text()
            page.fill("input[name='steps.0.en.subject']", "")
            page.locator("button.primary").click()
            page.wait_for_load_state()
            assert page.locator(".field-error", has_text=re.compile(r"\S")).count() >= 1
            page.screenshot(path=str(folder / f"flow-editor-error-{locale}-{width}.png"), full_page=True)

            page.goto(f"{base}/app/notifications/log?trigger=flow_step&locale={locale}")  # the flows' messages
            log_text = page.inner_text("body")
            assert ("ขั้นตอนโฟลว์ติดตามผล" if locale == "th" else "Follow-up flow step") in log_text
            assert "joy@example.com" in log_text and "marketing cap" in log_text
            page.screenshot(path=str(folder / f"delivery-log-{locale}-{width}.png"), full_page=True)
            assert problems == []
        finally:
            browser.close()
    with demo.app_context():
        flow = db.session.execute(select(Flow).where(Flow.kind == "post_delivery")).scalar_one()
        assert (
            flow.steps[0]["wait_days"] == 5 and flow.steps[0]["texts"]["en"]["subject"] == "Caring for {{ order_name }}"
        )
