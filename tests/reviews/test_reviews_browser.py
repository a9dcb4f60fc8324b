"""Reviews in a real (headless) Chromium, against the real app: the shopper's review page (rate, write, add a
photo, send) and the product page's block (stars, count, a review with its photo and the shop's public reply,
the JSON-LD it adds), in English and Thai at 1280 and 390 px, with screenshots under test-artifacts/reviews/.

The storefront is a small local server: it renders the block from the real blocks/product-reviews.liquid
(tests/extensions/liquid_harness.py), serves the real assets, and forwards /apps/aftercart/* to the app's /proxy/*
signed as Shopify's app proxy signs it. Anything else the page asks for is refused."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.reviews.demo import png
from app.reviews.models import Review
from app.reviews.services import ReviewEntry, moderate_review, reply_to_review, submit_reviews
from app.storefront.uploads import Upload
from tests.browser import CHROMIUM, CHROMIUM_ARGS, artifacts, serving
from tests.extensions.liquid_harness import Context, render_block
from tests.fakes.app_proxy import proxy_query
from tests.reviews.conftest import SHIRT_PRODUCT
from tests.reviews.helpers import sent_request

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium"),
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]
EXTENSION = Path(__file__).resolve().parents[2] / "extensions" / "product-reviews"
SIZES = {"desktop": {"width": 1280, "height": 900}, "mobile": {"width": 390, "height": 844}}
PHOTO = png(160, 120, (124, 154, 146))


def _page_html(locale: str, root: str) -> str:
    block = render_block(
        Context(
            locale=locale,
            root_url=root,
            extension=EXTENSION,
            block_file="product-reviews.liquid",
            objects={"product": {"id": SHIRT_PRODUCT, "title": "Linen shirt"}},
        )
    ).html
    return f"""<!doctype html><html lang="{locale}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Linen shirt</title>
