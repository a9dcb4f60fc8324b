"""Recommendation cards in headless Chromium: the theme block and the proxied tracking page, real app behind.

Chromium → fake storefront (theme page + app proxy signing like Shopify, tests/e2e/storefront.py) → the real
app → PostgreSQL. Every request must stay on the storefront's origin (images through /cdn/shop/), no cookie
is set, and each card's image box has its size before any image arrives (no layout shift).
"""

from __future__ import annotations

import pytest

from tests.e2e.test_tracking_e2e import app_server, browser, needs_chromium, screenshot, session, storefront
from tests.recommendations.conftest import JON_EMAIL, jon_orders

__all__ = ["app_server", "browser", "session", "storefront"]

pytestmark = needs_chromium


def test_widget_shows_cards_on_the_shops_origin_without_layout_shift(shop_with_history, deliver, session, storefront):
    jon_orders(deliver)
    page = session.page
    page.goto(storefront.origin + "/pages/track")
    page.wait_for_selector("[data-aftercart-tracking][data-ac-ready]")
    page.evaluate(
        """() => { window.__shift = 0; new PerformanceObserver((list) => { for (const e of list.getEntries())
        if (!e.hadRecentInput) window.__shift += e.value; }).observe({type: 'layout-shift', buffered: true}); }"""
    )
    page.fill("[data-ac-order]", "#1002")
    page.fill("[data-ac-contact]", JON_EMAIL)
    page.click("[data-ac-submit]")
    page.wait_for_selector(".ac-recs li", timeout=10_000)
    cards = page.locator(".ac-recs li")
    assert cards.count() >= 3
    assert page.locator(".ac-recs h4").inner_text() == "You may also like"
    titles = [cards.nth(i).locator("span").inner_text() for i in range(cards.count())]
    assert "Rain Jacket" in titles and "Cotton Tee" not in titles
    link = cards.nth(0).locator("a").get_attribute("href")
    assert link.startswith("https://aftercart.test/l/r/")
    image = cards.nth(0).locator("img")
    assert image.get_attribute("src").startswith(storefront.origin + "/cdn/shop/files/")
    box = cards.nth(0).locator("i").bounding_box()  # sized by aspect-ratio, whether or not the image loads
    assert box["height"] > 100 and abs(box["height"] - box["width"]) < 2
    screenshot(page, "recommendations-widget")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__shift") < 0.01
    session.assert_private_and_contained()


def test_proxied_tracking_page_shows_cards_in_thai(shop_with_history, deliver, session, storefront):
    jon_orders(deliver)
    page = session.page
    page.goto(storefront.origin + f"/apps/aftercart/track?order=1002&email={JON_EMAIL}&locale=th")
    page.wait_for_selector("section.ac-recs li")
    assert page.locator("section.ac-recs h2").inner_text() == "สินค้าที่คุณอาจชอบ"
    assert "฿" in page.locator("section.ac-recs").inner_text()
    src = page.locator("section.ac-recs img").first.get_attribute("src")
    assert src.startswith("/cdn/shop/files/")
    screenshot(page, "recommendations-tracking-page-th")
    session.assert_private_and_contained()


@pytest.fixture(autouse=True)
def _fresh_proxy_log(storefront):
    storefront.proxied.clear()
    yield
