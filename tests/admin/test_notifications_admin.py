"""Notifications in the embedded admin: settings, the template editor, the delivery log and message viewer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from rq import Queue
from sqlalchemy import func, select

from app.db import utcnow
from app.demo import DEMO_SHOP_DOMAIN
from app.extensions import db
from app.jobs import job_id
from app.notifications.channels import configured_channels
from app.notifications.defaults import DEFAULT_CHANNELS, DEFAULTS, TRIGGERS
from app.notifications.models import Notification, NotificationSettings, NotificationTemplate
from app.notifications.services import channel_enabled, notification_settings
from app.orders.models import Order
from app.shopify.models import Shop
from tests.browser import CHROMIUM, CHROMIUM_ARGS, serving

# The admin layout loads Shopify's Polaris (and, outside the demo, App Bridge) from Shopify's CDN.
ADMIN_CDN_SCRIPTS = {
    "https://cdn.shopify.com/shopifycloud/polaris.js",
    "https://cdn.shopify.com/shopifycloud/app-bridge.js",
}

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - reported by the browser test
    sync_playwright = None

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "admin"
OTHER_SHOP_DOMAIN = "other-store.myshopify.com"

VALID_SETTINGS: dict[str, Any] = {
    "sender_name": "Snow Devil Shop",
    "reply_to": "help@snowdevil.example",
    "quiet_hours_start": "22",
    "quiet_hours_end": 7,
    "max_per_order_per_day": "3",
    "fallback_to_email": False,
    "triggers": {"shipped": {"sms": True, "line": False}, "delivered": {"email": False}},
}


# --- fixtures and data --------------------------------------------------------------------------------------


def _with_demo_shop(app: Flask) -> Flask:
    with app.app_context():
        db.session.add(Shop(domain=DEMO_SHOP_DOMAIN, name="Demo Store", is_installed=True))
        db.session.commit()
    return app


@pytest.fixture()
def owner(make_app) -> Flask:
    """The admin opened as the demo shop's owner (the bypass the demo and tests may use)."""
    return _with_demo_shop(make_app(demo_login=True))


@pytest.fixture()
def demo_owner(make_app) -> Flask:
    """The demo itself: AFTERCART_ENV=demo, no SMTP (email is captured), jobs run inline."""
    return _with_demo_shop(make_app(env="demo", demo_login=True, redis_url=None, smtp_url=None))


def shop_id(app: Flask, domain: str = DEMO_SHOP_DOMAIN) -> int:
    with app.app_context():
        return db.session.execute(select(Shop.id).where(Shop.domain == domain)).scalar_one()


def add_order(app: Flask, shop: int, number: int, email: str = "somchai@example.com") -> int:
    with app.app_context():
        order = Order(
            shop_id=shop,
            shopify_order_id=5_900_000_000_000 + number,
            name=f"#{number}",
            order_number=number,
            email=email,
            customer_first_name="Somchai",
            customer_locale="en",
            financial_status="paid",
            currency="THB",
            line_items=[{"title": "Cotton tee", "quantity": 2}],
            shopify_created_at=utcnow(),
        )
        db.session.add(order)
        db.session.commit()
        return order.id


def add_notification(app: Flask, shop: int, number: int, **values: Any) -> int:
    """A row in the delivery log for order #number (the order itself may or may not exist)."""
    defaults: dict[str, Any] = {
        "trigger": "shipped",
        "channel": "email",
        "recipient": "somchai@example.com",
        "locale": "en",
        "status": "sent",
        "attempts": 1,
    }
    defaults.update(values)
    with app.app_context():
        count = db.session.execute(select(func.count()).select_from(Notification)).scalar_one()
        notification = Notification(
            shop_id=shop,
            dedupe_key=f"{defaults['trigger']}:order:{number}:{defaults['channel']}:{count}",
            shopify_order_id=5_900_000_000_000 + number,
            **defaults,
        )
        db.session.add(notification)
        db.session.commit()
        return notification.id


def row_ids(html: bytes) -> list[int]:
    return [int(m) for m in re.findall(rb'data-notification="(\d+)"', html)]


def checked(html: bytes, trigger: str, channel: str) -> bool:
    tag = re.search(rb'<input type="checkbox" name="triggers\.' + f"{trigger}\\.{channel}".encode() + rb'"[^>]*>', html)
    assert tag, (trigger, channel)
    return b" checked" in tag.group(0)


