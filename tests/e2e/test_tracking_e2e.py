"""End to end, no canned JSON: Chromium → fake storefront (theme + app proxy) → the real app → PostgreSQL.

The split order #1001 (two shipments, jon@example.com) arrives through signed webhooks and the real job queue;
the shop's time zone is Asia/Bangkok while the browser sits in New York, so every time shown must be the
shop's. tests/e2e/storefront.py signs each proxied request exactly like Shopify and refuses (500) any
application/liquid answer that real Liquid would execute.

Needs Debian's Chromium at /usr/bin/chromium (apt-get install -y chromium) and Python Playwright; Thai glyphs
need fonts-thai-tlwg-ttf. Screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, Response, jsonify, request
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import select

from app.extensions import db
from app.i18n import format_day_range, format_moment, t
from app.jobs import QUEUES
from app.orders.models import Order
from app.shopify.models import Shop
from app.storefront.links import make_track_token
from app.tracking.models import TrackingSettings
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import SHOP
from tests.e2e.storefront import AppServer, LiquidInjection, Storefront, proxy_signature, render_liquid_response
from tests.tracking.test_timeline import T0, split_order_deliveries

try:
    from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright
except ImportError:  # pragma: no cover - reported by the browser fixture
    sync_playwright = None

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
VIEWPORT = {"width": 1280, "height": 900}
BROWSER_TZ = "America/New_York"  # not the shop's: times must still be Bangkok's

# What the seeded order looks like (tests/tracking/test_timeline.py:split_order_deliveries).
KERRY_1 = "https://th.kerryexpress.com/th/track/?track=SHP5012345678"
KERRY_2 = "https://th.kerryexpress.com/th/track/?track=SHP5012345679"
# The seeded order is recent (T0 is two days ago), so its dates are worked out here, in the shop's time zone.
BANGKOK = ZoneInfo("Asia/Bangkok")


def _business_days_after(day: date, count: int) -> date:
    while count:
        day += timedelta(days=1)
        count -= day.isoweekday() < 6  # Saturday and Sunday are not business days by default
    return day


_SECOND_SHIPPED = (T0 + timedelta(days=1, hours=8)).astimezone(BANGKOK).date()  # its first scan; TH: 1-3 days
ESTIMATE_EN = format_day_range(_business_days_after(_SECOND_SHIPPED, 1), _business_days_after(_SECOND_SHIPPED, 3), "en")
DELIVERED = (T0 + timedelta(days=2, hours=6)).astimezone(BANGKOK)  # the first parcel's "delivered" scan
DELIVERED_AT_EN = format_moment(DELIVERED, "en", BANGKOK)
PLACED = T0.astimezone(BANGKOK)

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium); CI installs it",
)


# --- servers and data ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_server(app: Flask) -> Iterator[AppServer]:
    with AppServer(app) as server:
        yield server


@pytest.fixture(scope="module")
def storefront(app_server: AppServer) -> Iterator[Storefront]:
    with Storefront(app_origin=app_server.origin, shop=SHOP) as shop:
        yield shop


@dataclass
class Seeded:
    shop_id: int
    order_id: int


def failed_jobs(redis_conn: Redis) -> list[str]:
    """Jobs that raised: in a failed registry, or waiting for a retry after a failure."""
    failures = []
    for name in QUEUES:
        queue = Queue(name, connection=redis_conn)
        ids = FailedJobRegistry(queue=queue).get_job_ids() + ScheduledJobRegistry(queue=queue).get_job_ids()
        for job in Job.fetch_many(ids, connection=redis_conn):
            # A job scheduled for a retry has already started once; one scheduled for later has not.
            if job is not None and (job.is_failed or job.started_at is not None):
                result = job.latest_result()
                last_line = ((result.exc_string if result else None) or "retrying").strip().splitlines()[-1:]
                failures.append(f"{job.func_name}: {' '.join(last_line)}")
    return failures


@pytest.fixture()
def seeded(ctx: Flask, post_webhook, run_jobs, redis_conn: Redis, storefront: Storefront) -> Iterator[Seeded]:
    for topic, payload in split_order_deliveries():
        assert post_webhook(topic, payload).status_code == 200
    run_jobs()
    assert failed_jobs(redis_conn) == [], "the webhook pipeline failed"
    shop = db.session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
    shop.iana_timezone = "Asia/Bangkok"
    shop.is_installed = True
    db.session.commit()
    order = db.session.execute(select(Order)).scalar_one()
    storefront.proxied.clear()
    storefront.liquid_errors.clear()
    yield Seeded(shop.id, order.id)
    assert storefront.liquid_errors == [], "the app sent executable Liquid"
    assert not any(r.app_set_cookie for r in storefront.proxied), "the app set a cookie behind the proxy"


def http_get(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read().decode()


# --- browser ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    if sync_playwright is None:
        pytest.fail("Python Playwright is not installed: .venv/bin/pip install playwright==1.65.2")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Session:
    context: BrowserContext
    page: Page
    allowed: list[str]
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def assert_private_and_contained(self) -> None:
        assert self.context.cookies() == [], "a cookie was set"
        assert self.blocked == [], f"requests to other origins: {self.blocked}"
        assert self.requests and all(any(u.startswith(o + "/") for o in self.allowed) for u in self.requests)
        assert self.page_errors == []
        # A 404 answer (order not found) is logged by Chrome as "Failed to load resource"; nothing else may be.
        assert [e for e in self.console_errors if not e.startswith("Failed to load resource")] == []


@pytest.fixture()
def session(browser: Browser, storefront: Storefront) -> Iterator[Session]:
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id=BROWSER_TZ)
    s = Session(context=context, page=context.new_page(), allowed=[storefront.origin])

    def guard(route: Route) -> None:
        url = route.request.url
        s.requests.append(url)
        if any(url.startswith(origin + "/") for origin in s.allowed):
            route.continue_()
        else:  # the shopper's browser talks to the storefront only
            s.blocked.append(url)
            route.abort()

    context.route("**/*", guard)
    s.page.on("console", lambda msg: s.console_errors.append(msg.text) if msg.type == "error" else None)
    s.page.on("pageerror", lambda exc: s.page_errors.append(str(exc)))
    try:
        yield s
    finally:
        context.close()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def submit_page_form(page: Page, order: str, contact: str) -> int:
    """Fill and submit the tracking page's GET form; returns the HTTP status of the page it leads to."""
    page.fill("form.ac-form input[name=order]", order)
    page.fill("form.ac-form input[name=email]", contact)
    with page.expect_navigation() as navigation:
        page.click("form.ac-form button[type=submit]")
    response = navigation.value
    assert response is not None
    return response.status


