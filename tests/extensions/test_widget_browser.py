"""The "Order tracking" block in a real (headless) Chromium, against a fake app proxy.

A local http.server plays the storefront: it serves a small theme page containing the block's markup, rendered
from the real blocks/order-tracking.liquid (tests/extensions/liquid_harness.py), plus the real
assets/order-tracking.js and .css, and answers /apps/aftercart/api/track with canned JSON written to the
contract in the block's brief. Every answer is delayed past Chrome's 500 ms "recent input" window, so a
layout shift caused by rendering a result counts towards CLS like it would on a slow connection.

Needs Debian's Chromium (apt-get install -y chromium) and Python Playwright (pip install playwright==1.65.2);
no browser is downloaded. Screenshots go to test-artifacts/extensions/.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.extensions.liquid_harness import EXTENSION, Context, render_block

try:
    from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright
except ImportError:  # pragma: no cover - reported by the fixture below
    sync_playwright = None

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "extensions"
API_DELAY = 0.7  # seconds; longer than the 500 ms after an input during which Chrome ignores layout shifts
VIEWPORT = {"width": 1280, "height": 900}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium); CI installs it",
)

# 1x1 transparent PNG for the same-origin product image.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

# --- The fake app proxy -------------------------------------------------------------------------------------

STRINGS = {
    "en": {
        "in_transit": ("In transit", "Your parcel is on its way to the delivery area."),
        "partial": ("Partially shipped", "Part of your order is on its way; the rest will follow."),
        "attempted": ("Delivery attempted", "The carrier couldn't deliver your parcel. They will try again."),
        "confirmed": ("Confirmed", "We've received your order."),
        "steps": ["Confirmed", "Shipped", "In transit", "Out for delivery", "Delivered"],
        "event1": ("Arrived at Bangkok hub", "Bangkok, TH", "Sat 21 Nov, 08:10"),
        "event2": ("Picked up by carrier", "Chiang Mai, TH", "Fri 20 Nov, 16:45"),
        "estimate": "Thu 26 – Sat 28 Nov",
        "not_found": "We couldn't find an order with those details. Check them and try again.",
        "invalid": "Enter an order number and an email address or phone number.",
        "rate_limited": "Too many lookups. Wait a minute and try again.",
    },
    "th": {
        "in_transit": ("กำลังขนส่ง", "พัสดุของคุณกำลังเดินทางไปยังพื้นที่จัดส่ง"),
        "partial": ("จัดส่งบางส่วน", "สินค้าบางส่วนกำลังจัดส่ง ส่วนที่เหลือจะตามไป"),
        "attempted": ("พยายามจัดส่งแล้ว", "บริษัทขนส่งไม่สามารถจัดส่งพัสดุได้ และจะลองจัดส่งอีกครั้ง"),
        "confirmed": ("ยืนยันแล้ว", "เราได้รับคำสั่งซื้อของคุณแล้ว"),
        "steps": ["ยืนยันแล้ว", "จัดส่งแล้ว", "กำลังขนส่ง", "กำลังนำส่ง", "จัดส่งสำเร็จ"],
        "event1": ("ถึงศูนย์กระจายสินค้ากรุงเทพฯ", "กรุงเทพฯ, TH", "ส. 21 พ.ย. 08:10"),
        "event2": ("บริษัทขนส่งรับพัสดุแล้ว", "เชียงใหม่, TH", "ศ. 20 พ.ย. 16:45"),
        "estimate": "พฤ. 26 – ส. 28 พ.ย.",
        "not_found": "ไม่พบคำสั่งซื้อที่ตรงกับข้อมูลนี้",
        "invalid": "โปรดกรอกหมายเลขคำสั่งซื้อและอีเมลหรือเบอร์โทรศัพท์",
        "rate_limited": "ค้นหาบ่อยเกินไป โปรดรอสักครู่",
    },
}
XSS_TITLE = '<img src=x onerror="window.__xss=1">Gift card'


def _item(title: str, variant: str | None, quantity: int, image_url: str | None = None) -> dict[str, Any]:
    return {"title": title, "variant_title": variant, "quantity": quantity, "image_url": image_url}


def found_payload(locale: str) -> dict[str, Any]:
    s = STRINGS[locale]
    keys = ["confirmed", "shipped", "in_transit", "out_for_delivery", "delivered"]
    tee = _item("Cotton tee", "M / Blue", 2, "/cdn/shop/files/tee.png")
    cap = _item("Canvas cap", None, 1, "https://cdn.shopify.com/s/files/cap.png")  # other origin: not loaded
    socks = _item("Wool socks", "L", 3)
    return {
        "order": {
            "name": "#1001",
            "status": "partially_fulfilled",
            "status_label": s["partial"][0],
            "status_explanation": s["partial"][1],
            "placed_at": "2026-11-20T10:00:00+07:00",
            "items": [tee, cap, socks, _item(XSS_TITLE, None, 1)],
        },
        "steps": [{"key": k, "label": label} for k, label in zip(keys, s["steps"], strict=True)],
        "shipments": [
            {
                "name": "#1001-F1",
                "status": "in_transit",
                "status_label": s["in_transit"][0],
                "status_explanation": s["in_transit"][1],
                "step_index": 2,
                "is_problem": False,
                "carrier": {
                    "name": "Kerry Express",
                    "tracking_number": "SHP5012345678",
                    "tracking_url": "https://th.kerryexpress.com/en/track/?track=SHP5012345678",
                },
                "estimate": {"label": s["estimate"], "from": "2026-11-26", "to": "2026-11-28", "source": "learned"},
                "items": [tee, cap],
                "events": [
                    {
                        "status": "in_transit",
                        "label": s["in_transit"][0],
                        "message": s["event1"][0],
                        "location": s["event1"][1],
                        "happened_at": "2026-11-21T08:10:00+07:00",
                        "happened_at_display": s["event1"][2],
                    },
                    {
                        "status": "confirmed",
                        "label": s["confirmed"][0],
                        "message": s["event2"][0],
                        "location": s["event2"][1],
                        "happened_at": "2026-11-20T16:45:00+07:00",
                        "happened_at_display": s["event2"][2],
                    },
                ],
            },
            {
                "name": "#1001-F2",
                "status": "attempted_delivery",
                "status_label": s["attempted"][0],
                "status_explanation": s["attempted"][1],
                "step_index": 3,
                "is_problem": True,
                "carrier": {"name": "Thailand Post", "tracking_number": "EF123456789TH", "tracking_url": None},
                "estimate": None,
                "items": [_item(XSS_TITLE, None, 1)],
                "events": [],
            },
        ],
        "unfulfilled_items": [socks],
        "recommendations": [],
        "locale": locale,
    }


@dataclass
class Storefront:
    """A fake storefront on 127.0.0.1: theme pages with the block, the assets and the app proxy."""

    port: int = 0
    api_calls: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page_html(self, locale: str, root_url: str) -> str:
        block = render_block(Context(locale=locale, root_url=root_url, settings=self.settings)).html
        return f"""<!doctype html>