# --- settings -----------------------------------------------------------------------------------------------


def test_settings_page_shows_the_default_channels(owner):
    page = owner.test_client().get("/app/notifications")
    assert page.status_code == 200
    with owner.app_context():
        available = configured_channels()
    for trigger in TRIGGERS:
        for channel in ("email", "sms", "line"):
            # A default moment is on only on a channel whose account is set up (none is, in this app).
            assert checked(page.data, trigger, channel) == (DEFAULT_CHANNELS[trigger][channel] and channel in available)
    assert b'name="quiet_hours_start"' in page.data and b'value="21"' in page.data
    # The template's language is `lang`: `locale` is the admin's own language (Shopify's parameter).
    assert b"/app/notifications/templates/shipped?channel=email&amp;lang=en" in page.data


def test_settings_are_validated_and_saved(owner):
    client = owner.test_client()
    saved = client.post("/app/api/notifications/settings", json=VALID_SETTINGS)
    assert saved.status_code == 200, saved.json
    assert saved.json["settings"]["quiet_hours_start"] == 22
    with owner.app_context():
        settings = db.session.execute(select(NotificationSettings)).scalar_one()
        assert settings.shop_id == shop_id(owner)
        assert (settings.sender_name, settings.reply_to) == ("Snow Devil Shop", "help@snowdevil.example")
        assert (settings.quiet_hours_start, settings.quiet_hours_end, settings.max_per_order_per_day) == (22, 7, 3)
        assert settings.fallback_to_email is False
        # The posted cells changed; every other cell kept its default, and the whole grid is stored.
        assert channel_enabled(settings, "shipped", "sms") and not channel_enabled(settings, "shipped", "line")
        assert not channel_enabled(settings, "delivered", "email")
        # Not chosen: the default, off while no SMS or LINE account is set up.
        assert not channel_enabled(settings, "delayed", "sms") and not channel_enabled(settings, "in_transit", "line")
        assert set(settings.triggers) == set(TRIGGERS)
    page = client.get("/app/notifications")
    assert checked(page.data, "shipped", "sms") and not checked(page.data, "delivered", "email")
    assert b'value="Snow Devil Shop"' in page.data

    # A second save updates the same row; absent fields stay as they are.
    assert client.post("/app/api/notifications/settings", json={"max_per_order_per_day": 20}).status_code == 200
    with owner.app_context():
        settings = db.session.execute(select(NotificationSettings)).scalar_one()
        assert (settings.max_per_order_per_day, settings.quiet_hours_start, settings.sender_name) == (
            20,
            22,
            "Snow Devil Shop",
        )


def test_the_message_horizon_is_shown_in_english_and_thai_and_saved(owner):
    client = owner.test_client()
    english = client.get("/app/notifications?locale=en")
    assert b'name="message_horizon_hours"' in english.data and b'value="72"' in english.data
    assert b"Never message a shopper about something that happened more than" in english.data
    thai = client.get("/app/notifications?locale=th")
    assert "ไม่ส่งข้อความถึงผู้ซื้อเกี่ยวกับเหตุการณ์ที่เกิดขึ้นนานกว่า".encode() in thai.data
    saved = client.post("/app/api/notifications/settings", json={"message_horizon_hours": "120"})
    assert saved.status_code == 200 and saved.json["settings"]["message_horizon_hours"] == 120
    with owner.app_context():
        assert db.session.execute(select(NotificationSettings.message_horizon_hours)).scalar_one() == 120
    for bad in (0, "721", True, "", 2.5):
        refused = client.post("/app/api/notifications/settings", json={"message_horizon_hours": bad})
        assert refused.status_code == 422 and set(refused.json["fields"]) == {"message_horizon_hours"}


def test_invalid_settings_name_every_bad_field_and_change_nothing(owner):
    client = owner.test_client()
    bad = {
        "sender_name": "Shop\r\nBcc: everyone@example.com",
        "reply_to": "not an address",
        "quiet_hours_start": "24",
        "quiet_hours_end": -1,
        "max_per_order_per_day": "21",
        "fallback_to_email": "yes",
        "triggers": {"shipped": {"fax": True}},
    }
    response = client.post("/app/api/notifications/settings", json=bad)
    assert response.status_code == 422
    assert set(response.json["fields"]) == set(bad)
    for field, value in (
        ("max_per_order_per_day", 0),
        ("max_per_order_per_day", True),
        ("max_per_order_per_day", 2.5),
        ("quiet_hours_start", ""),
        ("reply_to", "a@b"),
        ("sender_name", "x" * 121),
        ("triggers", {"no_such_moment": {"email": True}}),
        ("triggers", {"shipped": {"email": "on"}}),
        ("triggers", ["shipped"]),
    ):
        response = client.post("/app/api/notifications/settings", json={field: value})
        assert response.status_code == 422 and set(response.json["fields"]) == {field}, (field, value)
    assert (
        client.post("/app/api/notifications/settings", data="nope", content_type="application/json").status_code == 400
    )
    assert client.post("/app/api/notifications/settings", json=["a list"]).status_code == 400
    with owner.app_context():
        assert db.session.execute(select(NotificationSettings)).first() is None