# --- the fake proxy itself: Shopify's wire format -----------------------------------------------------------


def test_proxy_signature_matches_shopifys_documented_vector() -> None:
    params = [
        ("extra", "1"),
        ("extra", "2"),
        ("shop", "shop-name.myshopify.com"),
        ("logged_in_customer_id", "1"),
        ("path_prefix", "/apps/awesome_reviews"),
        ("timestamp", "1317327555"),
    ]
    assert proxy_signature(params, "hush") == "4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"
    shopify_app_vector = [
        ("shop", "some-random-store.myshopify.com"),
        ("path_prefix", "/apps/my-app"),
        ("timestamp", "1466106083"),
    ]
    expected = "f5cd7233558b1c50102a6f33c0b63ad1e1072a2fc126cb58d4500f75223cefcd"
    assert proxy_signature(shopify_app_vector, "secret") == expected
    assert proxy_signature([*shopify_app_vector, ("evil", "1")], "secret") != expected


def test_liquid_rendering_rules() -> None:
    assert render_liquid_response("<p>hi</p>") == ("<p>hi</p>", True)
    assert render_liquid_response("{% layout none %}\n<!doctype html>") == ("\n<!doctype html>", False)
    assert render_liquid_response("<p>&#123;&#123; x &#125;&#125;</p>")[0]  # neutralised braces are fine
    for bad in ("<p>{{ customer.email }}</p>", "{% if true %}x{% endif %}", "{% layout none %}{{ shop.name }}"):
        with pytest.raises(LiquidInjection):
            render_liquid_response(bad)