<link rel="stylesheet" href="/assets/product-reviews.css"><script src="/assets/product-reviews.js" defer></script>
<style>body{{margin:0;font-family:"DejaVu Sans","Garuda",sans-serif}}header{{height:64px;background:#f3f3f3}}
main{{padding:24px;max-width:900px;margin:0 auto}}.product{{height:160px;background:#eef2f0}}</style></head>
<body><header></header><main><div class="product">Linen shirt · ฿890</div>{block}</main></body></html>"""


@pytest.fixture()
def storefront(fake_app) -> Iterator[str]:
    with serving(fake_app) as app_url:

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                if url.path in ("/products/linen-shirt", "/th/products/linen-shirt"):
                    locale, root = ("th", "/th") if url.path.startswith("/th/") else ("en", "/")
                    self.send(200, _page_html(locale, root).encode(), "text/html; charset=utf-8")
                elif url.path.startswith("/assets/product-reviews."):
                    asset = EXTENSION / "assets" / url.path.rsplit("/", 1)[1]
                    kind = "text/css" if asset.suffix == ".css" else "text/javascript"
                    self.send(200, asset.read_bytes(), kind)
                elif "/apps/aftercart/" in url.path:
                    rest = url.path.split("/apps/aftercart/", 1)[1]
                    target = f"{app_url}/proxy/{rest}?" + proxy_query(parse_qsl(url.query))
                    try:
                        with urllib.request.urlopen(target, timeout=10) as answer:
                            self.send(answer.status, answer.read(), answer.headers["Content-Type"])
                    except urllib.error.HTTPError as exc:
                        self.send(exc.code, exc.read(), "application/json")
                else:
                    self.send(404, b"not found", "text/plain")

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


@pytest.fixture()
def chromium():
    if sync_playwright is None:
        pytest.fail("Python Playwright is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _published_reviews() -> None:
    request, _ = sent_request()
    good, fine = submit_reviews(
        db.session,
        request,
        [
            ReviewEntry(
                SHIRT_PRODUCT,
                5,
                "Soft and breathable",
                "Perfect for Bangkok heat.",
                [Upload("a.png", "image/png", PHOTO)],
            ),
            ReviewEntry(8_003, 3, "OK tote", "Smaller than expected."),
        ],
        "en",
        "Mali S.",
    )
    moderate_review(db.session, good, "published", "owner", None)
    reply_to_review(db.session, good, "Thank you, Mali! ขอบคุณค่ะ", public=True, by="owner")
    db.session.commit()


def test_the_product_block_shows_stars_reviews_a_photo_and_a_reply(
    fake_app, delivered_order, work, storefront, chromium
):
    delivered_order(days_ago=9)
    _published_reviews()
    folder = artifacts("reviews")
    for locale, path, summary in (
        ("en", "/products/linen-shirt", "5 out of 5 · 1 reviews"),
        ("th", "/th/products/linen-shirt", "5 จาก 5 · 1 รีวิว"),
    ):
        for size, viewport in SIZES.items():
            context = chromium.new_context(viewport=viewport, locale=locale)
            blocked: list[str] = []

            def guard(route, blocked=blocked):
                if route.request.url.startswith(storefront + "/"):
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            context.route("**/*", guard)
            context.add_init_script(
                "window.__cls=0;new PerformanceObserver(l=>{for(const e of l.getEntries())"
                "if(!e.hadRecentInput)window.__cls+=e.value}).observe({type:'layout-shift',buffered:true});"
            )
            page = context.new_page()
            page.goto(storefront + path, wait_until="load")
            page.wait_for_selector(".acr-review")
            page.wait_for_function(
                "document.querySelector('.acr-photo') && document.querySelector('.acr-photo').complete"
            )
            assert summary in page.inner_text("[data-acr-summary]")
            text = page.inner_text(".acr-list")
            assert "Soft and breathable" in text and "Thank you, Mali!" in text and "OK tote" not in text
            assert page.evaluate("document.querySelector('.acr-photo').naturalWidth") == 160
            ld = json.loads(
                page.inner_text("script[type='application/ld+json']")
                or page.evaluate("document.querySelector(\"script[type='application/ld+json']\").textContent")
            )
            assert ld["@type"] == "Product" and ld["name"] == "Linen shirt"
            assert ld["aggregateRating"] == {
                "@type": "AggregateRating",
                "ratingValue": 5.0,
                "reviewCount": 1,
                "bestRating": 5,
                "worstRating": 1,
            }
            assert ld["review"][0]["reviewRating"]["ratingValue"] == 5
            page.wait_for_timeout(300)
            assert page.evaluate("window.__cls") < 0.01
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            assert context.cookies() == [] and blocked == []
            page.screenshot(path=str(folder / f"block-{locale}-{size}.png"), full_page=True)
            context.close()


def test_the_review_page_in_english_and_thai(fake_app, delivered_order, work, chromium, tmp_path):
    delivered_order(days_ago=9)
    _, path = sent_request()
    photo = tmp_path / "shirt.png"
    photo.write_bytes(PHOTO)
    folder = artifacts("reviews")
    with serving(fake_app) as app_url:
        for locale in ("en", "th"):
            for size, viewport in SIZES.items():
                context = chromium.new_context(viewport=viewport, locale=locale)
                page = context.new_page()
                page.goto(f"{app_url}{path}?locale={locale}")
                assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
                page.screenshot(path=str(folder / f"page-{locale}-{size}.png"), full_page=True)
                context.close()
        context = chromium.new_context(viewport=SIZES["mobile"], locale="th")
        page = context.new_page()
        page.goto(f"{app_url}{path}?locale=th")
        page.click(f"label[for='r{SHIRT_PRODUCT}-4']")
        page.fill(f"input[name='title_{SHIRT_PRODUCT}']", "ดีมาก")
        page.fill(f"textarea[name='body_{SHIRT_PRODUCT}']", "ผ้านุ่ม ใส่สบาย")
        page.set_input_files(f"input[name='photos_{SHIRT_PRODUCT}']", str(photo))
        page.click("button[type=submit]")
        page.wait_for_selector("[role=status]")
        assert "ขอบคุณสำหรับรีวิวของคุณ" in page.inner_text("main")
        page.screenshot(path=str(folder / "page-th-mobile-sent.png"), full_page=True)
        context.close()
    db.session.expire_all()
    review = db.session.execute(select(Review)).scalar_one()
    assert (review.rating, review.title, review.photo_count, review.locale) == (4, "ดีมาก", 1, "th")