def test_merchant_text_in_settings_is_escaped(owner):
    client = owner.test_client()
    name = '"><script>alert(1)</script>'
    assert client.post("/app/api/notifications/settings", json={"sender_name": name}).status_code == 200
    page = client.get("/app/notifications")
    assert b"<script>alert(1)</script>" not in page.data
    assert b"&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page.data


# --- templates ----------------------------------------------------------------------------------------------


def test_template_editor_starts_from_the_default_and_previews_the_real_layout(owner):
    client = owner.test_client()
    page = client.get("/app/notifications/templates/shipped?channel=email&locale=th")
    assert page.status_code == 200
    assert DEFAULTS["th"]["shipped"]["subject"].encode() in page.data  # prefilled, still a template
    assert "คำสั่งซื้อ #1001 จัดส่งแล้ว".encode() in page.data  # the preview, rendered on the sample order
    frame = re.search(rb"<iframe[^>]*>", page.data).group(0)
    assert b'sandbox=""' in frame and b'srcdoc="&lt;!doctype html&gt;' in frame
    text = client.get("/app/notifications/templates/delayed?channel=text")
    assert text.status_code == 200 and b"<iframe" not in text.data and b'id="subject"' not in text.data
    assert b"Demo Store: sorry, #1001 is running late" in text.data
    for url in (
        "/app/notifications/templates/nope",
        "/app/notifications/templates/shipped?channel=sms",
        "/app/notifications/templates/shipped?locale=fr",
    ):
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize(
    ("subject", "body", "field"),
    [
        ("Order {{ order_name }}", "Hi {{ first_name", "body"),  # does not compile
        ("Order {{ order_nmae }}", "Hi", "subject"),  # an unknown variable
        ("Order", "{{ ''.__class__.__mro__ }}", "body"),  # the sandbox refuses it
        ("   ", "Hi", "subject"),  # empty
        ("Order", "x" * 5001, "body"),  # too long
    ],
)
def test_a_broken_template_is_refused_and_nothing_is_stored(owner, subject, body, field):
    client = owner.test_client()
    payload = {"trigger": "shipped", "channel": "email", "locale": "en", "subject": subject, "body": body}
    response = client.post("/app/api/notifications/templates", json=payload)
    assert response.status_code == 422
    assert field in response.json["fields"]
    assert client.post("/app/api/notifications/templates/preview", json=payload).status_code == 422
    with owner.app_context():
        assert db.session.execute(select(NotificationTemplate)).first() is None


def test_bad_template_keys_are_refused(owner):
    client = owner.test_client()
    response = client.post(
        "/app/api/notifications/templates",
        json={"trigger": "nope", "channel": "sms", "locale": "fr", "subject": "x", "body": "y"},
    )
    assert response.status_code == 422 and set(response.json["fields"]) == {"trigger", "channel", "locale"}
    too_long = {"trigger": "shipped", "channel": "text", "locale": "en", "body": "x" * 601}
    assert client.post("/app/api/notifications/templates", json=too_long).json["fields"] == {
        "body": "at most 600 characters"
    }
    assert client.post("/app/api/notifications/templates", data="x", content_type="application/json").status_code == 400


def test_the_thai_preview_shows_the_sample_dates_in_thai(owner):
    # The sample estimate (26-28 Nov) as a Thai shopper's email shows it: Thai day and month names.
    client = owner.test_client()
    body = "{{ status_label }}: {{ estimate }}"
    thai = client.post(
        "/app/api/notifications/templates/preview",
        json={"trigger": "in_transit", "channel": "email", "locale": "th", "subject": "{{ order_name }}", "body": body},
    )
    assert thai.status_code == 200
    assert thai.json["text"].startswith("กำลังขนส่ง: พฤ. 26 – ส. 28 พ.ย.")
    assert "Nov" not in thai.json["text"] and "Nov" not in thai.json["html"]
    english = client.post(
        "/app/api/notifications/templates/preview",
        json={"trigger": "in_transit", "channel": "email", "locale": "en", "subject": "{{ order_name }}", "body": body},
    )
    assert english.json["text"].startswith("In transit: Thu 26 – Sat 28 Nov")


