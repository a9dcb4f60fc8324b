"""Messages converge too: shuffled, duplicated and late webhooks give every delivered parcel exactly one
"delivered" message, and nothing older after it."""

from __future__ import annotations

import copy
import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.notifications.models import Notification
from tests.notifications.test_email_flow import work
from tests.tracking.test_timeline import event_payload, fulfillment_payload, iso, order_payload

ORDERS = 6
JOURNEY = ["shipped", "out_for_delivery", "delivered"]  # the order of the moments a shopper hears about


def _order_deliveries(n: int, start) -> list[tuple[str, dict]]:
    """One order's webhooks: created, shipped (then marked delivered on the fulfilment), and three scans."""
    order_id, fulfillment_id = 9000 + n, 7000 + n
    number = f"SHP70{n:010d}"
    ids = {"order_id": order_id}
    order = order_payload(
        start, id=order_id, name=f"#{2000 + n}", order_number=2000 + n, email=f"shopper{n}@example.com"
    )
    order["created_at"] = iso(start)
    shipped_at, delivered_at = start + timedelta(hours=2), start + timedelta(hours=26)
    return [
        ("orders/create", order),
        ("fulfillments/create", fulfillment_payload(fulfillment_id, [(11, 2)], shipped_at, shipped_at, number, **ids)),
        (
            "fulfillments/update",
            fulfillment_payload(
                fulfillment_id, [(11, 2)], shipped_at, delivered_at, number, shipment_status="delivered", **ids
            ),
        ),
        ("fulfillment_events/create", event_payload(10 * n + 1, fulfillment_id, "in_transit", shipped_at, **ids)),
        (
            "fulfillment_events/create",
            event_payload(10 * n + 2, fulfillment_id, "out_for_delivery", start + timedelta(hours=20), **ids),
        ),
        ("fulfillment_events/create", event_payload(10 * n + 3, fulfillment_id, "delivered", delivered_at, **ids)),
    ]


@pytest.mark.parametrize("seed", range(4))
def test_every_delivered_parcel_gets_one_delivered_message_whatever_the_arrival_order(
    mail_app, post_webhook, smtp, redis_conn, seed
):
    client = mail_app.test_client()
    start = utcnow() - timedelta(hours=36)
    deliveries = [d for n in range(ORDERS) for d in _order_deliveries(n, start)]
    rng = random.Random(seed)
    shuffled = copy.deepcopy(deliveries)
    rng.shuffle(shuffled)
    shuffled += rng.sample(shuffled, 8)  # redeliveries (fresh webhook ids), late
    position = 0
    while position < len(shuffled):  # a worker that falls behind: batches of a few deliveries per round
        size = rng.randint(1, 6)
        for topic, payload in shuffled[position : position + size]:
            assert post_webhook(topic, payload, via=client).status_code == 200
        work(mail_app, redis_conn)
        position += size

    received: dict[str, list[str]] = {}
    for message in smtp.mailbox.messages:
        received.setdefault(message["To"], []).append(message["Subject"])
    for n in range(ORDERS):
        subjects = received.get(f"shopper{n}@example.com", [])
        delivered = [s for s in subjects if s.endswith("was delivered")]
        assert delivered == [f"Your order #{2000 + n} was delivered"], (n, subjects)
        assert subjects[-1] == delivered[0], f"news older than 'delivered' reached shopper {n} after it: {subjects}"
        assert len(subjects) == len(set(subjects)), (n, subjects)  # nothing twice
    with mail_app.app_context():
        rows = db.session.execute(
            select(Notification.shopify_order_id, Notification.trigger, Notification.status).where(
                Notification.channel == "email", Notification.trigger.in_(JOURNEY)
            )
        ).all()
    sent_delivered = sorted(order for order, trigger, status in rows if trigger == "delivered" and status == "sent")
    assert sent_delivered == [9000 + n for n in range(ORDERS)]
