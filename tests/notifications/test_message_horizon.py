"""Old events never message shoppers: history on install, reconciliation, a replay or a late redelivery is
recorded as suppressed, with the reason, instead of being mailed today."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.notifications.models import Notification, NotificationSettings
from app.shopify.models import Shop
from app.tracking.monitor import check_shop
from tests.conftest import SHOP
from tests.notifications.test_email_flow import work
from tests.tracking.test_timeline import event_payload, fulfillment_payload, iso, order_payload

IN_2014 = datetime(2014, 5, 12, 3, 0, tzinfo=UTC)


@pytest.fixture()
def send(mail_app, post_webhook):
    client = mail_app.test_client()

    def deliver(topic, payload):
        assert post_webhook(topic, payload, via=client).status_code == 200

    return deliver


def _name_shop(app) -> None:
    with app.app_context():
        shop = db.session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        shop.name, shop.iana_timezone = "Snow Devil", "Asia/Bangkok"
        db.session.commit()


def _notifications(app) -> list[Notification]:
    with app.app_context():
        rows = db.session.execute(select(Notification).order_by(Notification.id)).scalars().all()
        db.session.expunge_all()
        return rows


def _shop_settings(app, **values) -> None:
    with app.app_context():
        shop_id = db.session.execute(select(Shop.id)).scalar_one()
        db.session.add(NotificationSettings(shop_id=shop_id, **values))
        db.session.commit()


def _sweep(app, redis_conn) -> None:
    with app.app_context():
        check_shop(db.session, db.session.execute(select(Shop.id)).scalar_one())
        db.session.commit()
    work(app, redis_conn)


def test_a_failed_fulfilment_from_2014_sends_no_exception_email_today(mail_app, send, smtp, redis_conn):
    send("orders/create", order_payload(IN_2014, created_at=iso(IN_2014)))
    failed = fulfillment_payload(501, [(11, 2), (12, 1)], IN_2014, IN_2014 + timedelta(days=2), "SHP5012345678")
    send("fulfillments/create", dict(failed, status="failure"))
    # A second parcel shipped in 2014 and never heard of again: the delay sweep finds it "late" today.
    send("fulfillments/create", fulfillment_payload(502, [(12, 1)], IN_2014, IN_2014, "SHP5022345678"))
    _name_shop(mail_app)
    work(mail_app, redis_conn)
    _sweep(mail_app, redis_conn)

    assert smtp.mailbox.messages == []
    held = {n.trigger: n for n in _notifications(mail_app) if n.channel == "email"}
    assert {"order_confirmed", "exception", "shipped", "delayed"} <= set(held), held
    for notification in held.values():
        assert notification.status == "suppressed"
        assert notification.reason.startswith("too old: the event happened 2014-"), notification.reason
        assert notification.event_at.year == 2014


def test_a_scan_redelivered_late_is_suppressed_and_a_fresh_one_sends(mail_app, send, smtp, redis_conn):
    now = datetime.now(UTC)
    shipped = now - timedelta(days=5)
    send("orders/create", order_payload(shipped, created_at=iso(shipped)))
    send("fulfillments/create", fulfillment_payload(501, [(11, 2), (12, 1)], shipped, shipped, "SHP5012345678"))
    _name_shop(mail_app)
    work(mail_app, redis_conn)
    # "Out for delivery" four days ago, only now delivered to us: the parcel was delivered since.
    send("fulfillment_events/create", event_payload(1, 501, "out_for_delivery", now - timedelta(hours=97)))
    work(mail_app, redis_conn)
    send("fulfillment_events/create", event_payload(2, 501, "delivered", now - timedelta(hours=2)))
    work(mail_app, redis_conn)

    subjects = [str(m["Subject"]) for m in smtp.mailbox.messages]
    assert any("delivered" in s for s in subjects) and not any("out for delivery" in s for s in subjects), subjects
    held = {n.trigger: n for n in _notifications(mail_app) if n.channel == "email"}
    assert held["delivered"].status == "sent"
    assert held["out_for_delivery"].status == "suppressed"
    assert held["out_for_delivery"].reason.startswith("too old:") and "72 hours" in held["out_for_delivery"].reason


@pytest.mark.parametrize(("horizon", "sent"), [(72, False), (120, True)])
def test_the_merchant_sets_the_horizon(mail_app, send, smtp, redis_conn, horizon, sent):
    placed = datetime.now(UTC) - timedelta(hours=96)
    send("orders/create", order_payload(placed, created_at=iso(placed)))  # an order four days old, new to us
    _name_shop(mail_app)
    _shop_settings(mail_app, message_horizon_hours=horizon)
    work(mail_app, redis_conn)
    [confirmed] = [n for n in _notifications(mail_app) if n.trigger == "order_confirmed" and n.channel == "email"]
    assert (confirmed.status == "sent") is sent
    assert len(smtp.mailbox.messages) == int(sent)