def test_a_saved_override_is_used_escaped_and_can_be_reset(owner):
    client = owner.test_client()
    key = {"trigger": "shipped", "channel": "email", "locale": "en"}
    override = {
        **key,
        "subject": "Parcel {{ order_name }} <b>left</b>",
        "body": "Hello {{ first_name }}!\r\n\r\nIt left <script>alert(1)</script> with {{ carrier }}.",
    }
    saved = client.post("/app/api/notifications/templates", json=override)
    assert saved.status_code == 200, saved.json
    again = client.post("/app/api/notifications/templates", json={**override, "subject": "Parcel {{ order_name }}"})
    assert again.status_code == 200 and again.json["id"] == saved.json["id"]  # an upsert, not a second row
    with owner.app_context():
        stored = db.session.execute(select(NotificationTemplate)).scalar_one()
        assert (stored.shop_id, stored.subject) == (shop_id(owner), "Parcel {{ order_name }}")
        assert stored.body == "Hello {{ first_name }}!\n\nIt left <script>alert(1)</script> with {{ carrier }}."

    preview = client.post(
        "/app/api/notifications/templates/preview", json={**override, "subject": "Parcel {{ order_name }}"}
    )
    assert preview.status_code == 200
    assert preview.json["subject"] == "Parcel #1001"
    assert preview.json["text"].startswith("Hello Somchai!\n\nIt left <script>alert(1)</script> with Kerry Express.")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview.json["html"] and "<script>" not in preview.json["html"]
    assert "Demo Store" in preview.json["html"]  # the shop's name, in the real layout

    page = client.get("/app/notifications/templates/shipped?channel=email&locale=en")
    assert b"Your template" in page.data and b"Parcel {{ order_name }}" in page.data
    assert b"<script>alert(1)</script>" not in page.data  # escaped in the textarea and (twice) in the srcdoc
    assert b"Hello Somchai!" in page.data  # the initial preview uses the override
    # The other languages and channels are untouched.
    assert b"The default" in client.get("/app/notifications/templates/shipped?channel=email&lang=th").data

    reset = client.post("/app/api/notifications/templates/reset", json=key)
    assert reset.status_code == 200 and reset.json["deleted"] is True
    assert reset.json["subject"] == DEFAULTS["en"]["shipped"]["subject"]
    assert reset.json["preview"]["subject"] == "Your order #1001 is on its way"
    with owner.app_context():
        assert db.session.execute(select(NotificationTemplate)).first() is None
    assert client.post("/app/api/notifications/templates/reset", json=key).json["deleted"] is False
    assert b"The default" in client.get("/app/notifications/templates/shipped?channel=email&locale=en").data


def test_text_template_for_sms_and_line(owner):
    client = owner.test_client()
    payload = {"trigger": "out_for_delivery", "channel": "text", "locale": "th", "body": "{{ order_name }} มาแล้ว"}
    preview = client.post("/app/api/notifications/templates/preview", json=payload)
    assert preview.status_code == 200
    assert preview.json == {"subject": None, "text": "#1001 มาแล้ว", "html": None, "length": 12}
    assert client.post("/app/api/notifications/templates", json=payload).status_code == 200
    with owner.app_context():
        stored = db.session.execute(select(NotificationTemplate)).scalar_one()
        assert (stored.channel, stored.locale, stored.subject, stored.body) == ("text", "th", None, payload["body"])