def test_proxy_forwards_like_shopify_and_fails_loudly_on_executable_liquid() -> None:
    echo = Flask(__name__)

    @echo.get("/proxy/echo")
    def echo_request():
        response = jsonify(
            query=list(parse_qsl(urlsplit(request.url).query, keep_blank_values=True)), headers=dict(request.headers)
        )
        response.set_cookie("tracker", "1")
        return response

    @echo.get("/proxy/inject")
    def inject():
        return Response("<p>Hello {{ customer.email }}</p>", mimetype="application/liquid")

    @echo.get("/proxy/themed")
    def themed():
        return Response("<p>inside the theme &#123;&#123; x &#125;&#125;</p>", mimetype="application/liquid")

    with AppServer(echo) as server, Storefront(app_origin=server.origin, shop=SHOP, secret="s3cret") as shop:
        req = urllib.request.Request(
            shop.origin + "/apps/aftercart/echo?b=2&extra=1&extra=2&signature=forged&shop=evil.myshopify.com",
            headers={"Cookie": "session=abc"},
        )
        with urllib.request.urlopen(req, timeout=10) as answer:
            assert answer.headers.get("Set-Cookie") is None  # stripped on the way back
            seen = json.loads(answer.read())
        query = [tuple(pair) for pair in seen["query"]]
        keys = [k for k, _ in query]
        assert keys == ["b", "extra", "extra", "shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature"]
        values = dict(query)
        assert values["shop"] == SHOP and values["logged_in_customer_id"] == ""
        assert values["path_prefix"] == "/apps/aftercart"
        message = "b=2extra=1,2logged_in_customer_id=path_prefix=/apps/aftercart"
        message += f"shop={SHOP}timestamp={values['timestamp']}"
        assert values["signature"] == hmac.new(b"s3cret", message.encode(), hashlib.sha256).hexdigest()
        assert "Cookie" not in seen["headers"]
        assert seen["headers"]["X-Forwarded-Host"] == SHOP
        assert shop.proxied[0].app_set_cookie

        status, _, body = http_get(shop.origin + "/apps/aftercart/inject")
        assert status == 500 and "Liquid injection" in body
        assert len(shop.liquid_errors) == 1 and "{{" in shop.liquid_errors[0]

        status, headers, body = http_get(shop.origin + "/th/apps/aftercart/themed")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert '<html lang="th">' in body and 'class="site-header"' in body and "inside the theme" in body


def test_real_app_accepts_the_proxys_signature_and_refuses_unsigned_requests(
    seeded: Seeded, storefront: Storefront, app_server: AppServer
) -> None:
    # Repeated shopper params are signed joined by ",": the app's verifier (shopifyapp) must agree.
    status, headers, body = http_get(
        storefront.origin + "/apps/aftercart/api/track?order=1001&email=jon@example.com&utm=a&utm=b"
    )
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["order"]["name"] == "#1001"
    assert http_get(app_server.origin + "/proxy/api/track?order=1001&email=jon@example.com")[0] == 401
    tampered = storefront.proxied[0].app_path.replace("order=1001", "order=1002")
    assert http_get(app_server.origin + tampered)[0] == 401


# --- the tracking page (application/liquid through the proxy) -----------------------------------------------


