"""A parcel problem reaches the merchant: the attention queue, an email through a real SMTP server and a signed
webhook to a local receiver, once; a digest once a day; the shopper is told "the shop has been told" only then."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.alerts.models import AlertSettings, MerchantAlert
from app.alerts.services import send_digests
from app.db import utcnow
from app.extensions import db
from app.shopify.models import Shop
from app.shopify.tokens import decrypt_token
from app.storefront.links import make_track_token
from tests.conftest import SHOP
from tests.tracking.test_timeline import event_payload, fulfillment_payload, order_payload

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _shop(app, **changes) -> Shop:
    with app.app_context():
        shop = db.session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        shop.iana_timezone = "Asia/Bangkok"
        for key, value in changes.items():
            setattr(shop, key, value)
        db.session.commit()
        db.session.expunge(shop)
        return shop


def _shop_id(app) -> int:
    with app.app_context():
        shop_id = db.session.execute(select(Shop.id).where(Shop.domain == SHOP)).scalar()
        if shop_id is None:
            shop = Shop(domain=SHOP, is_installed=True)
            db.session.add(shop)
            db.session.commit()
            shop_id = shop.id
        return shop_id


def _settings(app, **values) -> None:
    shop_id = _shop_id(app)
    with app.app_context():
        settings = AlertSettings(shop_id=shop_id, **{"mode": "instant", "locale": "en", **values})
        if values.get("webhook_url"):
            from app.alerts.services import new_webhook_secret

            new_webhook_secret(settings)
        db.session.add(settings)
        db.session.commit()


def _secret(app) -> str:
    with app.app_context():
        return decrypt_token(db.session.execute(select(AlertSettings.webhook_secret_encrypted)).scalar_one())


def _alerts(app) -> list[MerchantAlert]:
    with app.app_context():
        rows = db.session.execute(select(MerchantAlert).order_by(MerchantAlert.id)).scalars().all()
        db.session.expunge_all()
        return rows


@pytest.fixture()
def deliver(alert_app, post_webhook):
    client = alert_app.test_client()

    def send(topic, payload):
        assert post_webhook(topic, payload, via=client).status_code == 200

    return send


def _order_with_a_failed_parcel(deliver, start) -> None:
    deliver("orders/create", order_payload(start))
    deliver("fulfillments/create", fulfillment_payload(501, [(11, 2)], start, start, "SHP5012345678"))
    deliver("fulfillment_events/create", event_payload(1, 501, "in_transit", start + timedelta(hours=2)))
    deliver("fulfillment_events/create", event_payload(2, 501, "failure", start + timedelta(hours=20)))


def _tracking_page(app) -> str:
    with app.app_context():
        shop_id = db.session.execute(select(Shop.id).where(Shop.domain == SHOP)).scalar_one()
        from app.orders.models import Order

        order_id = db.session.execute(select(Order.id)).scalar_one()
        token = make_track_token(shop_id, order_id)
    return app.test_client().get(f"/l/track/{token}").get_data(as_text=True)


def test_a_carrier_problem_is_queued_emailed_and_posted_signed_once(alert_app, deliver, work, smtp, receiver):
    _settings(alert_app, notify_to="owner@shop.example", webhook_url=receiver.url + "/hook")
    start = utcnow() - timedelta(days=1)
    _order_with_a_failed_parcel(deliver, start)
    work()
    deliver("fulfillment_events/create", event_payload(2, 501, "failure", start + timedelta(hours=20)))  # again
    work()

    (alert,) = _alerts(alert_app)
    assert alert.kind == "exception" and alert.emailed_at and alert.webhook_sent_at
    assert alert.detail["order_name"] == "#1001" and alert.detail["tracking_number"] == "SHP5012345678"
    alert_mail = [m for m in smtp.mailbox.messages if m["To"] == "owner@shop.example"]
    assert len(alert_mail) == 1
    assert alert_mail[0]["Subject"] == (
        "Needs attention: Carrier reported a problem · #1001 · KEX Express (Kerry Express) SHP5012345678"
    )
    assert "/app/attention" in alert_mail[0].get_content()
    (request,) = receiver.requests
    headers, body = request
    expected = hmac.new(
        _secret(alert_app).encode(), headers["x-aftercart-timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["x-aftercart-signature"] == "sha256=" + expected
    assert abs(int(headers["x-aftercart-timestamp"]) - datetime.now(UTC).timestamp()) < 60
    assert receiver.payloads()[0]["alerts"][0]["kind"] == "exception"


def test_the_shopper_hears_the_shop_was_told_only_when_it_was(alert_app, deliver, work, smtp, receiver):
    start = utcnow() - timedelta(days=1)
    _order_with_a_failed_parcel(deliver, start)
    work()
    assert _alerts(alert_app)[0].emailed_at is None  # no way to tell the shop was set up
    page = _tracking_page(alert_app)
    assert "The shop has been told" not in page and "Contact the shop if you need help" in page

    _settings(alert_app, notify_to="owner@shop.example")
    deliver("fulfillment_events/create", event_payload(3, 501, "in_transit", start + timedelta(hours=21)))
    deliver("fulfillment_events/create", event_payload(4, 501, "failure", start + timedelta(hours=22)))
    work()
    assert "The shop has been told" not in _tracking_page(alert_app)  # a second failure after "in transit"...
    assert [a.kind for a in _alerts(alert_app)] == ["exception"]  # ...is the same status change, recorded once


def test_the_shopper_page_says_told_after_the_email_went(alert_app, deliver, work, smtp):
    _settings(alert_app, notify_to="owner@shop.example")
    _order_with_a_failed_parcel(deliver, utcnow() - timedelta(days=1))
    work()
    assert "The shop has been told" in _tracking_page(alert_app)


def test_an_unreachable_webhook_is_retried_and_the_email_is_not_sent_twice(
    alert_app, deliver, work, smtp, receiver, redis_conn
):
    from tests.notifications.conftest import release_scheduled_jobs

    _settings(alert_app, notify_to="owner@shop.example", webhook_url=receiver.url + "/hook")
    receiver.status = 503
    _order_with_a_failed_parcel(deliver, utcnow() - timedelta(days=1))
    work()
    (alert,) = _alerts(alert_app)
    assert alert.emailed_at and alert.webhook_sent_at is None
    receiver.status = 200
    release_scheduled_jobs(redis_conn)
    work()
    (alert,) = _alerts(alert_app)
    assert alert.webhook_sent_at is not None
    assert len(receiver.requests) == 2
    assert len([m for m in smtp.mailbox.messages if m["To"] == "owner@shop.example"]) == 1


def test_the_attention_queue_lists_problems_and_keeps_who_handled_them(alert_app, deliver, work, smtp):
    shop_app = alert_app
    _order_with_a_failed_parcel(deliver, utcnow() - timedelta(days=1))
    work()
    (alert,) = _alerts(shop_app)
    _shop(shop_app)
    from tests.fakes.shopify import make_id_token

    token = make_id_token(SHOP)
    client = shop_app.test_client()
    page = client.get(f"/app/attention?shop={SHOP}&id_token={token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Carrier reported a problem" in html and "#1001" in html
    assert "Not told yet" in html
    thai = client.get(f"/app/attention?shop={SHOP}&id_token={token}&locale=th").get_data(as_text=True)
    assert "ต้องดูแล" in thai and "ขนส่งแจ้งปัญหา" in thai

    done = client.post(
        f"/app/attention/{alert.id}/handled",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert done.status_code == 200 and done.json["handled_by"]
    (alert,) = _alerts(shop_app)
    assert alert.handled_at and alert.handled_by == done.json["handled_by"]
    html = client.get(f"/app/attention?shop={SHOP}&id_token={token}").get_data(as_text=True)
    assert "Nothing needs your attention" in html and "Handled by" in html


def test_a_delay_that_clears_leaves_the_queue_by_itself(alert_app, deliver, work):
    start = utcnow() - timedelta(days=1)
    _order_with_a_failed_parcel(deliver, start)
    work()
    deliver("fulfillment_events/create", event_payload(5, 501, "delivered", start + timedelta(hours=23)))
    work()
    (alert,) = _alerts(alert_app)
    assert alert.resolved_at is not None and alert.handled_at is None


def test_a_daily_digest_tells_the_days_problems_in_one_email(alert_app, deliver, work, smtp, receiver):
    _settings(alert_app, notify_to="owner@shop.example", webhook_url=receiver.url + "/hook", mode="digest")
    _shop(alert_app)
    start = utcnow() - timedelta(days=1)
    _order_with_a_failed_parcel(deliver, start)
    deliver("fulfillments/create", fulfillment_payload(502, [(12, 1)], start, start, "SHP5012345679"))
    deliver("fulfillment_events/create", event_payload(6, 502, "attempted_delivery", start + timedelta(hours=9)))
    work()
    assert not [m for m in smtp.mailbox.messages if m["To"] == "owner@shop.example"]  # nothing as it happens

    with alert_app.app_context():
        early = datetime.combine(utcnow().date(), datetime.min.time(), UTC)  # 07:00 in Bangkok: too early
        assert send_digests(now=early) == 0
        nine = early + timedelta(hours=2)  # 09:00 in Bangkok
        assert send_digests(now=nine) == 1
        assert send_digests(now=nine + timedelta(hours=3)) == 0  # once a day
    digests = [m for m in smtp.mailbox.messages if m["To"] == "owner@shop.example"]
    assert len(digests) == 1 and digests[0]["Subject"] == "2 parcels need your attention today"
    body = digests[0].get_content()
    assert "Carrier reported a problem · #1001" in body and "Delivery attempt failed · #1001" in body
    assert [p["type"] for p in receiver.payloads()] == ["digest"] and len(receiver.payloads()[0]["alerts"]) == 2


def test_settings_are_checked_field_by_field_and_a_test_can_be_sent(alert_app, smtp, receiver, deliver):
    deliver("orders/create", order_payload(utcnow()))
    from tests.fakes.shopify import make_id_token

    headers = {"Authorization": f"Bearer {make_id_token(SHOP)}", "Accept": "application/json"}
    client = alert_app.test_client()
    bad = client.post(
        "/app/api/alerts/settings",
        json={"mode": "hourly", "notify_to": "owner@shop.example\r\nBcc: x@evil.test", "webhook_url": "javascript:x"},
        headers=headers,
    )
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"mode", "notify_to", "webhook_url"}
    assert client.post("/app/api/alerts/test", headers=headers).status_code == 422  # nothing set up yet
    ok = client.post(
        "/app/api/alerts/settings",
        json={"mode": "instant", "notify_to": "owner@shop.example", "webhook_url": receiver.url, "locale": "th"},
        headers=headers,
    )
    assert ok.status_code == 200 and ok.json["secret"].startswith("whsec_")
    sent = client.post("/app/api/alerts/test", headers=headers)
    assert sent.status_code == 200 and sent.json == {"emailed": True, "webhook": True, "error": None}
    (mail,) = smtp.mailbox.messages
    assert mail["Subject"] == "การแจ้งเตือนทดสอบจาก Aftercart"
    assert receiver.payloads()[0]["type"] == "test"


def test_the_attention_queue_pages_oldest_first_with_the_filter_kept(alert_app):
    shop_id = _shop_id(alert_app)
    _shop(alert_app)
    start = utcnow() - timedelta(days=30)
    with alert_app.app_context():
        other = Shop(domain="other-shop.myshopify.com", is_installed=True)
        db.session.add(other)
        db.session.flush()
        for index in range(120):
            kind = "stalled" if index % 3 == 0 else "exception"
            db.session.add(
                MerchantAlert(
                    shop_id=shop_id,
                    dedupe_key=f"bulk:{index}",
                    kind=kind,
                    detail={"order_name": f"#{5000 + index}"},
                    # two alerts per moment: the page boundary falls between rows of the same time
                    created_at=start + timedelta(minutes=index // 2),
                    handled_at=start if index % 10 == 9 else None,
                )
            )
        db.session.add(MerchantAlert(shop_id=other.id, dedupe_key="theirs", kind="exception", created_at=start))
        db.session.commit()
    from tests.fakes.shopify import make_id_token

    client = alert_app.test_client()
    seen: list[str] = []
    url = f"/app/attention?shop={SHOP}&id_token={make_id_token(SHOP)}"
    pages = 0
    while url and pages < 5:
        html = client.get(url).get_data(as_text=True)
        pages += 1
        assert "Open problems: 108" in html
        seen += re.findall(r"#(5\d{3})<", html.split("Recently handled")[0])
        after = re.search(r'href="/app/attention\?after=([^"&]+)[^"]*" rel="next"', html)
        url = f"/app/attention?shop={SHOP}&id_token={make_id_token(SHOP)}&after={after.group(1)}" if after else ""
    open_names = [str(5000 + i) for i in range(120) if i % 10 != 9]
    assert pages == 3 and seen == open_names  # every open alert once, oldest first, none handled, none of theirs

    stalled = client.get(f"/app/attention?shop={SHOP}&id_token={make_id_token(SHOP)}&kind=stalled&locale=th")
    html = stalled.get_data(as_text=True)
    assert "ปัญหาที่ยังเปิดอยู่: 36" in html and 'rel="next"' not in html
