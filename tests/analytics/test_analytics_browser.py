"""The analytics dashboard of the seeded demo in Chromium, in English and Thai, on a wide and a phone screen, with
Shopify's CDN refused: charts drawn (SVG, no script), figures from the demo's history (by carrier, lane and shipping
service), no sideways scrolling, and a CSV downloaded from the page equal to the table beneath the chart.
Screenshots: test-artifacts/analytics/."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from app.config import Settings
from app.extensions import db
from tests.browser import CHROMIUM, CHROMIUM_ARGS, artifacts, needs_chromium, serving

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test says what to install
    sync_playwright = None  # type: ignore[assignment]

THAI = re.compile(r"[\u0e00-\u0e7f]")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("analytics-demo")
    settings = Settings.from_env({"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{folder / 'demo.db'}"})
    app = create_app(settings)
    with app.app_context():
        from app.demo import setup_demo

        setup_demo()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@needs_chromium
@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["en", "th"])
def test_the_dashboard_in_a_browser(demo, locale, width):
    if sync_playwright is None:
        pytest.fail("Python Playwright is not installed: .venv/bin/pip install playwright")
    folder = artifacts("analytics")
    with serving(demo) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
            context.route(
                "**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort()
            )
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            response = page.goto(f"{base}/app/analytics?days=90&locale={locale}")
            assert response is not None and response.status == 200
            assert page.evaluate("getComputedStyle(document.querySelector('s-section')).display") == "block"
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
            assert page.evaluate("document.documentElement.lang") == locale
            headings = page.locator("s-page h2").all_inner_texts()
            assert any(THAI.search(h) for h in headings) == (locale == "th"), headings
            # charts are drawn and fit their card
            assert page.locator(".ac-chart svg").count() >= 6
            chart_width = page.evaluate("document.querySelector('.ac-chart svg').getBoundingClientRect().width")
            assert 0 < chart_width <= width
            # the demo's history gives real figures
            parcels = page.inner_text("[data-figure='parcels_delivered'] strong")
            assert parcels.strip() not in ("—", "0"), parcels
            assert page.inner_text("[data-figure='on_time_rate'] strong").strip().endswith("%")
            page.screenshot(path=str(folder / f"dashboard-{locale}-{width}.png"), full_page=True)
            page.locator("#delivery").screenshot(path=str(folder / f"delivery-{locale}-{width}.png"))
            # the CSV beneath the carriers' chart is the table the merchant sees
            table = page.locator("#table-delivery-carriers")
            shown = [
                [cell.strip() for cell in row.locator("th, td").all_inner_texts()] for row in table.locator("tr").all()
            ]
            with page.expect_download() as download:
                page.locator("a[href*='/export/delivery-carriers.csv']").click()
            text = Path(download.value.path()).read_text(encoding="utf-8-sig")
            assert list(csv.reader(io.StringIO(text))) == shown
            # delivery by the shipping rate the shoppers chose (the demo's orders carry Standard and Express)
            services = page.locator("#table-delivery-services").inner_text()
            assert "Standard" in services and "Express" in services, services
            page.goto(f"{base}/app/analytics/metrics?locale={locale}")
            assert "Contacts deflected" in page.inner_text("pre")
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
            page.screenshot(path=str(folder / f"metrics-{locale}-{width}.png"))
            assert errors == []
        finally:
            browser.close()
