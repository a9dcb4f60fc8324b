"""A shop whose parcels are delivered through the real webhook path, mail through a real SMTP server, jobs on Redis."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.alerts.models import AlertSettings
from app.db import utcnow
from app.extensions import db
from app.shopify.models import Shop
from app.surveys.models import Survey
from app.surveys.services import ask_due_surveys
from tests.alerts.conftest import alert_app, fake_shopify, smtp, work  # noqa: F401  (fixtures)
from tests.conftest import SHOP
from tests.tracking.test_timeline import event_payload, fulfillment_payload, order_payload

SCORE_LINK = re.compile(r"/l/s/[A-Za-z0-9_\-.]+")
SHOPPER = "jon@example.com"
OWNER = "owner@shop.example"


@pytest.fixture()
def deliver(alert_app, post_webhook):  # noqa: F811
    client = alert_app.test_client()

    def send(topic, payload):
        assert post_webhook(topic, payload, via=client).status_code == 200

    return send


@pytest.fixture()
def shop_told(alert_app):  # noqa: F811
    """The shop (Bangkok) tells its owner about problems by email."""
    with alert_app.app_context():
        shop = db.session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one_or_none()
        if shop is None:
            shop = Shop(domain=SHOP, is_installed=True, name="Tee Shop")
            db.session.add(shop)
        shop.iana_timezone = "Asia/Bangkok"
        db.session.flush()
        db.session.add(AlertSettings(shop_id=shop.id, mode="instant", locale="en", notify_to=OWNER))
        db.session.commit()
        return shop.id


def ship(deliver, delivered: bool = True) -> None:
    """Order #1001, one parcel, scanned in transit and (by default) delivered an hour ago."""
    start = utcnow() - timedelta(days=1)
    deliver("orders/create", order_payload(start))
    deliver("fulfillments/create", fulfillment_payload(501, [(11, 2), (12, 1)], start, start, "SHP5012345678"))
    deliver("fulfillment_events/create", event_payload(1, 501, "in_transit", start + timedelta(hours=2)))
    if delivered:
        deliver("fulfillment_events/create", event_payload(2, 501, "delivered", utcnow() - timedelta(hours=1)))


def surveys(app) -> list[Survey]:
    with app.app_context():
        rows = db.session.execute(select(Survey).order_by(Survey.id)).scalars().all()
        db.session.expunge_all()
        return rows


def ask_after(app, days: float) -> int:
    with app.app_context():
        return ask_due_surveys(utcnow() + timedelta(days=days))


def survey_mails(server) -> list:
    return [m for m in server.mailbox.messages if m["To"] == SHOPPER and "How did we do" in str(m["Subject"])]


def links_in(message) -> list[str]:
    html = message.get_body(("html",)).get_content()
    return list(dict.fromkeys(SCORE_LINK.findall(html)))
