"""The content library in headless Chromium on the demo: the admin page (its table and form, and a problem shown
beside its field), #1055's delivered tracking page with its released content and questions and answers, and
#1058's in transit with the questions only, in English and Thai, on a wide and a phone screen, with screenshots in
test-artifacts/content/ and no sideways scrolling at 390 px."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.config import Settings
from app.extensions import db
from app.orders.models import Order
from app.storefront.links import make_track_token
from tests.browser import CHROMIUM, CHROMIUM_ARGS, artifacts, needs_chromium, serving

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test says what to install
    sync_playwright = None  # type: ignore[assignment]

THAI = re.compile(r"[\u0e00-\u0e7f]")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("content-demo")
    settings = Settings.from_env({"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{folder / 'demo.db'}"})
    app = create_app(settings)
    with app.app_context():
        from app.demo import setup_demo

        setup_demo()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _track_path(app: Flask, name: str) -> str:
    with app.app_context():
        order = db.session.execute(select(Order).where(Order.name == name)).scalar_one()
        return f"/l/track/{make_track_token(order.shop_id, order.id)}"


@needs_chromium
@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["en", "th"])
def test_the_content_page_and_a_delivered_tracking_page_with_content(demo, locale, width):
    if sync_playwright is None:
        pytest.fail("Python Playwright is not installed: .venv/bin/pip install playwright")
    folder = artifacts("content")
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

            def no_sideways(name: str) -> None:
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
                assert page.evaluate("document.documentElement.lang") == locale, name

            page.goto(f"{base}/app/content?locale={locale}")
            assert page.locator("tr[data-entry]").count() == 6
            text = page.inner_text("body")
            assert ("วิธีเริ่มใช้เสื้อเชิ้ตลินิน" in text) if locale == "th" else ("Getting started with your linen shirt" in text)
            no_sideways("content admin")
            page.screenshot(path=str(folder / f"admin-{locale}-{width}.png"), full_page=True)

            page.fill("input[name=scope_value]", "7001")
            page.fill("input[name=title_en]", "Unboxing")
            page.fill("textarea[name=body_en]", "Lift the lid.")
            page.fill("input[name=video_url]", "javascript:alert(1)")
            page.evaluate("document.querySelector('input[name=video_url]').type = 'text'")  # past the browser's check
            with page.expect_navigation():
                page.click("form button:has-text('%s')" % ("บันทึกเนื้อหา" if locale == "th" else "Save content"))
            assert page.inner_text("#err-video_url").strip()
            assert page.input_value("input[name=title_en]") == "Unboxing"
            no_sideways("content admin with a problem")
            page.screenshot(path=str(folder / f"admin-error-{locale}-{width}.png"), full_page=True)

            page.goto(f"{base}{_track_path(demo, '#1055')}?locale={locale}")
            section = page.locator("section.ac-content")
            assert section.count() == 1 and section.locator("article").count() == 3
            words = section.inner_text()
            if locale == "th":
                assert "วิธีเริ่มใช้เสื้อเชิ้ตลินิน" in words and "วิธีดูแลผ้าลินิน" in words and THAI.search(words)
            else:
                assert "Getting started with your linen shirt" in words and "Caring for linen" in words
            assert section.locator("a[href='https://example.com/videos/linen-shirt']").count() == 1
            faq = page.locator("section.ac-faq")
            assert faq.locator("details").count() == 2
            question = "เสื้อเชิ้ตลินินจะหดไหม" if locale == "th" else "Will the linen shirt shrink?"
            answer = faq.locator("details", has_text=question).locator("p").first
            assert not answer.is_visible()  # closed until the shopper opens it, with no script
            faq.locator("summary", has_text=question).click()
            assert answer.is_visible()
            no_sideways("delivered tracking page")
            page.screenshot(path=str(folder / f"tracking-delivered-{locale}-{width}.png"), full_page=True)

            page.goto(f"{base}{_track_path(demo, '#1058')}?locale={locale}")  # in transit: the questions only
            assert page.locator("section.ac-content").count() == 0
            assert page.locator("section.ac-faq details").count() == 2
            no_sideways("in-transit tracking page")
            page.locator("section.ac-faq").screenshot(path=str(folder / f"tracking-faq-{locale}-{width}.png"))

            page.goto(f"{base}{_track_path(demo, '#1057')}?locale={locale}")  # out for delivery: not yet
            assert page.locator("section.ac-content").count() == 0
            assert page.locator("section.ac-faq").count() == 0  # the tote has no questions
            assert problems == []
        finally:
            browser.close()
