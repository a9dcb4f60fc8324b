"""The demo's history for the dashboard: two months of older orders (#1100-#1115) delivered through the real
webhook path by four carriers, some late and one with a failed attempt, tracking-page views counted per day, then
the shop's history rolled up by the same backfill a merchant starts (inline in the demo)."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from app.analytics.models import Backfill, TrackingViewCount
from app.analytics.services import start_backfill, today_for
from app.extensions import db
from app.orders.demo import deliver, fulfillment_payload, order_payload, scan_payload
from app.shopify.models import Shop

CARRIERS = (
    ("Kerry Express", "SHP50123456{:02d}"),
    ("Flash Express", "TH01234567{:02d}E"),
    ("J&T Express", "8200123456{:02d}"),
    ("Thailand Post", "EF5825681{:02d}TH"),
)
SHOPPERS = ("Ploy", "Sam", "Dao", "Chai", "Emma", "Nok", "Ben", "Mai")
ITEMS = (("Linen shirt", "890.00"), ("Canvas tote", "450.00"), ("Cotton tee", "390.00"))


def seed_demo_analytics_history(shop: Shop) -> None:
    """The older orders and the view counts; run first, so the other features' orders stay the newest.
    Idempotent: does nothing once the demo has tracking view counts."""
    if db.session.execute(select(TrackingViewCount.id).where(TrackingViewCount.shop_id == shop.id)).first():
        return
    pick = random.Random(19)
    for n in range(16):
        number = 1100 + n
        days_ago = 60 - n * 3.2
        name = SHOPPERS[n % len(SHOPPERS)]
        title, price = ITEMS[n % len(ITEMS)]
        order = order_payload(number, days_ago, f"{name.lower()}{n}@example.com", name, [(title, price, 1 + n % 2)])
        carrier, tracking = CARRIERS[n % len(CARRIERS)]
        handling = pick.choice((0.5, 1, 1.5, 2))
        transit = pick.choice((1, 2, 2, 3, 4, 6))
        parcel = fulfillment_payload(order, 1, days_ago - handling, carrier, tracking.format(n))
        deliver("orders/create", order)
        deliver("fulfillments/create", parcel)
        deliver(
            "fulfillment_events/create", scan_payload(parcel, 1, "in_transit", days_ago - handling - 0.3, "Picked up")
        )
        if n % 7 == 3:
            deliver(
                "fulfillment_events/create",
                scan_payload(parcel, 2, "attempted_delivery", days_ago - handling - transit + 0.5, "No one home"),
            )
        deliver(
            "fulfillment_events/create",
            scan_payload(parcel, 3, "delivered", days_ago - handling - transit, "Delivered"),
        )
    today = today_for(shop)
    for back in range(62):
        views = 6 + pick.randint(0, 10) + (8 if back < 14 else 0)
        db.session.add(
            TrackingViewCount(
                shop_id=shop.id,
                day=today - timedelta(days=back),
                surface="page",
                views=views,
                lookups=max(0, views - pick.randint(0, 5)),
            )
        )
    db.session.commit()


def build_demo_analytics(shop: Shop) -> None:
    """The shop's history rolled up by the backfill a merchant starts (inline in the demo); run last.
    Idempotent: does nothing once a backfill exists."""
    if db.session.execute(select(Backfill.id).where(Backfill.shop_id == shop.id)).first():
        return
    start_backfill(db.session, shop, days=120)
