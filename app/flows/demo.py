"""The demo's follow-up flows: post-delivery care, the thank-you to first-time buyers and win-back are on (the
replenishment flow is off until the shop has repeat purchases to learn from). Five orders through the real
webhook path: a care tip and a thank-you went out (the second to the same shopper the same day is held by the
marketing cap, with its reason in the delivery log), one shopper waits for their care step, and one ordered again,
which stopped the flows of her first order."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.flows.models import Flow
from app.flows.services import send_due_flow_steps, set_flow_enabled
from app.notifications.models import Notification
from app.notifications.services import send_notification
from app.orders.demo import deliver, fulfillment_payload, order_payload, scan_payload
from app.shopify.models import Shop

# number, shopper, email, locale, days since placed, days since delivered (None: not shipped yet)
DEMO_FLOW_ORDERS = (
    (1060, "Joy", "joy@example.com", "th", 6, 4),
    (1061, "Ben", "ben@example.com", "en", 3, 1),
    (1062, "Mint", "mint@example.com", "th", 2, None),
    (1063, "Kit", "kit@example.com", "en", 6, 4),
    (1064, "Kit", "kit@example.com", "en", 0.2, None),
)


def seed_demo_flows(shop: Shop) -> None:
    """Idempotent: does nothing once the demo has flows."""
    if db.session.execute(select(Flow.id).where(Flow.shop_id == shop.id)).first():
        return
    for kind in ("post_delivery", "first_order_thanks", "winback"):
        set_flow_enabled(db.session, shop.id, kind, True)
    db.session.commit()
    for number, name, email, locale, placed_days, delivered_days in DEMO_FLOW_ORDERS:
        order = order_payload(number, placed_days, email, name, [("Linen shirt", "890.00", 1)], locale=locale)
        order["buyer_accepts_marketing"] = True
        order["customer"]["id"] = 7_100_000_001_063 if email == "kit@example.com" else order["customer"]["id"]
        deliver("orders/create", order)
        if delivered_days is None:
            continue
        parcel = fulfillment_payload(order, 1, delivered_days + 1.5, "Kerry Express", f"SHP50{number}0000")
        deliver("fulfillments/create", parcel)
        deliver("fulfillment_events/create", scan_payload(parcel, 1, "in_transit", delivered_days + 1, "In transit"))
        deliver("fulfillment_events/create", scan_payload(parcel, 2, "delivered", delivered_days, "Delivered"))
    send_due_flow_steps()
    # The demo has no worker: a step held for quiet hours is sent as the sweeper would once they end.
    held = db.session.execute(
        select(Notification.id, Notification.scheduled_for).where(
            Notification.shop_id == shop.id,
            Notification.trigger == "flow_step",
            Notification.status == "deferred",
            Notification.reason == "quiet hours",
        )
    ).all()
    db.session.rollback()
    for notification_id, release in held:
        send_notification(notification_id, now=release)