@needs_chromium
def test_tracking_page_through_the_app_proxy(seeded: Seeded, session: Session, storefront: Storefront) -> None:
    page = session.page
    response = page.goto(storefront.origin + "/apps/aftercart/track")
    assert response is not None and response.status == 200
    # Rendered inside the theme: the storefront's header and footer around the app's markup.
    assert page.locator("main#MainContent .ac-track").count() == 1
    assert page.locator(".site-header").is_visible() and page.locator(".site-footer").is_visible()
    assert page.locator(".ac-track h1").inner_text() == "Track your order"
    assert page.locator("form.ac-form").get_attribute("action") == "/apps/aftercart/track"

    assert submit_page_form(page, "1001", "jon@example.com") == 200
    url = urlsplit(page.url)
    assert url.netloc == urlsplit(storefront.origin).netloc and url.path == "/apps/aftercart/track"
    assert dict(parse_qsl(url.query)) == {"order": "1001", "email": "jon@example.com", "locale": "en"}
    forwarded = storefront.proxied[-1]
    assert forwarded.app_path.startswith("/proxy/track?") and forwarded.content_type.startswith("application/liquid")
    assert "Cookie" not in forwarded.headers

    track = page.locator(".ac-track")
    assert track.locator("h2").first.inner_text() == "Order #1001"
    # Bangkok time, not the browser's New York
    assert f"Placed {format_moment(PLACED, 'en', BANGKOK)}" in track.inner_text()
    ships = track.locator("section[aria-label^='Shipment']")
    assert ships.count() == 2
    first, second = ships.nth(0), ships.nth(1)
    assert first.locator("h2").inner_text() == "Shipment 1 of 2"
    assert first.locator(".ac-status").inner_text() == "Delivered"
    assert f"Delivered {DELIVERED_AT_EN}" in first.inner_text()
    assert first.locator("li[aria-current='step']").inner_text() == "Delivered"
    assert second.locator(".ac-status").inner_text() == "In transit"
    assert second.locator("li[aria-current='step']").inner_text() == "In transit"
    assert second.locator(".ac-estimate").inner_text() == ESTIMATE_EN
    assert "typical delivery time" in second.inner_text()
    assert first.locator("a.ac-button").get_attribute("href") == KERRY_1
    link = second.locator("a.ac-button")
    assert link.get_attribute("href") == KERRY_2 and link.get_attribute("target") == "_blank"
    assert "noopener" in (link.get_attribute("rel") or "").split()
    assert "Track on KEX Express (Kerry Express)" in link.inner_text()
    assert "some new carrier status" in second.locator(".ac-events").inner_text()
    screenshot(page, "page-en-found")

    # A wrong lookup: the same page, the not-found message in the live region, no order shown.
    assert submit_page_form(page, "1001", "eve@example.com") == 404
    assert page.locator("[role=status][aria-live=polite]").inner_text().strip() == t("en", "track.not_found")
    assert page.locator("section[aria-label^='Shipment']").count() == 0
    assert page.locator("form.ac-form input[name=order]").input_value() == "1001"  # kept for another try
    screenshot(page, "page-en-not-found")

    # Thai, asked for with ?locale=th; the hidden locale field keeps it across the form's round trip.
    page.goto(storefront.origin + "/apps/aftercart/track?locale=th")
    assert page.locator(".ac-track").get_attribute("lang") == "th"
    assert page.locator(".ac-track h1").inner_text() == t("th", "track.title")
    assert submit_page_form(page, "#1001", "jon@example.com") == 200
    assert dict(parse_qsl(urlsplit(page.url).query))["locale"] == "th"
    ships = page.locator("section[aria-label^='พัสดุที่']")
    assert ships.count() == 2
    assert ships.nth(0).locator("h2").inner_text() == "พัสดุที่ 1 จาก 2"
    assert ships.nth(0).locator(".ac-status").inner_text() == t("th", "status.delivered")
    assert ships.nth(1).locator(".ac-status").inner_text() == t("th", "status.in_transit")
    assert t("th", "track.estimate") in ships.nth(1).inner_text()
    assert ships.nth(1).locator("a.ac-button").get_attribute("href") == KERRY_2
    screenshot(page, "page-th-found")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing may overflow sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "page-th-found-mobile")
    page.set_viewport_size(VIEWPORT)

    # The standalone variant ({% layout none %}): the app's own document, no theme chrome.
    page.goto(storefront.origin + "/apps/aftercart/track?layout=standalone")
    assert page.locator(".site-header").count() == 0 and page.locator(".ac-track h1").is_visible()
    assert page.title().startswith("Track your order")

    assert not any("/proxy/" in u for u in session.requests)  # the shopper never sees the app's own URLs
    session.assert_private_and_contained()


