"""The shopper's survey pages in headless Chromium on the demo: the question page, one tap on a score, the
follow-up page (reason chips for that score, a comment), in English and Thai, on a wide and a phone screen, with
screenshots in test-artifacts/surveys/ and no sideways scrolling at 390 px."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.config import Settings
from app.extensions import db
from app.surveys.links import ASK, make_token
from app.surveys.models import Survey
from tests.browser import CHROMIUM, CHROMIUM_ARGS, artifacts, needs_chromium, serving

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test says what to install
    sync_playwright = None  # type: ignore[assignment]

THAI = re.compile(r"[\u0e00-\u0e7f]")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("survey-demo")
    settings = Settings.from_env({"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{folder / 'demo.db'}"})
    app = create_app(settings)
    with app.app_context():
        from app.demo import setup_demo

        setup_demo()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _question_path(app: Flask, order_name: str) -> str:
    with app.app_context():
        public_id = db.session.execute(select(Survey.public_id).where(Survey.order_name == order_name)).scalar_one()
        return f"/l/s/a/{make_token(public_id, ASK)}"


def _answer_of(app: Flask, order_name: str) -> tuple:
    with app.app_context():
        survey = db.session.execute(select(Survey).where(Survey.order_name == order_name)).scalar_one()
        return survey.csat_score, survey.changed_at


@needs_chromium
@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["en", "th"])
def test_one_tap_then_the_follow_up_page(demo, locale, width):
    if sync_playwright is None:
        pytest.fail("Python Playwright is not installed: .venv/bin/pip install playwright")
    folder = artifacts("surveys")
    path = _question_path(demo, "#1034")  # asked, not answered yet
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
            before = _answer_of(demo, "#1034")
            page.goto(f"{base}{path}?locale={locale}")
            assert page.evaluate("document.documentElement.lang") == locale
            assert page.locator(".ac-scores a").count() == 5  # CSAT 1-5, one link each
            page.screenshot(path=str(folder / f"question-{locale}-{width}.png"), full_page=True)
            page.locator(".ac-scores a", has_text="2").first.click()
            # The tap lands on the answer page with 2 chosen; nothing is recorded until "Send".
            page.wait_for_selector("#ac-send-score")
            assert page.locator("input[name=score][value='2']").is_checked()
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the answer page scrolls sideways by {overflow}px at {width}px"
            page.screenshot(path=str(folder / f"answer-{locale}-{width}.png"), full_page=True)
            assert page.locator("button[type=submit]").count() == 1  # one send for the score, reasons and comment
            # the chips follow the score chosen, without script: what went well for a 5, what went wrong for a 2
            page.locator("label", has=page.locator("input[name=score][value='5']")).click()
            assert (
                page.locator(".ac-reasons-praise").is_visible() and not page.locator(".ac-reasons-problem").is_visible()
            )
            page.locator("label", has=page.locator("input[name=score][value='2']")).click()
            assert (
                page.locator(".ac-reasons-problem").is_visible() and not page.locator(".ac-reasons-praise").is_visible()
            )
            page.locator(".ac-reasons-problem label", has=page.locator("input[value=courier]")).click()
            page.fill("#ac-comment", "The courier never rang" if locale == "en" else "พนักงานไม่กดกริ่ง")
            page.screenshot(path=str(folder / f"answer-filled-{locale}-{width}.png"), full_page=True)
            assert _answer_of(demo, "#1034") == before
            page.click("#ac-send-score")
            page.wait_for_selector("form textarea[name=comment]")
            assert "/l/s/f/" in page.url
            text = page.inner_text("main")
            if locale == "th":
                assert THAI.search(text) and "ส่งช้า" in text  # a low score: what went wrong
            else:
                assert "Arrived late" in text and "Fast delivery" not in text
            # The demo shop asks both questions: NPS waits on the follow-up page.
            assert page.locator("input[name=nps]").count() == 11
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the follow-up page scrolls sideways by {overflow}px at {width}px"
            page.screenshot(path=str(folder / f"follow-up-{locale}-{width}.png"), full_page=True)
            page.check("input[name=reasons][value=late]")
            page.locator("label", has=page.locator("input[name=nps][value='5']")).click()
            page.fill("textarea[name=comment]", "Two days late" if locale == "en" else "ช้าไปสองวัน")
            page.click("button[type=submit]")
            page.wait_for_selector("[role=status]")
            page.screenshot(path=str(folder / f"follow-up-saved-{locale}-{width}.png"), full_page=True)
            assert problems == []
        finally:
            browser.close()
    with demo.app_context():
        survey = db.session.execute(select(Survey).where(Survey.order_name == "#1034")).scalar_one()
        assert (survey.csat_score, survey.nps_score, survey.reasons) == (2, 5, ["late", "courier"])
        assert survey.detractor_at is not None