def test_the_saved_template_is_what_the_demo_sends(demo_owner):
    """End to end in the demo: the override is rendered into the captured email."""
    client = demo_owner.test_client()
    shop = shop_id(demo_owner)
    add_order(demo_owner, shop, 1001)
    original = add_notification(demo_owner, shop, 1001, trigger="order_confirmed", status="sent")
    template = {
        "trigger": "order_confirmed",
        "channel": "email",
        "locale": "en",
        "subject": "We got {{ order_name }}",
        "body": "Thanks {{ first_name }}, we are on it.",
    }
    assert client.post("/app/api/notifications/templates", json=template).status_code == 200
    resent = client.post(f"/app/api/notifications/{original}/resend")
    assert resent.status_code == 200, resent.json
    assert resent.json["status"] == "sent"  # jobs run inline in the demo; the email is captured
    with demo_owner.app_context():
        sent = db.session.get(Notification, resent.json["id"])
        assert sent.subject == "We got #1001"
        assert sent.body_text.startswith("Thanks Somchai, we are on it.")
        assert sent.provider_message_id.startswith("captured:")
    log = client.get("/app/notifications/log")
    assert b"Messages sent (demo: captured, not delivered)" in log.data
    assert b"captured in the demo log, not delivered" in log.data
    view = client.get(resent.json["url"])
    assert b"captured, not delivered" in view.data and b"We got #1001" in view.data


# --- the log, the viewer, resending --------------------------------------------------------------------------


def test_log_filters_newest_first(owner):
    client = owner.test_client()
    shop = shop_id(owner)
    order_1001 = add_order(owner, shop, 1001)
    add_order(owner, shop, 1002)
    a = add_notification(owner, shop, 1001, trigger="order_confirmed")
    b = add_notification(
        owner,
        shop,
        1001,
        channel="sms",
        recipient="+66812345678",
        status="suppressed",
        reason="no consent for sms updates",
    )
    c = add_notification(owner, shop, 1002, trigger="delayed", status="failed", reason="mailbox does not exist")
    d = add_notification(
        owner, shop, 1002, trigger="delayed", channel="line", status="deferred", reason="quiet hours",
        scheduled_for=utcnow() + timedelta(hours=3), attempts=0,
    )  # fmt: skip

    page = client.get("/app/notifications/log")
    assert page.status_code == 200
    assert row_ids(page.data) == [d, c, b, a]
    assert b"Messages sent" in page.data and b"demo: captured" not in page.data  # not the demo
    assert b"no consent for sms updates" in page.data and b"quiet hours: goes out at" in page.data
    assert f'/app/orders/{order_1001}"'.encode() in page.data

    for query, expected in (
        ("status=failed", [c]),
        ("channel=sms", [b]),
        ("trigger=delayed", [d, c]),
        ("order=1002", [d, c]),
        ("order=%231001", [b, a]),
        ("order=%231001&channel=email", [a]),
        ("trigger=delayed&status=deferred&channel=line&order=1002", [d]),
        ("order=9999", []),
        ("status=bogus&channel=fax", [d, c, b, a]),  # unknown values are ignored
    ):
        assert row_ids(client.get(f"/app/notifications/log?{query}").data) == expected, query


def test_log_is_paginated_by_fifty(owner):
    client = owner.test_client()
    shop = shop_id(owner)
    add_order(owner, shop, 1001)
    ids = [add_notification(owner, shop, 1001) for _ in range(55)]
    first = client.get("/app/notifications/log?channel=email")
    assert row_ids(first.data) == ids[::-1][:50]
    assert b'page=2&amp;channel=email"' in first.data or b'channel=email&amp;page=2"' in first.data
    second = client.get("/app/notifications/log?channel=email&page=2")
    assert row_ids(second.data) == ids[::-1][50:]
    assert b'rel="next"' not in second.data and b'rel="prev"' in second.data
    assert row_ids(client.get("/app/notifications/log?page=x").data) == ids[::-1][:50]


def test_order_messages_page(owner):
    client = owner.test_client()
    shop = shop_id(owner)
    order_1001 = add_order(owner, shop, 1001)
    add_order(owner, shop, 1002)
    mine = add_notification(owner, shop, 1001)
    add_notification(owner, shop, 1002)
    assert f"/app/orders/{order_1001}/notifications".encode() in client.get(f"/app/orders/{order_1001}").data
    page = client.get(f"/app/orders/{order_1001}/notifications")
    assert page.status_code == 200 and row_ids(page.data) == [mine]
    assert b"order #1001" in page.data


