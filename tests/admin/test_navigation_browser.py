"""The admin kit's navigation comes from the wiring: every listed page opens, on a wide and a phone screen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from app.blueprints import ADMIN_NAV
from app.config import DEMO_SHOP_DOMAIN
from app.extensions import db
from app.i18n import t
from app.shopify.models import Shop
from tests.admin.test_notifications_admin import add_order, shop_id
from tests.browser import CHROMIUM_ARGS, artifacts, needs_chromium, serving

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the test says what to install
    sync_playwright = None  # type: ignore[assignment]


@pytest.fixture()
def owner(make_app) -> Flask:
    """The admin opened as the demo shop's owner (the bypass the demo and tests may use)."""
    app = make_app(demo_login=True)
    with app.app_context():
        db.session.add(Shop(domain=DEMO_SHOP_DOMAIN, name="Demo Store", is_installed=True))
        db.session.commit()
    return app


@pytest.fixture()
def served(owner: Flask) -> Iterator[str]:
    with serving(owner) as url:
        yield url


def test_home_lists_every_navigation_entry_of_the_wiring(owner):
    page = owner.test_client().get("/app")
    assert page.status_code == 200
    for item in ADMIN_NAV:
        assert t("en", item.label).replace("&", "&amp;").encode() in page.data


@needs_chromium
@pytest.mark.parametrize("width", [1280, 390])
def test_every_navigation_entry_opens_in_a_browser(owner, served, width):
    if sync_playwright is None:
        pytest.fail("Python Playwright is not installed: .venv/bin/pip install playwright")
    add_order(owner, shop_id(owner), 1001)
    folder = artifacts("admin")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{served}/app")
            nav = page.get_by_role("navigation", name="Aftercart")
            for item in ADMIN_NAV:
                expect(nav.get_by_role("link", name=t("en", item.label), exact=True)).to_be_visible()
            page.screenshot(path=str(folder / f"home-{width}.png"), full_page=True)
            for item in ADMIN_NAV:
                page.goto(f"{served}/app")
                with page.expect_navigation() as opened:
                    nav.get_by_role("link", name=t("en", item.label), exact=True).click()
                assert opened.value.status == 200, item.label
                expect(page.get_by_role("navigation", name="Aftercart")).to_be_visible()
            assert errors == []
        finally:
            browser.close()
