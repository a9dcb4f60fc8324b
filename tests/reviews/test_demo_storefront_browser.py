"""The demo's storefront: the demo product's page with the theme's Product reviews block (its real script and
stylesheet, fed by the same JSON the app proxy answers) shows stars, reviews, photos and the shop's reply, in
English and Thai, at 1280 and 390 px, with its JSON-LD; screenshots in test-artifacts/reviews/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

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
    folder = tmp_path_factory.mktemp("reviews-demo")
    settings = Settings.from_env({"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{folder / 'demo.db'}"})
    app = create_app(settings)
    with app.app_context():
        from app.demo import setup_demo

        setup_demo()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _preview_path(app: Flask) -> str:
    from app.demo import DEMO_SHOP_DOMAIN, demo_reviews_links
    from app.shopify.shops import shop_id_for_domain

    with app.app_context():
        links = demo_reviews_links(shop_id_for_domain(db.session, DEMO_SHOP_DOMAIN))
    return next(path for _, note, path in links if "product page" in note)


@needs_chromium
@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["en", "th"])
def test_the_demo_product_page_shows_the_reviews_block(demo, locale, width):
    if sync_playwright is None:
        pytest.fail("Python Playwright is not installed: .venv/bin/pip install playwright")
    folder = artifacts("reviews")
    path = _preview_path(demo)
    with serving(demo) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": 900})
            elsewhere: list[str] = []

            def guard(route):
                if route.request.url.startswith(base):
                    route.continue_()
                else:
                    elsewhere.append(route.request.url)
                    route.abort()

            context.route("**/*", guard)
            page = context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.goto(f"{base}{path}?locale={locale}")
            page.wait_for_selector(".acr-review")
            page.wait_for_function("[...document.querySelectorAll('.acr-photo')].every(i => i.complete)")
            summary = page.inner_text("[data-acr-summary]")
            text = page.inner_text(".acr-list")
            assert page.locator(".acr-stars").count() >= 2  # the summary's and each review's
            assert page.locator(".acr-photo").count() >= 1
            assert page.evaluate("document.querySelector('.acr-photo').naturalWidth") == 48
            if locale == "th":
                assert THAI.search(summary) and "รีวิว" in summary and "ขอบคุณมากค่ะ" in text
            else:
                assert "out of 5 · 4 reviews" in summary and "Great shirt" in text
            assert "Call me" not in text  # the hidden review is not shown
            ld = json.loads(page.evaluate("document.querySelector(\"script[type='application/ld+json']\").textContent"))
            assert ld["@type"] == "Product" and ld["aggregateRating"]["reviewCount"] == 4
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the demo product page scrolls sideways by {overflow}px at {width}px"
            page.screenshot(path=str(folder / f"demo-product-{locale}-{width}.png"), full_page=True)
            assert problems == [] and elsewhere == [] and context.cookies() == []
        finally:
            browser.close()
