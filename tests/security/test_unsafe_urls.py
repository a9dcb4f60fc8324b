"""Unsafe URLs: whatever a webhook or a merchant sends, only http(s) addresses reach an href or src on a
shopper's page, in a message or in the widget's JSON. Checked where URLs enter (app/validation.py), and again
where they are written out (the `http_url` filter), for rows stored before the check existed."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.demo import DEMO_SHOP_DOMAIN
from app.extensions import db
from app.notifications.rendering import SAMPLE_CONTEXT, render_message
from app.orders.models import Fulfillment, Order
from app.shopify.models import Shop
from app.storefront.links import make_track_token
from app.tracking.models import TrackingSettings
from app.validation import web_url
from tests.conftest import SHOP
from tests.fakes.app_proxy import proxy_query
from tests.tracking.test_timeline import T0, fulfillment_payload, order_payload

UNSAFE = [
    "javascript:alert(document.domain)//",
    " JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",  # browsers drop tabs and newlines inside a URL
    "java\nscript:alert(1)",
    "\x01javascript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example/track",  # protocol-relative: not absolute
    "/track?x=1",
    "https:///no-host",
    "https://exa mple.com/",
    "http://evil.example\\@good.example/",
    "https://evil.example:port/",
]


@pytest.mark.parametrize("value", UNSAFE)
def test_web_url_accepts_only_absolute_http_addresses_with_a_host(value):
    assert web_url(value) is None


@pytest.mark.parametrize("ch", [chr(c) for c in range(0x80)] + ["\u00a0", "\u2028", "\u200b", "\u202e", "\ufeff"])
def test_web_url_refuses_whitespace_and_control_characters_anywhere(ch):
    unsafe = ch.isspace() or unicodedata.category(ch).startswith("C") or ch == "\\"  # a backslash: see UNSAFE
    for value in (f"https://shop.example/a{ch}b", f"https://shop.example/ก{ch}b"):
        assert (web_url(value) is None) == unsafe, (hex(ord(ch)), value)


def test_web_url_keeps_ordinary_carrier_pages():
    for value in (
        "https://th.kerryexpress.com/th/track/?track=SHP5012345678",
        "http://tracking.example.com/a?b=c#d",
        "HTTPS://Example.COM/x",
    ):
        assert web_url(value) == value
    assert web_url("http://tracking.example.com/", https_only=True) is None


def _pages(client, shop_id: int, order_id: int) -> dict[str, str]:
    query = proxy_query([("order", "1001"), ("email", "jon@example.com")])
    pages = {
        "/proxy/track": client.get("/proxy/track?" + query),
        "/l/track/<token>": client.get(f"/l/track/{make_track_token(shop_id, order_id)}"),
        "/proxy/api/track": client.get("/proxy/api/track?" + query),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
    return {name: response.get_data(as_text=True) for name, response in pages.items()}


@pytest.fixture()
def shop_and_order(ctx, post_webhook, run_jobs):
    def deliver(*fulfillments: dict) -> tuple[int, int]:
        post_webhook("orders/create", order_payload(T0))
        for payload in fulfillments:
            post_webhook("fulfillments/create", payload)
        run_jobs()
        shop = db.session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        shop.is_installed = True
        db.session.commit()
        order_id = db.session.execute(select(Order.id).where(Order.shop_id == shop.id)).scalar_one()
        return shop.id, order_id

    return deliver


@pytest.mark.parametrize("url", UNSAFE[:7])
def test_a_fulfilment_with_a_script_url_and_no_number_puts_no_link_on_any_page(client, shop_and_order, url):
    # The case: no tracking number, so no carrier page of ours; only the fulfilment's own URL.
    payload = fulfillment_payload(501, [(11, 2)], T0 + timedelta(hours=2), T0 + timedelta(hours=2), "")
    payload.update(tracking_number=None, tracking_numbers=[], tracking_urls=[url], tracking_url=url)
    shop_id, order_id = shop_and_order(payload)

    fulfillment = db.session.execute(select(Fulfillment)).scalar_one()
    assert fulfillment.tracking_url is None and fulfillment.tracking_urls == []
    for name, body in _pages(client, shop_id, order_id).items():
        assert "script:" not in body.lower() and "data:text" not in body, name
        assert "Track on" not in body, name


def test_a_safe_url_after_an_unsafe_one_is_the_one_used(client, shop_and_order):
    payload = fulfillment_payload(501, [(11, 2)], T0 + timedelta(hours=2), T0 + timedelta(hours=2), "")
    payload.update(
        tracking_number=None,
        tracking_numbers=[],
        tracking_urls=["javascript:alert(1)", "https://track.example.com/p?n=1"],
    )
    shop_id, order_id = shop_and_order(payload)
    assert db.session.execute(select(Fulfillment.tracking_url)).scalar_one() == "https://track.example.com/p?n=1"
    widget = client.get("/proxy/api/track?" + proxy_query([("order", "1001"), ("email", "jon@example.com")])).json
    assert widget["shipments"][0]["carrier"]["tracking_url"] == "https://track.example.com/p?n=1"


def test_rows_stored_before_the_check_are_not_written_into_a_page(client, shop_and_order):
    shop_id, order_id = shop_and_order(
        fulfillment_payload(501, [(11, 2)], T0 + timedelta(hours=2), T0 + timedelta(hours=2), "")
    )
    # What an older version stored: the URL as the webhook sent it, and merchant settings unchecked.
    db.session.execute(update(Fulfillment).values(tracking_url="javascript:alert(document.domain)//"))
    db.session.add(
        TrackingSettings(
            shop_id=shop_id, contact_url="javascript:alert('contact')", logo_url="javascript:alert('logo')"
        )
    )
    db.session.commit()
    for name, body in _pages(client, shop_id, order_id).items():
        assert "javascript:" not in body, name


def test_an_email_writes_no_unsafe_logo_or_link(ctx):
    branding = {"accent": "#2563eb", "logo_url": "javascript:alert('logo')"}
    context = {**SAMPLE_CONTEXT, "tracking_url": "javascript:alert('track')"}
    rendered = render_message("shipped", "email", "en", context, None, branding, "javascript:alert('unsub')")
    assert "javascript:" not in (rendered.html or "")


@pytest.mark.parametrize(
    "field, value",
    [
        ("contact_url", "javascript:alert(1)"),
        ("contact_url", "https://"),
        ("contact_url", "https:///contact"),
        ("contact_url", "https://help.example.com/a b"),
        ("logo_url", "https://cdn.example.com/lo\ngo.png"),
        ("logo_url", "https://cdn.example.com/lo\x00go.png"),
        ("logo_url", "https://:443/logo.png"),
    ],
)
def test_a_settings_url_that_is_not_https_is_refused_with_a_reason(make_app, field, value):
    app = make_app(demo_login=True)
    with app.app_context():
        db.session.add(Shop(domain=DEMO_SHOP_DOMAIN, is_installed=True))
        db.session.commit()
    client = app.test_client()
    assert client.post("/app/api/settings", json={"contact_url": "https://help.example.com"}).status_code == 200
    response = client.post("/app/api/settings", json={field: value, "accent_color": "#123456"})
    assert response.status_code == 422
    assert set(response.json["fields"]) == {field}
    with app.app_context():
        settings = db.session.execute(select(TrackingSettings)).scalar_one()
        # Nothing of a refused save is kept; what the shop had stays.
        assert settings.contact_url == "https://help.example.com" and settings.logo_url is None
        assert settings.accent_color != "#123456"