def test_view_page_shows_the_message_sandboxed(owner):
    client = owner.test_client()
    shop = shop_id(owner)
    add_order(owner, shop, 1001)
    html = '<!doctype html><html><body><p>Hi &lt;b&gt;</p><script>alert("x")</script></body></html>'
    sent = add_notification(
        owner,
        shop,
        1001,
        subject="Your order #1001 <is> on its way",
        body_text="Hi <b>Somchai</b>,\n\nYour order has shipped.",
        body_html=html,
        provider_message_id="captured:aftercart-1-1",
        sent_at=utcnow(),
    )
    page = client.get(f"/app/notifications/{sent}")
    assert page.status_code == 200
    frame = re.search(rb"<iframe[^>]*>", page.data).group(0)
    assert b'sandbox=""' in frame
    # The message as stored, its links made inert (a sandbox without allow-popups blocks target=_blank).
    assert (
        b'srcdoc="&lt;!doctype html&gt;&lt;base target=&#34;_blank&#34;&gt;&lt;html&gt;&lt;body&gt;&lt;p&gt;Hi' in frame
    )
    assert b'<script>alert("x")' not in page.data
    assert b"Your order #1001 &lt;is&gt; on its way" in page.data
    assert b"Hi &lt;b&gt;Somchai&lt;/b&gt;,\n\nYour order has shipped." in page.data
    assert b"captured, not delivered" in page.data

    suppressed = add_notification(owner, shop, 1001, channel="sms", status="suppressed", reason="sms opted out")
    page = client.get(f"/app/notifications/{suppressed}")
    assert page.status_code == 200 and b"sms opted out" in page.data and b"Not rendered" in page.data
    assert client.get("/app/notifications/999999").status_code == 404


def test_resend_creates_a_new_queued_notification(owner, redis_conn):
    client = owner.test_client()
    shop = shop_id(owner)
    add_order(owner, shop, 1001)
    original = add_notification(owner, shop, 1001, status="failed", reason="mailbox full")
    response = client.post(f"/app/api/notifications/{original}/resend")
    assert response.status_code == 200, response.json
    new_id = response.json["id"]
    assert new_id != original and response.json["status"] == "queued"
    with owner.app_context():
        new = db.session.get(Notification, new_id)
        assert (new.shop_id, new.resend_of_id, new.status, new.trigger, new.channel, new.recipient) == (
            shop,
            original,
            "queued",
            "shipped",
            "email",
            "somchai@example.com",
        )
    assert job_id("notify", new_id) in Queue("notifications", connection=redis_conn).job_ids
    second = client.post(f"/app/api/notifications/{original}/resend")
    assert second.status_code == 200 and second.json["id"] not in (original, new_id)
    view = client.get(f"/app/notifications/{original}")
    assert f'/app/notifications/{new_id}"'.encode() in view.data  # "resent as"

    orphan = add_notification(owner, shop, 4040)  # its order is gone
    assert client.post(f"/app/api/notifications/{orphan}/resend").status_code == 404
    assert client.post("/app/api/notifications/999999/resend").status_code == 404


def test_another_shops_notifications_are_not_found(owner):
    client = owner.test_client()
    with owner.app_context():
        other = Shop(domain=OTHER_SHOP_DOMAIN, name="Other", is_installed=True)
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    other_order = add_order(owner, other_id, 1001, email="someone@other.example")
    theirs = add_notification(owner, other_id, 1001, recipient="someone@other.example", subject="Their secret")
    with owner.app_context():
        db.session.add(
            NotificationTemplate(
                shop_id=other_id, trigger="shipped", channel="email", locale="en", subject="X", body="Theirs"
            )
        )
        db.session.commit()

    assert client.get(f"/app/notifications/{theirs}").status_code == 404
    resend = client.post(f"/app/api/notifications/{theirs}/resend")
    assert resend.status_code == 404
    assert client.get(f"/app/orders/{other_order}/notifications").status_code == 404
    log = client.get("/app/notifications/log")
    assert row_ids(log.data) == [] and b"someone@other.example" not in log.data
    assert b"Theirs" not in client.get("/app/notifications/templates/shipped").data
    # Resetting our template leaves theirs alone.
    client.post(
        "/app/api/notifications/templates/reset", json={"trigger": "shipped", "channel": "email", "locale": "en"}
    )
    with owner.app_context():
        assert db.session.execute(select(func.count()).select_from(Notification)).scalar_one() == 1  # no resend
        assert db.session.execute(select(NotificationTemplate.body)).scalar_one() == "Theirs"
        assert notification_settings(db.session, other_id).id is None


def test_pages_link_to_each_other(owner):
    client = owner.test_client()
    home = client.get("/app")
    assert b'href="/app/notifications"' in home.data and b'href="/app/notifications/log"' in home.data
    settings = client.get("/app/notifications")
    assert b'href="/app/notifications/log"' in settings.data