@needs_chromium
def test_standalone_page_form_goes_back_through_the_proxy(
    seeded: Seeded, session: Session, storefront: Storefront
) -> None:
    page = session.page
    page.goto(storefront.origin + "/apps/aftercart/track?layout=standalone")
    assert submit_page_form(page, "1001", "jon@example.com") == 200
    assert urlsplit(page.url).path == "/apps/aftercart/track"
    assert page.locator(".site-header").count() == 0
    assert page.locator("section[aria-label^='Shipment']").count() == 2


@needs_chromium
def test_page_shows_merchant_and_shopper_text_inert(seeded: Seeded, session: Session, storefront: Storefront) -> None:
    db.session.add(
        TrackingSettings(
            shop_id=seeded.shop_id,
            custom_message={"en": "Hi {{ customer.email }} <b>thanks</b>"},
            faq=[{"q": "{% if true %}Where is it?{% endif %}", "a": "On its way.", "locale": "en"}],
        )
    )
    db.session.commit()
    page = session.page
    response = page.goto(storefront.origin + "/apps/aftercart/track?order={{ shop.name }}&email=x@example.com")
    assert response is not None and response.status == 404  # looked up and not found, not a 500 from Liquid
    text = page.locator(".ac-track").inner_text()
    assert "Hi {{ customer.email }} <b>thanks</b>" in text and "{% if true %}Where is it?{% endif %}" in text
    assert page.locator("form.ac-form input[name=order]").input_value() == "{{ shop.name }}"
    session.assert_private_and_contained()


# --- the theme app extension block, talking to the real app -------------------------------------------------


