"""The admin's look and languages, on the demo as a merchant opens it: every admin page in English and Thai, on a
wide and a phone screen, readable without Shopify's CDN (the local stylesheet), no sideways scrolling at 390 px,
codes shown as words, dates in the shop's time zone and language."""

from __future__ import annotations

import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.config import Settings
from app.extensions import db
from app.i18n import format_moment
from app.notifications.models import Notification
from app.orders.models import Order
from app.returns.models import ReturnRequest
from tests.browser import CHROMIUM, CHROMIUM_ARGS, artifacts, needs_chromium, serving

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test says what to install
    sync_playwright = None  # type: ignore[assignment]

THAI = re.compile(r"[\u0e00-\u0e7f]")
THAI_MONTH = re.compile(r"(ม\.ค\.|ก\.พ\.|มี\.ค\.|เม\.ย\.|พ\.ค\.|มิ\.ย\.|ก\.ค\.|ส\.ค\.|ก\.ย\.|ต\.ค\.|พ\.ย\.|ธ\.ค\.)")
CDN = "https://cdn.shopify.com/"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Flask]:
    """The demo app itself (SQLite, seeded through the real intake), opened as its owner like `make demo`."""
    folder = tmp_path_factory.mktemp("admin-demo")
    settings = Settings.from_env({"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{folder / 'demo.db'}"})
    app = create_app(settings)
    with app.app_context():
        from app.demo import setup_demo

        setup_demo()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def admin_pages(app: Flask) -> dict[str, str]:
    """Every admin page, with a real row for the pages about one thing."""
    with app.app_context():
        order_id = db.session.execute(select(Order.id).order_by(Order.id)).scalars().first()
        return_id = db.session.execute(select(ReturnRequest.id).order_by(ReturnRequest.id)).scalars().first()
        message_id = db.session.execute(select(Notification.id).order_by(Notification.id)).scalars().first()
        # An order with a returned parcel: scans, an alert, messages and a return all on one page.
        busy_order_id = (
            db.session.execute(
                select(Order.id).join(ReturnRequest, ReturnRequest.shopify_order_id == Order.shopify_order_id)
            )
            .scalars()
            .first()
        )
    assert order_id and return_id and message_id, "the demo seeds orders, returns and messages"
    return {
        "home": "/app",
        "order": f"/app/orders/{order_id}",
        "order-360": f"/app/orders/{busy_order_id}",
        "tracking-settings": "/app/settings",
        "notifications": "/app/notifications",
        "template": "/app/notifications/templates/shipped?channel=email&lang=en",
        "messages": "/app/notifications/log",
        "order-messages": f"/app/orders/{order_id}/notifications",
        "message": f"/app/notifications/{message_id}",
        "recommendations": "/app/recommendations",
        "returns": "/app/returns",
        "return": f"/app/returns/{return_id}",
        "return-rules": "/app/returns/policy",
        "orders": "/app/orders",
        "orders-filtered": "/app/orders?status=delivered&q=a",
        "attention": "/app/attention",
        "alert-settings": "/app/alerts/settings",
        "helpdesk": "/app/helpdesk",
        "integrations": "/app/integrations",
        "inserts": "/app/inserts",
        "surveys": "/app/surveys",
        "thank-you": "/app/thank-you",
        "reviews": "/app/reviews",
        "content": "/app/content",
        "reviews-filtered": "/app/reviews?photos=1&unreplied=0&rating=5",
        "analytics": "/app/analytics?days=90",
        "flows": "/app/flows",
        "flow": "/app/flows/post_delivery",
    }


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_thai_admin_shows_thai_words_and_dates_in_the_shops_time_zone(demo):
    client = demo.test_client()
    page = client.get("/app/returns?locale=th-TH")  # as Shopify passes it
    assert page.status_code == 200 and '<html lang="th">' in page.text
    text = visible_text(page.text)
    assert "การคืนสินค้า" in text and "สถานะ" in text  # the heading and a column
    with demo.app_context():
        first = db.session.execute(select(ReturnRequest).order_by(ReturnRequest.id)).scalars().first()
        expected = format_moment(first.requested_at, "th", ZoneInfo("Asia/Bangkok"))
    assert THAI_MONTH.search(expected) and expected in text  # Thai month, Bangkok time
    assert "UTC" not in text
    # The language rides along on every admin link, so the next page is Thai too.
    assert 'href="/app/returns/policy?locale=th"' in page.text
    assert "กฎการคืนสินค้า" in visible_text(client.get("/app/returns/policy?locale=th").text)
    english = visible_text(client.get("/app/returns?locale=en").text)
    assert "Returns" in english and not THAI.search(english.replace("ไทย", ""))


