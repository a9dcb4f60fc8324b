"""Header injection through an address, and a malformed message that was retried forever.

Addresses are checked where they enter (order and customer webhooks, the admin's reply-to, the storefront's
phone field, Twilio's inbound hook), the email channel refuses to write a control character into any header,
a malformed address fails the message for good, and the attempt limit holds for the sweeper too. A real
SMTP server (aiosmtpd) receives whatever leaves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select, update

from app.db import utcnow
from app.extensions import db
from app.jobs import QUEUES
from app.notifications.models import ContactPreference, Notification, NotificationSettings
from app.notifications.services import MAX_ATTEMPTS, requeue_pending_notifications, send_notification
from app.orders.models import Customer, Order
from app.shopify.models import Shop, WebhookEvent
from app.validation import email_address
from tests.conftest import SHOP
from tests.storefront.test_tracking_page import signed_query
from tests.tracking.test_timeline import T0, order_payload

# The two addresses: one the email package wrote as it was (an extra header line), one it refused with
# HeaderParseError, which was taken for a transient error and retried without end.
INJECTED = "carl5@alpha.test>\r\nRCPT TO:<evil5@evil.test"
UNPARSEABLE = "carl1@alpha.test\r\nBcc: evil1@evil.test"
HOSTILE = [
    INJECTED,
    UNPARSEABLE,
    "carl2@alpha.test\nBcc: evil2@evil.test",
    "carl3@alpha.test\rBcc: evil3@evil.test",
    "carl4@alpha.test\x00",
    '"Carl" <carl6@alpha.test>, evil6@evil.test',
    "carl7@alpha.test\u2028Bcc: evil7@evil.test",
]


def _work(app, redis_conn, queues=QUEUES) -> None:
    with app.app_context():
        SimpleWorker([Queue(q, connection=redis_conn) for q in queues], connection=redis_conn).work(burst=True)
        db.session.remove()


def _sent_bytes(smtp) -> bytes:
    return b"\n".join(smtp.mailbox.raw)


@pytest.mark.parametrize("value", HOSTILE)
def test_email_address_refuses_anything_but_one_bare_address(value):
    assert email_address(value) is None


def test_email_address_takes_ordinary_and_test_domain_addresses():
    for value in ("jon@example.com", "Frank.Case@Alpha.test", "สมชาย@ตัวอย่าง.ไทย", "a+tag@mail.example.co.th"):
        assert email_address(value) == value
    assert email_address(" jon@example.com ") == "jon@example.com"
    assert email_address("root@localhost") is None


@pytest.mark.parametrize("hostile", [INJECTED, UNPARSEABLE], ids=["injected-header", "unparseable"])
def test_an_order_with_a_header_in_its_email_lands_without_it_and_nothing_is_mailed_to_it(
    mail_app, post_webhook, smtp, redis_conn, hostile
):
    client = mail_app.test_client()
    payload = order_payload(T0, email=hostile, buyer_accepts_marketing=True)
    payload["customer"] = dict(payload.get("customer") or {}, id=7001, email=hostile)
    assert post_webhook("orders/create", payload, via=client).status_code == 200
    _work(mail_app, redis_conn)

    with mail_app.app_context():
        order = db.session.execute(select(Order)).scalar_one()
        assert order.name == "#1001" and order.email is None  # the order landed, without the address
        assert db.session.execute(select(Customer.email)).scalar_one() is None
        event = db.session.execute(select(WebhookEvent)).scalar_one()
        assert event.status == "processed"
        notes = "; ".join(event.notes or [])
        assert "order email left out" in notes and "customer email left out" in notes
        assert "\n" not in notes and "evil" not in notes
        addresses = db.session.execute(select(ContactPreference.address)).scalars().all()
        assert not any("evil" in (a or "") for a in addresses)
        recipients = db.session.execute(select(Notification.recipient)).scalars().all()
        assert not any("evil" in (r or "") for r in recipients)
    assert b"evil" not in _sent_bytes(smtp)


def _queued_confirmation(app, post_webhook, redis_conn) -> int:
    """An order confirmation planned for jon@example.com, its send job waiting on the notifications queue."""
    client = app.test_client()
    assert post_webhook("orders/create", order_payload(T0), via=client).status_code == 200
    _work(app, redis_conn, ("webhooks", "default"))
    with app.app_context():
        notification_id = db.session.execute(select(Notification.id)).scalar_one()
        db.session.remove()
    return notification_id


@pytest.mark.parametrize("hostile", [INJECTED, UNPARSEABLE], ids=["injected-header", "unparseable"])
def test_a_stored_recipient_with_a_header_fails_for_good_at_once(mail_app, post_webhook, smtp, redis_conn, hostile):
    # A row planned by an older version, before addresses were checked where they enter.
    notification_id = _queued_confirmation(mail_app, post_webhook, redis_conn)
    with mail_app.app_context():
        db.session.execute(update(Notification).values(recipient=hostile))
        db.session.commit()
    _work(mail_app, redis_conn)

    with mail_app.app_context():
        row = db.session.get(Notification, notification_id)
        assert (row.status, row.attempts) == ("failed", 1)
        assert row.reason == "the recipient is not a valid email address"
    assert smtp.mailbox.messages == []
    assert len(Queue("notifications", connection=redis_conn)) == 0


@pytest.mark.parametrize(
    "where, value",
    [
        ("reply_to", "help@shop.test\r\nBcc: evil8@evil.test"),
        ("sender_name", "Snow Devil\r\nBcc: evil9@evil.test"),
        ("shop_name", "Snow Devil\nBcc: evil10@evil.test"),
    ],
)
def test_no_header_we_write_takes_a_line_break(mail_app, post_webhook, smtp, redis_conn, where, value):
    notification_id = _queued_confirmation(mail_app, post_webhook, redis_conn)
    with mail_app.app_context():
        shop = db.session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        if where == "shop_name":
            shop.name = value
        else:
            db.session.add(NotificationSettings(shop_id=shop.id, **{where: value}))
        db.session.commit()
    _work(mail_app, redis_conn)

    with mail_app.app_context():
        row = db.session.get(Notification, notification_id)
        assert row.status == "failed" and "\n" not in row.reason
    assert b"evil" not in _sent_bytes(smtp)


def test_the_attempt_limit_holds_for_the_sweeper(mail_app, post_webhook, smtp, redis_conn):
    """The issue's state: a message whose every attempt ended in an error no channel expected, left `queued`
    with its attempts used up; the sweeper re-sent it every couple of minutes."""
    notification_id = _queued_confirmation(mail_app, post_webhook, redis_conn)
    Queue("notifications", connection=redis_conn).empty()  # its job is gone, as after a crash
    with mail_app.app_context():
        db.session.execute(
            update(Notification).values(
                attempts=MAX_ATTEMPTS, status="queued", created_at=utcnow() - timedelta(minutes=30)
            )
        )
        db.session.commit()
        assert requeue_pending_notifications() == 0
        row = db.session.get(Notification, notification_id)
        assert row.status == "failed" and row.reason.startswith(f"gave up after {MAX_ATTEMPTS} attempts")
        db.session.remove()
    _work(mail_app, redis_conn)
    assert smtp.mailbox.messages == []


def test_a_send_job_that_runs_once_more_past_the_limit_does_not_send(mail_app, post_webhook, smtp, redis_conn):
    notification_id = _queued_confirmation(mail_app, post_webhook, redis_conn)
    with mail_app.app_context():
        db.session.execute(update(Notification).values(attempts=MAX_ATTEMPTS + 2, reason="retrying: boom"))
        db.session.commit()
        assert send_notification(notification_id) == "failed"
        row = db.session.get(Notification, notification_id)
        assert (row.attempts, row.reason) == (MAX_ATTEMPTS + 2, f"gave up after {MAX_ATTEMPTS + 2} attempts: boom")
    assert smtp.mailbox.messages == []


@pytest.mark.parametrize("value", ["help@shop.test\r\nBcc: evil@evil.test", "Help <help@shop.test>", "help@localhost"])
def test_the_admins_reply_to_takes_one_bare_address(make_app, value):
    from app.demo import DEMO_SHOP_DOMAIN

    app = make_app(demo_login=True)
    with app.app_context():
        db.session.add(Shop(domain=DEMO_SHOP_DOMAIN, is_installed=True))
        db.session.commit()
    client = app.test_client()
    response = client.post("/app/api/notifications/settings", json={"reply_to": value})
    assert response.status_code == 422 and "reply_to" in response.json["fields"]
    assert client.post("/app/api/notifications/settings", json={"reply_to": "help@shop.test"}).status_code == 200


@pytest.mark.parametrize(
    "phone", ["+66 81 234 5678\r\nX-Evil: 1", "0812345678 ext. 5", "+66812345678\x00", "call +66812345678"]
)
def test_a_phone_number_is_digits_and_separators_only(client, shop_with_order, phone):
    query = signed_query({"order": "1001", "email": "jon@example.com"})
    response = client.post("/proxy/api/subscribe?" + query, json={"phone": phone})
    assert response.status_code == 400
    assert db.session.execute(select(ContactPreference).where(ContactPreference.channel == "sms")).first() is None