@needs_chromium
def test_widget_on_the_theme_page(seeded: Seeded, session: Session, storefront: Storefront) -> None:
    page = session.page
    page.goto(storefront.origin + "/pages/track")
    page.wait_for_selector("[data-aftercart-tracking][data-ac-ready]")
    assert page.locator(".ac-heading").inner_text() == "Track your order"
    page.fill("[data-ac-order]", "#1001")
    page.fill("[data-ac-contact]", "jon@example.com")
    page.click("[data-ac-submit]")
    page.wait_for_selector(".ac-ship >> nth=1", timeout=10_000)

    forwarded = storefront.proxied[-1]
    assert forwarded.shopper_path == "/apps/aftercart/api/track" and forwarded.status == 200
    assert forwarded.app_path.startswith("/proxy/api/track?") and forwarded.content_type == "application/json"
    assert [k for k, _ in forwarded.query] == [
        "order", "email", "locale", "shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature"
    ]  # fmt: skip
    assert dict(forwarded.query)["order"] == "1001"

    result = page.locator(".aftercart-tracking [aria-live='polite']")
    assert result.locator(".ac-order__title").inner_text() == "Order #1001"
    assert result.locator(".ac-order__date").inner_text() == f"Placed on {PLACED:%b} {PLACED.day}, {PLACED.year}"
    ships = result.locator("section.ac-ship:not(.ac-ship--pending)")
    assert ships.count() == 2
    first, second = ships.nth(0), ships.nth(1)
    assert first.locator("h4").inner_text() == "Shipment #1001.501"
    assert second.locator("h4").inner_text() == "Shipment #1001.502"
    assert "Shipment 1 of 2" in first.inner_text()
    assert first.locator(".ac-status__label").inner_text() == "Delivered"
    assert second.locator(".ac-status__label").inner_text() == "In transit"
    assert first.locator(".ac-estimate").count() == 0
    assert second.locator(".ac-estimate").inner_text() == f"Estimated delivery: {ESTIMATE_EN}"
    assert first.locator("a.ac-link").get_attribute("href") == KERRY_1
    assert second.locator("a.ac-link").get_attribute("href") == KERRY_2
    assert "KEX Express (Kerry Express)" in second.locator(".ac-carrier").inner_text()
    assert "SHP5012345679" in second.locator(".ac-carrier").inner_text()
    assert second.locator("li[aria-current='step'] .ac-step__label").inner_text() == "In transit"
    delivered = first.locator("ol.ac-timeline > li").first
    assert DELIVERED_AT_EN in delivered.inner_text()  # the shop's time zone, not the browser's
    assert delivered.locator("time").get_attribute("datetime") == DELIVERED.isoformat()
    screenshot(page, "widget-en-found")

    page.fill("[data-ac-contact]", "eve@example.com")
    page.click("[data-ac-submit]")
    page.wait_for_selector(".ac-message--warn", timeout=10_000)
    assert storefront.proxied[-1].status == 404
    assert result.inner_text().strip() == t("en", "track.not_found")
    assert result.locator(".ac-ship").count() == 0
    screenshot(page, "widget-en-not-found")

    # The Thai storefront: routes.root_url is /th, the proxy answers there too, and the app answers in Thai.
    page.goto(storefront.origin + "/th/pages/track")
    page.wait_for_selector("[data-aftercart-tracking][data-ac-ready]")
    th = json.loads((Path(__file__).resolve().parents[2] / "extensions/order-tracking/locales/th.json").read_text())
    assert page.locator(".ac-heading").inner_text() == th["order_tracking"]["heading"]
    page.fill("[data-ac-order]", "1001")
    page.fill("[data-ac-contact]", "jon@example.com")
    page.click("[data-ac-submit]")
    page.wait_for_selector(".ac-ship >> nth=1", timeout=10_000)
    assert storefront.proxied[-1].shopper_path == "/th/apps/aftercart/api/track"
    assert dict(storefront.proxied[-1].query)["locale"] == "th"
    assert result.locator(".ac-order__title").inner_text() == "คำสั่งซื้อ #1001"
    assert "2569" in result.locator(".ac-order__date").inner_text()  # Buddhist era
    ships = result.locator("section.ac-ship:not(.ac-ship--pending)")
    assert ships.nth(0).locator(".ac-status__label").inner_text() == t("th", "status.delivered")
    assert ships.nth(1).locator(".ac-status__label").inner_text() == t("th", "status.in_transit")
    assert "พัสดุที่ 1 จาก 2" in ships.nth(0).inner_text()
    assert th["order_tracking"]["result"]["estimate"] in ships.nth(1).locator(".ac-estimate").inner_text()
    screenshot(page, "widget-th-found")

    page.fill("[data-ac-contact]", "eve@example.com")
    page.click("[data-ac-submit]")
    page.wait_for_selector(".ac-message--warn", timeout=10_000)
    assert result.inner_text().strip() == t("th", "track.not_found")
    screenshot(page, "widget-th-not-found")

    session.assert_private_and_contained()


# --- the signed link from notifications ---------------------------------------------------------------------


@needs_chromium
def test_signed_link_opens_the_standalone_page(seeded: Seeded, session: Session, app_server: AppServer) -> None:
    token = make_track_token(seeded.shop_id, seeded.order_id)
    session.allowed = [app_server.origin]
    page = session.page
    response = page.goto(f"{app_server.origin}/l/track/{token}")
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.title().startswith("Track your order")
    track = page.locator(".ac-track")
    assert track.locator("h2").first.inner_text() == "Order #1001"
    ships = track.locator("section[aria-label^='Shipment']")
    assert ships.count() == 2
    assert ships.nth(0).locator(".ac-status").inner_text() == "Delivered"
    assert ships.nth(1).locator(".ac-estimate").inner_text() == ESTIMATE_EN
    assert "{{" not in page.content() and "{%" not in page.content()
    screenshot(page, "link-en")

    assert page.goto(f"{app_server.origin}/l/track/{token[:-2]}xx").status == 404  # type: ignore[union-attr]
    session.assert_private_and_contained()
