"""Never an upsell to someone who needs help: no product cards on the tracking page or in a message while a
parcel is late, stalled, in trouble, at a failed attempt or going back, nor in a message about such a moment
or about a return the shop is at fault for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select, update

from app.extensions import db
from app.jobs import QUEUES
from app.orders.models import Fulfillment, Order
from app.recommendations import HELP_MOMENTS, recommend, recommendations_for_email
from tests.recommendations.conftest import JON_EMAIL, T0, TEE, TEE_S, iso, jon_orders, order_payload
from tests.storefront.test_tracking_page import signed_query

FID = 70021


def _fulfillment(order_id: int, fid: int, created: datetime) -> dict:
    return {
        "id": fid,
        "order_id": order_id,
        "status": "success",
        "shipment_status": None,
        "tracking_company": "Kerry Express",
        "tracking_number": f"SHP50{fid:08d}",
        "tracking_numbers": [f"SHP50{fid:08d}"],
        "tracking_urls": [],
        "name": f"#{order_id}.1",
        "destination": {"country_code": "TH"},
        "line_items": [],
        "created_at": iso(created),
        "updated_at": iso(created),
    }


def _scan(order_id: int, fid: int, eid: int, status: str, happened: datetime) -> dict:
    return {
        "id": eid,
        "fulfillment_id": fid,
        "order_id": order_id,
        "status": status,
        "message": f"{status} scan",
        "happened_at": iso(happened),
        "created_at": iso(happened),
        "updated_at": iso(happened),
        "city": "Bangkok",
        "country": "TH",
    }


def _cards_on_the_tracking_page(client) -> bool:
    page = client.get("/proxy/track?" + signed_query({"order": "1002", "email": JON_EMAIL})).get_data(as_text=True)
    assert "1002" in page
    widget = client.get("/proxy/api/track?" + signed_query({"order": "1002", "email": JON_EMAIL})).json
    assert ('data-slot="recommendations"' in page) == bool(widget["recommendations"])
    return bool(widget["recommendations"])


@pytest.mark.parametrize("state", ["attempted_delivery", "failure", "delayed"])  # Shopify's event statuses
def test_no_cards_on_the_tracking_page_while_the_parcel_is_in_trouble(client, shop_with_history, deliver, state):
    jon_orders(deliver)
    shipped = T0 + timedelta(days=20, hours=6)
    deliver(("fulfillments/create", _fulfillment(7002, FID, shipped)))
    assert _cards_on_the_tracking_page(client)  # on its way: cards as usual
    deliver(("fulfillment_events/create", _scan(7002, FID, 1, state, shipped + timedelta(days=1))))
    assert not _cards_on_the_tracking_page(client)
    deliver(("fulfillment_events/create", _scan(7002, FID, 2, "delivered", shipped + timedelta(days=2))))
    assert _cards_on_the_tracking_page(client)  # the problem is over: cards come back


def test_no_cards_while_a_parcel_is_flagged_stalled_or_late(client, shop_with_history, deliver):
    order = jon_orders(deliver)
    shipped = T0 + timedelta(days=20, hours=6)
    deliver(
        ("fulfillments/create", _fulfillment(7002, FID, shipped)),
        ("fulfillment_events/create", _scan(7002, FID, 1, "in_transit", shipped + timedelta(hours=5))),
    )
    assert _cards_on_the_tracking_page(client)
    for flag in (Fulfillment.is_stalled, Fulfillment.is_delayed):
        # The monitor sets these flags (app/tracking/monitor.py); here they are set as it leaves them.
        db.session.execute(update(Fulfillment).where(Fulfillment.shopify_fulfillment_id == FID).values({flag: True}))
        db.session.commit()
        assert not _cards_on_the_tracking_page(client)
        assert recommend(order.shop_id, "email", order_id=order.id) == []
        db.session.execute(update(Fulfillment).where(Fulfillment.shopify_fulfillment_id == FID).values({flag: False}))
        db.session.commit()
        assert _cards_on_the_tracking_page(client)


@pytest.mark.parametrize("moment", sorted(HELP_MOMENTS))
def test_no_cards_in_a_message_about_a_moment_of_trouble(shop_with_history, deliver, moment):
    """Whatever the order's state by the time it is sent: the message answers a problem."""
    order = jon_orders(deliver)
    assert recommend(order.shop_id, "email", order_id=order.id, moment="shipped")  # a happy moment has cards
    assert recommend(order.shop_id, "email", order_id=order.id, moment=moment) == []
    assert recommendations_for_email(order.shop_id, order, "en", moment=moment) == []


def _work(app, redis_conn) -> None:
    with app.app_context():
        SimpleWorker([Queue(q, connection=redis_conn) for q in QUEUES], connection=redis_conn).work(burst=True)
        db.session.remove()


def test_the_shipped_email_has_cards_and_the_failed_attempt_email_has_none(
    shop_with_history, mail_app, smtp, post_webhook, redis_conn
):
    """End to end, with marketing consent: the same shopper, two moments, one email each."""
    smtp.mailbox.messages.clear()
    client = mail_app.test_client()
    now = datetime.now(UTC)
    payload = order_payload(
        7201, [(TEE, TEE_S)], customer_id=7201, email="yes@example.com", created=now - timedelta(hours=3)
    )
    payload["buyer_accepts_marketing"] = True
    assert post_webhook("orders/create", payload, via=client).status_code == 200
    assert post_webhook("fulfillments/create", _fulfillment(7201, 72011, now - timedelta(hours=2)), via=client)
    _work(mail_app, redis_conn)
    scan = _scan(7201, 72011, 1, "attempted_delivery", now - timedelta(minutes=30))
    assert post_webhook("fulfillment_events/create", scan, via=client).status_code == 200
    _work(mail_app, redis_conn)
    with mail_app.app_context():
        order = db.session.execute(select(Order).where(Order.shopify_order_id == 7201)).scalar_one()
        assert order.status == "attempted_delivery"
        db.session.remove()
    emails = {m["Subject"]: m.get_body(("html",)).get_content() for m in smtp.mailbox.messages}
    assert 'data-slot="recommendations"' in emails["Your order #7201 is on its way"], list(emails)
    assert 'data-slot="recommendations"' not in emails["We missed you: delivery of #7201"]
