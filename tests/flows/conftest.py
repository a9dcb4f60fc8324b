"""A shop whose orders arrive through the real webhook path, mail through a real SMTP server, jobs on Redis; the
flows' scheduler run with the moment a test means."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.flows.models import FlowEnrolment
from app.flows.services import save_flow, send_due_flow_steps, set_flow_enabled, shop_flows
from app.notifications.models import Notification, NotificationSettings
from app.shopify.models import Shop
from tests.alerts.conftest import alert_app, fake_shopify, smtp, work  # noqa: F401  (fixtures)
from tests.conftest import SHOP
from tests.tracking.test_timeline import ORDER_ID, event_payload, fulfillment_payload, iso, order_payload

SHOPPER = "jon@example.com"
PRODUCT = 788032119674292922  # the fixture order's sunglasses


@pytest.fixture()
def deliver(alert_app, post_webhook):  # noqa: F811
    client = alert_app.test_client()

    def send(topic, payload):
        assert post_webhook(topic, payload, via=client).status_code == 200

    return send


@pytest.fixture()
def shop_id(alert_app):  # noqa: F811
    """The shop (Bangkok), with quiet hours off (a test about them sets its own) and a roomy marketing cap."""
    with alert_app.app_context():
        shop = Shop(domain=SHOP, is_installed=True, name="Tee Shop", iana_timezone="Asia/Bangkok")
        db.session.add(shop)
        db.session.flush()
        db.session.add(
            NotificationSettings(
                shop_id=shop.id, quiet_hours_start=0, quiet_hours_end=0, marketing_per_day=10, marketing_per_week=10
            )
        )
        db.session.commit()
        return shop.id


def set_limits(app, shop_id: int, **values: Any) -> None:
    with app.app_context():
        settings = db.session.execute(
            select(NotificationSettings).where(NotificationSettings.shop_id == shop_id)
        ).scalar_one()
        for key, value in values.items():
            setattr(settings, key, value)
        db.session.commit()


def switch_on(app, shop_id: int, kind: str, waits: tuple[int, ...] = (3,), channel: str = "email", **flow: Any):
    """Switch a flow on with one step per wait; each step's subject names its number."""
    with app.app_context():
        current = shop_flows(db.session, shop_id)[kind]
        steps = [
            {
                "wait_days": wait,
                "channel": channel,
                "texts": {
                    "en": {"subject": f"{kind} step {n + 1}", "body": "Hi {{ first_name }}, step " + str(n + 1) + "."},
                    "th": {"subject": f"{kind} ขั้น {n + 1}", "body": "สวัสดี {{ first_name }}"},
                },
            }
            for n, wait in enumerate(waits)
        ]
        save_flow(
            db.session,
            shop_id,
            kind,
            {"starts_on": flow.get("starts_on", current.starts_on), "segment": flow.get("segment", {}), "steps": steps},
        )
        set_flow_enabled(db.session, shop_id, kind, True)
        db.session.commit()


def place(deliver, placed: datetime | None = None, **changes: Any) -> None:
    placed = placed or utcnow() - timedelta(hours=2)
    deliver("orders/create", order_payload(placed, created_at=iso(placed), **changes))


def ship_and_deliver(deliver, delivered: datetime, order_id: int = ORDER_ID, fid: int = 501) -> None:
    start = delivered - timedelta(days=2)
    deliver(
        "fulfillments/create",
        fulfillment_payload(fid, [(11, 1)], start, start, f"SHP50{fid}2345678", order_id=order_id),
    )
    deliver(
        "fulfillment_events/create",
        event_payload(fid * 10 + 1, fid, "in_transit", start + timedelta(hours=2), order_id=order_id),
    )
    deliver("fulfillment_events/create", event_payload(fid * 10 + 2, fid, "delivered", delivered, order_id=order_id))


def run_scheduler(app, work, now: datetime) -> int:  # noqa: F811
    with app.app_context():
        sent = send_due_flow_steps(now)
    work()
    return sent


def enrolments(app) -> list[FlowEnrolment]:
    with app.app_context():
        rows = db.session.execute(select(FlowEnrolment).order_by(FlowEnrolment.id)).scalars().all()
        db.session.expunge_all()
        return rows


def flow_messages(app) -> list[Notification]:
    with app.app_context():
        rows = (
            db.session.execute(
                select(Notification).where(Notification.trigger == "flow_step").order_by(Notification.id)
            )
            .scalars()
            .all()
        )
        db.session.expunge_all()
        return rows


def mails_to(server, subject_part: str) -> list:
    return [m for m in server.mailbox.messages if m["To"] == SHOPPER and subject_part in str(m["Subject"])]