@pytest.mark.parametrize("locale", ["en", "th"])
def test_no_raw_codes_on_the_admin_pages(demo, locale):
    client = demo.test_client()
    returns = visible_text(client.get(f"/app/returns?locale={locale}").text)
    for code in ("awaiting_shipment", "store_credit", "requested", "in_transit", "exchange_variant"):
        assert code not in returns, code
    settings = visible_text(client.get(f"/app/notifications?locale={locale}").text)
    for code in ("return_declined", "order_confirmed", "out_for_delivery"):
        assert code not in settings, code
    log = visible_text(client.get(f"/app/notifications/log?locale={locale}").text)
    for code in ("suppressed", "deferred", "queued"):
        assert not re.search(rf"\b{code}\b", log), code


@needs_chromium
@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["en", "th"])
def test_every_admin_page_looks_right_without_the_cdn(demo, locale, width):
    if sync_playwright is None:
        pytest.fail("Python Playwright is not installed: .venv/bin/pip install playwright")
    folder = artifacts("admin-look")
    pages = admin_pages(demo)
    with serving(demo) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": 900})
            # The test machine has no internet: Shopify's CDN is refused, as it would be offline.
            context.route(
                "**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort()
            )
            page = context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

            def on_console(message) -> None:
                # A form with a problem is answered 422 on purpose; Chromium logs every 4xx answer as an error.
                if "status of 422" in message.text:
                    return
                if message.type == "error" and not (message.location or {}).get("url", "").startswith(CDN):
                    problems.append(f"console: {message.text} at {message.location}")

            page.on("console", on_console)

            def looks_right(name: str) -> None:
                # The local stylesheet drew the Polaris markup: sections are cards, not inline text.
                assert page.evaluate("getComputedStyle(document.querySelector('s-section')).display") == "block", name
                assert page.evaluate("getComputedStyle(document.querySelector('s-page')).display") == "block", name
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{name} at {width}px scrolls sideways by {overflow}px"
                assert page.evaluate("document.documentElement.lang") == locale, name
                headings = page.locator("s-page h1, s-page h2").all_inner_texts()
                if locale == "th":
                    assert any(THAI.search(h) for h in headings), (name, headings)
                else:
                    assert not any(THAI.search(h) for h in headings), (name, headings)
                page.screenshot(path=str(folder / f"{name}-{locale}-{width}.png"), full_page=True)

            for name, path in pages.items():
                url = f"{base}{path}{'&' if '?' in path else '?'}locale={locale}"
                response = page.goto(url)
                assert response is not None and response.status == 200, (name, response and response.status)
                page.wait_for_load_state("load")
                looks_right(name)
            # The forms with a problem shown beside its field, and the product picker's search results.
            page.goto(f"{base}/app/returns/policy?locale={locale}")
            page.fill("input[name='window_days']", "forever")
            with page.expect_navigation():
                page.click("#save-policy")
            assert page.inner_text("#err-window_days").strip(), "the policy's error is beside its field"
            looks_right("return-rules-errors")
            page.goto(f"{base}/app/settings?locale={locale}")
            page.fill("input[name='contact_url']", "javascript:alert(1)")
            page.click("#settings button[type='submit']")
            page.wait_for_selector("[data-error='contact_url']:not(:empty)")
            looks_right("tracking-settings-errors")
            page.goto(f"{base}/app/recommendations?locale={locale}")
            picker = page.locator("[data-picker='pins_tracking_page']")
            picker.locator("[data-search]").fill("linen")
            picker.locator("[data-search-go]").click()
            picker.locator("[data-results] li").first.wait_for()
            looks_right("recommendations-search")
            assert problems == []
        finally:
            browser.close()