# --- in a real browser --------------------------------------------------------------------------------------


@pytest.fixture()
def served_owner(owner: Flask) -> Iterator[str]:
    with serving(owner) as url:
        yield url


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium")
def test_template_editor_in_a_browser(owner, served_owner):
    if sync_playwright is None:
        pytest.fail("Python Playwright is not installed: .venv/bin/pip install playwright==1.65.2")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shop = shop_id(owner)
    add_order(owner, shop, 1001)
    rendered = owner.test_client().post(
        "/app/api/notifications/templates/preview",
        json={"trigger": "shipped", "channel": "email", "locale": "en", **DEFAULTS["en"]["shipped"]},
    )
    click, inert = f"{served_owner}/l/c/sample-click-token", '<base target="_blank">'
    sent = add_notification(
        owner,
        shop,
        1001,
        subject=rendered.json["subject"],
        body_text=rendered.json["text"],
        body_html=rendered.json["html"].replace("https://example.com/l/c/sample", click).replace(inert, ""),
        sent_at=utcnow(),
    )
    outside: list[str] = []  # anything else leaving the machine (a message's links or images) is a failure
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1000})

            def only_loopback(route):
                url = route.request.url
                if url.startswith(served_owner) or url.startswith(("about:", "data:")):
                    route.continue_()
                elif url in ADMIN_CDN_SCRIPTS:  # the admin layout's own Shopify scripts: refused, not counted
                    route.abort()
                else:
                    outside.append(url)
                    route.abort()

            context.route("**/*", only_loopback)
            page = context.new_page()
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{served_owner}/app/notifications/templates/shipped?channel=email&locale=en")
            mail = page.frame_locator("#preview-frame").locator("body")
            expect(mail).to_contain_text("Good news: your order has shipped with Kerry Express.")

            subject = page.locator("#subject")
            subject.fill("")
            subject.press_sequentially("Parcel {{ order_name }} is coming")
            body = page.locator("#body")
            body.fill("")
            body.press_sequentially("Hi {{ first_name }}, <b>it left</b> today.")
            expect(page.locator("#preview-subject")).to_have_text("Parcel #1001 is coming")
            expect(mail).to_contain_text("Hi Somchai, <b>it left</b> today.")  # typed HTML shows as text
            expect(mail.locator("b")).to_have_count(0)

            body.press_sequentially(" {{ oops")
            expect(page.locator('[data-error-for="body"]')).to_contain_text("TemplateSyntaxError")
            expect(mail).to_contain_text("Hi Somchai, <b>it left</b> today.")  # the last good preview stays
            for _ in range(len(" {{ oops")):
                body.press("Backspace")
            expect(page.locator('[data-error-for="body"]')).to_have_text("")

            page.locator("#save").click()
            expect(page.locator("#result")).to_have_text("Saved.")
            expect(page.locator("#source-label")).to_have_text("Your template")
            page.screenshot(path=str(ARTIFACTS / "template-editor.png"), full_page=True)

            page.goto(f"{served_owner}/app/notifications")
            expect(page.locator("h1")).to_have_text("Shopper notifications")
            page.screenshot(path=str(ARTIFACTS / "notification-settings.png"), full_page=True)

            # The log and the viewer: the message as sent, its links inert, and a resend from the log.
            page.goto(f"{served_owner}/app/notifications/{sent}")
            message = page.frame_locator("iframe.mail-frame").locator("body")
            expect(message).to_contain_text("Good news: your order has shipped")
            seen_before = len(requests)
            message.get_by_text("Track your order").click()
            page.wait_for_timeout(300)
            expect(message).to_contain_text("Good news: your order has shipped")  # still the email
            assert [url for url in requests[seen_before:] if "/l/c/" in url] == []
            page.screenshot(path=str(ARTIFACTS / "message-view.png"), full_page=True)

            page.goto(f"{served_owner}/app/notifications/log")
            row = page.locator(f'tr[data-notification="{sent}"]')
            row.get_by_role("button", name="Resend").click()
            expect(row).to_contain_text("Resent as #")
            page.screenshot(path=str(ARTIFACTS / "message-log.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
    assert outside == []
    with owner.app_context():
        stored = db.session.execute(select(NotificationTemplate)).scalar_one()
        assert (stored.subject, stored.body) == (
            "Parcel {{ order_name }} is coming",
            "Hi {{ first_name }}, <b>it left</b> today.",
        )