<html lang="{locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Track your order</title>
<link rel="stylesheet" href="/assets/order-tracking.css">
<script src="/assets/order-tracking.js" defer></script>
<style>
  body {{ margin: 0; font-family: "DejaVu Sans", "Garuda", sans-serif; font-size: 16px; }}
  .site-header {{ height: 64px; display: flex; align-items: center; padding: 0 24px; background: #f3f3f3; }}
  main {{ padding: 24px; }}
  .site-footer {{ padding: 48px 24px; min-height: 240px; background: #222; color: #fff; }}
</style>
</head>
<body>
<header class="site-header"><a href="{root_url}">Demo shop</a></header>
<main>
{block}
</main>
<footer class="site-footer" id="site-footer">Demo shop footer</footer>
</body>
</html>"""

    def api(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        locale = query.get("locale", "en") if query.get("locale") in STRINGS else "en"
        s = STRINGS[locale]
        order = query.get("order", "")
        if query.get("token") == "signed-good":
            return 200, found_payload(locale)
        if query.get("token"):
            return 404, {"error": "not_found", "message": s["not_found"]}
        if not order or not (query.get("email") or query.get("phone")):
            return 400, {"error": "invalid", "message": s["invalid"]}
        if order == "429":
            return 429, {"error": "rate_limited", "message": s["rate_limited"]}
        if order == "500":
            return 500, {"error": "server", "message": "Traceback (most recent call last): secret"}
        if order == "1001" and (query.get("email") == "jane@example.com" or query.get("phone") == "+66812345678"):
            return 200, found_payload(locale)
        return 404, {"error": "not_found", "message": s["not_found"]}


@pytest.fixture(scope="module")
def storefront() -> Iterator[Storefront]:
    shop = Storefront()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urlsplit(self.path)
            path = url.path
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if path in ("/pages/track", "/th/pages/track"):
                locale, root = ("th", "/th") if path.startswith("/th/") else ("en", "/")
                self.send(200, shop.page_html(locale, root).encode(), "text/html; charset=utf-8")
            elif path.startswith("/assets/order-tracking."):
                asset = EXTENSION / "assets" / path.rsplit("/", 1)[1]
                kind = "text/css" if asset.suffix == ".css" else "text/javascript"
                self.send(200, asset.read_bytes(), f"{kind}; charset=utf-8")
            elif path.endswith("/api/track"):
                shop.api_calls.append({"path": path, **query})
                time.sleep(API_DELAY)
                status, payload = shop.api(query)
                self.send(status, json.dumps(payload).encode(), "application/json")
            elif path == "/cdn/shop/files/tee.png":
                self.send(200, PNG, "image/png")
            else:
                self.send(404, b"not found", "text/plain")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    shop.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield shop
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- Browser plumbing ---------------------------------------------------------------------------------------

# Records every layout shift (with Chrome's hadRecentInput flag) from the first paint on.
CLS_OBSERVER = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    window.__shifts.push({
      value: e.value,
      recent: e.hadRecentInput,
      at: Math.round(e.startTime),
      sources: (e.sources || []).map((s) => s.node && (s.node.id || s.node.className) || '?'),
    });
  }
}).observe({ type: 'layout-shift', buffered: true });
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        pytest.fail("Python Playwright is not installed: .venv/bin/pip install playwright==1.65.2")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Session:
    context: BrowserContext
    page: Page
    requests: list[str]
    blocked: list[str]
    console_errors: list[str]


@pytest.fixture
def session(browser: Browser, storefront: Storefront) -> Iterator[Session]:
    storefront.api_calls.clear()
    storefront.settings = {}
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="Asia/Bangkok")
    requests: list[str] = []
    blocked: list[str] = []

    def guard(route: Route) -> None:
        url = route.request.url
        requests.append(url)
        if url.startswith(storefront.origin + "/"):
            route.continue_()
        else:  # never let the page reach anything but the storefront itself
            blocked.append(url)
            route.abort()

    context.route("**/*", guard)
    context.add_init_script(CLS_OBSERVER)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield Session(context, page, requests, blocked, errors)
    finally:
        context.close()


def open_page(s: Session, storefront: Storefront, path: str) -> None:
    s.page.goto(storefront.origin + path, wait_until="load")
    s.page.wait_for_selector("[data-aftercart-tracking][data-ac-ready]")


def cls(page: Page) -> tuple[float, list[dict[str, Any]]]:
    """Cumulative layout shift as Chrome scores it (shifts right after an input excluded), and all entries."""
    page.wait_for_timeout(300)  # let the observer deliver the last entries
    shifts = page.evaluate("window.__shifts")
    return sum(e["value"] for e in shifts if not e["recent"]), shifts


def keyboard_lookup(page: Page, order: str, contact: str) -> None:
    """Fill in and submit the form with the keyboard only, from the top of the page."""
    page.keyboard.press("Tab")  # header link
    for _ in range(10):
        if page.evaluate("document.activeElement.matches('[data-ac-order]')"):
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError("the order number field is not reachable with Tab")
    page.keyboard.type(order)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.matches('[data-ac-contact]')")
    page.keyboard.type(contact)
    page.keyboard.press("Enter")


def live_region_text(page: Page) -> str:
    return page.inner_text(".aftercart-tracking [aria-live='polite']")


def assert_private_and_same_origin(s: Session, storefront: Storefront) -> None:
    assert s.context.cookies() == [], "the block set a cookie"
    assert s.page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert s.blocked == [], f"requests to other origins: {s.blocked}"
    assert all(url.startswith(storefront.origin + "/") for url in s.requests)
    assert not s.page.evaluate("window.__xss"), "server data was rendered as HTML"


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# --- Tests --------------------------------------------------------------------------------------------------


def test_lookup_shows_both_shipments(session: Session, storefront: Storefront) -> None:
    page = session.page
    open_page(session, storefront, "/pages/track")
    assert page.get_by_label("Order number").is_visible()
    assert page.get_by_label("Email or phone number").is_visible()
    assert page.locator("[data-ac-order]").get_attribute("required") is not None
    assert page.locator("[data-ac-contact]").get_attribute("required") is not None
    screenshot(page, "en-empty")

    keyboard_lookup(page, "#1001", "jane@example.com")
    page.wait_for_selector(".ac-message--loading")
    page.wait_for_selector(".ac-ship >> nth=1", timeout=10_000)

    assert storefront.api_calls == [
        {"path": "/apps/aftercart/api/track", "order": "1001", "email": "jane@example.com", "locale": "en"}
    ]
    result = page.locator(".aftercart-tracking [aria-live='polite']")
    assert result.locator(".ac-order__title").inner_text() == "Order #1001"
    assert "Placed on Nov 20, 2026" in result.inner_text()  # "en": Intl formats en-US
    assert "Partially shipped" in result.locator(".ac-order").inner_text()

    ships = result.locator("section.ac-ship:not(.ac-ship--pending)")
    assert ships.count() == 2
    first, second = ships.nth(0), ships.nth(1)
    assert first.locator("h4").inner_text() == "Shipment #1001-F1"
    assert second.locator("h4").inner_text() == "Shipment #1001-F2"
    assert "Shipment 1 of 2" in first.inner_text()

    # Estimate, carrier, tracking link, progress and timeline of the first shipment.
    assert "Estimated delivery: Thu 26 – Sat 28 Nov" in first.locator(".ac-estimate").inner_text()
    assert "Kerry Express" in first.locator(".ac-carrier").inner_text()
    assert "SHP5012345678" in first.locator(".ac-carrier").inner_text()
    link = first.locator("a.ac-link")
    assert link.get_attribute("href") == "https://th.kerryexpress.com/en/track/?track=SHP5012345678"
    assert link.get_attribute("target") == "_blank"
    assert "noopener" in link.get_attribute("rel").split()
    assert "(opens in a new tab)" in link.text_content()
    steps = first.locator("ol.ac-steps > li")
    assert steps.count() == 5
    current = first.locator("ol.ac-steps > li[aria-current='step']")
    assert current.count() == 1 and current.locator(".ac-step__label").inner_text() == "In transit"
    assert first.locator("ol.ac-steps > li.is-done").count() == 2
    assert "Step 3 of 5: In transit" in first.locator(".ac-progress").text_content()
    timeline = first.locator("ol.ac-timeline > li")
    assert timeline.count() == 2
    assert "Arrived at Bangkok hub" in timeline.nth(0).inner_text()
    assert timeline.nth(0).locator("time").get_attribute("datetime") == "2026-11-21T08:10:00+07:00"
    assert "Cotton tee" in first.inner_text() and "M / Blue" in first.inner_text()

    # The second shipment is a problem: styled as one, no estimate, no link.
    assert "ac-ship--problem" in second.get_attribute("class")
    assert "Needs attention" in second.inner_text()
    assert second.locator(".ac-estimate").count() == 0
    assert second.locator("a").count() == 0
    assert second.locator("li[aria-current='step'] .ac-step__label").inner_text() == "Out for delivery"
    colour = second.evaluate("el => getComputedStyle(el).borderLeftColor")
    assert colour == "rgb(180, 35, 24)"

    # Items not shipped yet, and server text shown as text.
    assert "Wool socks" in result.locator(".ac-ship--pending").inner_text()
    assert XSS_TITLE in second.inner_text()
    assert result.locator("img").count() == 1  # the same-origin image only
    assert result.locator("img").get_attribute("src") == storefront.origin + "/cdn/shop/files/tee.png"

    score, shifts = cls(page)
    screenshot(page, "en-found")
    assert score < 0.01, f"CLS {score}: {shifts}"
    assert_private_and_same_origin(session, storefront)
    assert session.console_errors == []


def test_wrong_details_show_not_found_in_live_region(session: Session, storefront: Storefront) -> None:
    page = session.page
    open_page(session, storefront, "/pages/track")
    keyboard_lookup(page, "1001", "+66 99 999 9999")
    page.wait_for_selector(".ac-message--warn", timeout=10_000)

    assert storefront.api_calls[0]["phone"] == "+66 99 999 9999"
    assert "email" not in storefront.api_calls[0]
    assert live_region_text(page) == STRINGS["en"]["not_found"]
    assert (
        page.locator(".aftercart-tracking .ac-message--warn").evaluate(
            "el => el.closest('[aria-live]').getAttribute('aria-live')"
        )
        == "polite"
    )
    # The form stays usable for another try.
    assert page.locator("[data-ac-order]").input_value() == "1001"

    score, shifts = cls(page)
    screenshot(page, "en-not-found")
    assert score < 0.01, f"CLS {score}: {shifts}"
    assert_private_and_same_origin(session, storefront)


def test_errors_are_localized_and_never_leak_server_text(session: Session, storefront: Storefront) -> None:
    page = session.page
    open_page(session, storefront, "/pages/track")
    en = json.loads((EXTENSION / "locales" / "en.default.json").read_text(encoding="utf-8"))["order_tracking"]

    def lookup(order: str) -> str:
        page.fill("[data-ac-order]", order)
        page.fill("[data-ac-contact]", "jane@example.com")
        page.click("[data-ac-submit]")
        page.wait_for_selector(".ac-message:not(.ac-message--loading)", timeout=10_000)
        return live_region_text(page)

    assert lookup("429") == STRINGS["en"]["rate_limited"]
    assert lookup("500") == en["result"]["error"]  # a generic message, not the server's text
    # Required fields: the browser refuses to submit an empty form, no request is made.
    calls = len(storefront.api_calls)
    page.fill("[data-ac-order]", "")
    page.click("[data-ac-submit]")
    page.wait_for_timeout(200)
    assert len(storefront.api_calls) == calls
    assert page.evaluate("document.querySelector('[data-ac-order]').validity.valueMissing")
    assert_private_and_same_origin(session, storefront)


def test_thai_storefront(session: Session, storefront: Storefront) -> None:
    page = session.page
    open_page(session, storefront, "/th/pages/track")
    th = json.loads((EXTENSION / "locales" / "th.json").read_text(encoding="utf-8"))["order_tracking"]
    assert page.locator(".ac-heading").inner_text() == th["heading"]
    assert page.get_by_label(th["form"]["order_label"]).is_visible()
    assert page.locator("[data-ac-submit]").inner_text() == th["form"]["submit"]
    assert page.locator(".ac-placeholder").inner_text() == th["result"]["placeholder"]

    keyboard_lookup(page, "1001", "+66812345678")
    page.wait_for_selector(".ac-ship >> nth=1", timeout=10_000)
    # routes.root_url is "/th" here: the request still lands on the proxy, and asks for Thai.
    assert storefront.api_calls == [
        {"path": "/th/apps/aftercart/api/track", "order": "1001", "phone": "+66812345678", "locale": "th"}
    ]
    result = page.locator(".aftercart-tracking [aria-live='polite']")
    assert result.locator(".ac-order__title").inner_text() == "คำสั่งซื้อ #1001"
    assert "2569" in result.locator(".ac-order__date").inner_text()  # Thai dates use the Buddhist era
    first = result.locator("section.ac-ship").nth(0)
    assert first.locator("h4").inner_text() == "พัสดุ #1001-F1"
    assert "พัสดุที่ 1 จาก 2" in first.inner_text()
    assert f"{th['result']['estimate']}: {STRINGS['th']['estimate']}" in first.locator(".ac-estimate").inner_text()
    assert "กำลังขนส่ง" in first.locator("li[aria-current='step']").inner_text()
    assert th["result"]["history"] in first.inner_text()
    assert th["result"]["needs_attention"] in result.locator("section.ac-ship").nth(1).inner_text()

    score, shifts = cls(page)
    screenshot(page, "th-found")
    assert score < 0.01, f"CLS {score}: {shifts}"
    assert_private_and_same_origin(session, storefront)

    page.fill("[data-ac-order]", "9999")
    page.click("[data-ac-submit]")
    page.wait_for_selector(".ac-message--warn", timeout=10_000)
    assert live_region_text(page) == STRINGS["th"]["not_found"]
    screenshot(page, "th-not-found")


def test_signed_link_loads_without_input_or_layout_shift(session: Session, storefront: Storefront) -> None:
    page = session.page
    open_page(session, storefront, "/pages/track?token=signed-good")
    page.wait_for_selector(".ac-ship >> nth=1", timeout=10_000)
    assert storefront.api_calls == [{"path": "/apps/aftercart/api/track", "token": "signed-good", "locale": "en"}]
    assert page.locator(".ac-order__title").inner_text() == "Order #1001"
    # No input happened, so every shift would count: there must be none.
    score, shifts = cls(page)
    screenshot(page, "en-signed-link")
    assert score < 0.01, f"CLS {score}: {shifts}"
    assert all(not e["recent"] for e in shifts)
    assert_private_and_same_origin(session, storefront)


def test_proxy_path_setting_is_used(session: Session, storefront: Storefront) -> None:
    storefront.settings = {"proxy_path": "/tools/track-it/"}
    page = session.page
    open_page(session, storefront, "/pages/track")
    page.fill("[data-ac-order]", "1001")
    page.fill("[data-ac-contact]", "jane@example.com")
    page.click("[data-ac-submit]")
    page.wait_for_selector(".ac-ship >> nth=1", timeout=10_000)
    assert storefront.api_calls[0]["path"] == "/tools/track-it/api/track"
    assert_private_and_same_origin(session, storefront)


def test_layout_shift_measurement_works(session: Session, storefront: Storefront) -> None:
    """The CLS assertions above mean something: a shift this page causes itself is seen and scored."""
    page = session.page
    open_page(session, storefront, "/pages/track")
    page.evaluate(
        """() => new Promise((done) => setTimeout(() => {
             const banner = document.createElement('div');
             banner.style.height = '120px';
             document.body.prepend(banner);
             setTimeout(done, 100);
           }, 50))"""
    )
    score, _ = cls(page)
    assert score > 0.05


def test_small_screen_fits_without_shift(session: Session, storefront: Storefront) -> None:
    page = session.page
    page.set_viewport_size({"width": 390, "height": 844})
    open_page(session, storefront, "/pages/track")
    keyboard_lookup(page, "1001", "jane@example.com")
    page.wait_for_selector(".ac-ship >> nth=1", timeout=10_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the block overflows sideways"
    score, shifts = cls(page)
    screenshot(page, "en-found-mobile")
    assert score < 0.01, f"CLS {score}: {shifts}"
