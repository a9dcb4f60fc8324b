"""The returns portal in headless Chromium, through a storefront that signs every proxied request like Shopify
and refuses executable Liquid: an eligible item, a final-sale item, a loyalty-extended window, the exchange
flow and a bad upload, with screenshots in test-artifacts/returns/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.returns.models import ReturnRequest
from tests.browser import CHROMIUM, CHROMIUM_ARGS, artifacts
from tests.conftest import SHOP
from tests.e2e.storefront import AppServer, Storefront
from tests.returns.conftest import LINE_SALE, LINE_SHIRT, LINE_TOTE, SHIRT_L, make_vip

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - reported by the browser fixture
    sync_playwright = None

pytestmark = [
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium"),
]
SHOTS = artifacts("returns")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        pytest.fail("Python Playwright is not installed")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def storefront(fake_app: Flask) -> Iterator[Storefront]:
    with AppServer(fake_app) as server, Storefront(app_origin=server.origin, shop=SHOP) as shop:
        yield shop
        assert shop.liquid_errors == [], "the app sent executable Liquid"
        assert not any(r.app_set_cookie for r in shop.proxied), "the app set a cookie behind the proxy"


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 1000}, locale="en-US")
    page = context.new_page()
    yield page
    context.close()


def _find_order(page: Page, storefront: Storefront, prefix: str = "") -> None:
    page.goto(f"{storefront.origin}{prefix}/apps/aftercart/returns")
    page.fill("input[name=order]", "#1001")
    page.fill("input[name=email]", "mali@example.com")
    page.click("button[type=submit]")
    page.wait_for_selector("#ac-return-form")


def test_eligible_item_and_final_sale_item(delivered_order, storefront, page):
    delivered_order(days_ago=5)
    _find_order(page, storefront)
    sale = page.locator(f"[data-item='{LINE_SALE}']")
    assert "Sale scarf was a final sale item and cannot be returned." in sale.inner_text()
    assert page.locator(f"select[name=qty_{LINE_SALE}]").count() == 0
    page.screenshot(path=str(SHOTS / "portal-items-en.png"), full_page=True)
    page.select_option(f"select[name=qty_{LINE_TOTE}]", "1")
    page.select_option("select[name=reason]", "too_large")
    page.check("input[name=resolution][value=refund]")
    page.click("#ac-return-form button[type=submit]")
    page.wait_for_selector("[data-return-status=requested]")
    assert "The shop will review your request soon." in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "status-requested-en.png"), full_page=True)
    [request] = db.session.execute(select(ReturnRequest)).scalars().all()
    assert [(line.shopify_line_item_id, line.quantity) for line in request.lines] == [(LINE_TOTE, 1)]


def test_thai_portal(delivered_order, storefront, page):
    delivered_order(days_ago=5)
    page.goto(f"{storefront.origin}/apps/aftercart/returns?locale=th")
    page.fill("input[name=order]", "1001")
    page.fill("input[name=email]", "mali@example.com")
    page.click("button[type=submit]")
    page.wait_for_selector("#ac-return-form")
    assert "Sale scarf เป็นสินค้าลดราคาขายขาด จึงคืนไม่ได้" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "portal-items-th.png"), full_page=True)


def test_loyalty_extended_window(delivered_order, storefront, page, shop_id):
    delivered_order(days_ago=50)
    _find_order(page, storefront)
    shirt = page.locator(f"[data-item='{LINE_SHIRT}']").inner_text()
    assert "Your 30-day return window ended on" in shirt and "Silver members have 45 days." in shirt
    page.screenshot(path=str(SHOTS / "window-ended-member.png"), full_page=True)
    make_vip(shop_id)
    page.reload()
    page.wait_for_selector(f"select[name=qty_{LINE_SHIRT}]")
    assert page.inner_text("[data-tier]") == "Your loyalty tier: Gold"
    assert "Free return shipping" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "window-extended-gold.png"), full_page=True)


def test_exchange_for_another_size(delivered_order, storefront, page):
    delivered_order(days_ago=5)
    _find_order(page, storefront)
    page.select_option(f"select[name=qty_{LINE_SHIRT}]", "1")
    page.select_option(f"select[name=exchange_{LINE_SHIRT}]", str(SHIRT_L))
    page.select_option("select[name=reason]", "too_small")
    page.check("input[name=resolution][value=exchange_variant]")
    page.screenshot(path=str(SHOTS / "exchange-choice.png"), full_page=True)
    page.click("#ac-return-form button[type=submit]")
    page.wait_for_selector("[data-return-status=requested]")
    assert "Linen shirt - L" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "exchange-requested.png"), full_page=True)


def test_bad_upload_is_refused_with_a_reason(delivered_order, storefront, page):
    delivered_order(days_ago=5)
    _find_order(page, storefront)
    page.select_option(f"select[name=qty_{LINE_TOTE}]", "1")
    page.select_option("select[name=reason]", "damaged")
    page.fill("textarea[name=comment]", "The strap is torn")
    page.set_input_files(
        "input[name=photo]", files=[{"name": "strap.png", "mimeType": "image/png", "buffer": b"MZ this is a program"}]
    )
    page.click("#ac-return-form button[type=submit]")
    page.wait_for_selector("[data-error=photo]")
    assert page.inner_text("[data-error=photo]") == "That file is not a JPEG, PNG or WebP image."
    assert page.locator("select[name=reason]").input_value() == "damaged"  # the shopper's choices are kept
    page.screenshot(path=str(SHOTS / "bad-upload.png"), full_page=True)
    assert db.session.execute(select(ReturnRequest)).first() is None
