"""A shop's week, seeded row by row, whose every figure is worked out by hand in tests/analytics/test_figures.py.

The shop is in New York (UTC-5 after 1 Nov 2026), so a local evening is the next UTC day: a parcel delivered at
23:30 on Friday 6 Nov is 04:30 UTC on Saturday 7 Nov, and belongs to Friday."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from app.analytics.models import TrackingViewCount
from app.events import DomainEvent
from app.extensions import db
from app.notifications.models import LinkClick, Notification
from app.orders.models import Fulfillment, Order, Refund, TrackingEvent
from app.recommendations.models import Attribution
from app.returns.models import ReturnLine, ReturnRequest
from app.reviews.models import Review, ReviewRequest
from app.shopify.models import Shop
from app.surveys.models import Survey
from app.tracking.models import DeliveryEstimate

FIRST, LAST = date(2026, 11, 2), date(2026, 11, 9)  # Monday to the next Monday, 8 days


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _order(shop_id, number, created, total, items, email=None, cancelled=None, service=None):
    return Order(
        shop_id=shop_id,
        shopify_order_id=number,
        name=f"#{number}",
        order_number=number,
        email=email,
        total_price=Decimal(total),
        currency="USD",
        shopify_created_at=created,
        cancelled_at=cancelled,
        shipping_country="US",
        shipping_province="NY",
        shipping_service=service,
        line_items=[{"title": title, "quantity": qty, "product_id": pid} for title, qty, pid in items],
    )


def _parcel(shop_id, fid, order, carrier, fulfilled, shipped, delivered):
    return Fulfillment(
        shop_id=shop_id,
        shopify_fulfillment_id=fid,
        shopify_order_id=order,
        carrier_code=carrier,
        shopify_created_at=fulfilled,
        shipped_at=shipped,
        delivered_at=delivered,
        shipment_state="delivered",
    )


def _estimate(shop_id, fid, carrier, first, last, created):
    return DeliveryEstimate(
        shop_id=shop_id,
        shopify_fulfillment_id=fid,
        carrier_code=carrier,
        destination_country="US",
        estimate_from=first,
        estimate_to=last,
        source="default",
        created_at=created,
    )


def seed_history(name: str = "stats.myshopify.com") -> int:
    shop = db.session.execute(select(Shop).where(Shop.domain == name)).scalar_one_or_none()
    if shop is None:
        shop = Shop(domain=name, name="Stats", is_installed=True)
        db.session.add(shop)
    shop.currency, shop.iana_timezone = "USD", "America/New_York"
    db.session.flush()
    s = shop.id
    tee_a, tee_b = ("Tee A", 1), ("Tee B", 2)
    db.session.add_all(
        [
            # previous period (25 Oct - 1 Nov): one order
            _order(s, 900, utc(10, 30, 15), "10", [("Tee A", 1, 1)]),
            # Mon 2 Nov 10:00 local
            _order(s, 1, utc(11, 2, 15), "100", [(tee_a[0], 2, 1), (tee_b[0], 1, 2)], "a@x.test", service="Standard"),
            # Mon 2 Nov 22:30 local (Tue 03:30 UTC)
            _order(s, 2, utc(11, 3, 3, 30), "50", [(tee_a[0], 1, 1)], "c@x.test", service="Express"),
            # cancelled: no order, no item sold, its delivered parcel not counted
            _order(
                s, 3, utc(11, 3, 15), "70", [("Tee C", 1, 3)], "d@x.test", cancelled=utc(11, 3, 16), service="Express"
            ),
            # Wed 4 Nov, shipped in two parcels
            _order(s, 4, utc(11, 4, 14), "200", [(tee_b[0], 2, 2)], "b@x.test", service="Standard"),
            # Thu 5 Nov, a day after a@x.test clicked a message link: content/flow revenue
            _order(s, 5, utc(11, 5, 15), "80", [(tee_a[0], 1, 1)], "a@x.test"),
        ]
    )
    db.session.add_all(
        [
            # F1: ordered Mon 2, fulfilled Tue 3, picked up Wed 4, delivered Fri 6 at 23:30 local (Sat 04:30 UTC)
            _parcel(s, 11, 1, "ups", utc(11, 3, 14), utc(11, 4, 14), utc(11, 7, 4, 30)),
            # F2: ordered Mon 2 (local), fulfilled and picked up Tue 3, delivered Mon 9
            _parcel(s, 12, 2, "usps", utc(11, 3, 15), utc(11, 3, 20), utc(11, 9, 15)),
            # F3, F4: order 4 split; fulfilled Wed 4, picked up Thu 5, delivered Fri 6 and Sun 8
            _parcel(s, 13, 4, "ups", utc(11, 4, 20), utc(11, 5, 14), utc(11, 6, 15)),
            _parcel(s, 14, 4, "ups", utc(11, 4, 20), utc(11, 5, 14), utc(11, 8, 17)),
            # the cancelled order's parcel
            _parcel(s, 15, 3, "ups", utc(11, 4, 20), utc(11, 5, 14), utc(11, 6, 15)),
        ]
    )
    db.session.add_all(
        [
            _estimate(s, 11, "ups", date(2026, 11, 5), date(2026, 11, 6), utc(11, 3, 14)),  # first shown: on time
            _estimate(s, 11, "ups", date(2026, 11, 7), date(2026, 11, 8), utc(11, 5, 14)),  # revised: 1 day off
            _estimate(s, 12, "usps", date(2026, 11, 5), date(2026, 11, 6), utc(11, 3, 15)),  # late by 3
            _estimate(s, 13, "ups", date(2026, 11, 7), date(2026, 11, 9), utc(11, 4, 20)),  # early by 1
            _estimate(s, 15, "ups", date(2026, 11, 7), date(2026, 11, 9), utc(11, 4, 20)),  # cancelled: left out
        ]
    )
    for n, (fid, status, at) in enumerate(
        [
            (12, "in_transit", utc(11, 4, 1)),
            (12, "exception", utc(11, 6, 1)),
            (12, "attempted_delivery", utc(11, 7, 15)),
            (12, "attempted_delivery", utc(11, 8, 15)),
            (11, "in_transit", utc(11, 4, 14)),
        ]
    ):
        db.session.add(
            TrackingEvent(
                shop_id=s,
                shopify_fulfillment_id=fid,
                source="shopify",
                external_id=str(n),
                status=status,
                country="US",
                happened_at=at,
            )
        )
    db.session.add_all(
        [
            TrackingViewCount(shop_id=s, day=date(2026, 11, 3), surface="page", views=10, lookups=6),
            TrackingViewCount(shop_id=s, day=date(2026, 11, 4), surface="widget", views=5, lookups=5),
            TrackingViewCount(shop_id=s, day=date(2026, 11, 20), surface="page", views=99, lookups=99),  # outside
        ]
    )
    messages = [
        Notification(
            shop_id=s,
            dedupe_key="n1",
            trigger="shipped",
            channel="email",
            recipient="a@x.test",
            status="delivered",
            created_at=utc(11, 4, 15),
        ),
        Notification(
            shop_id=s,
            dedupe_key="n2",
            trigger="shipped",
            channel="sms",
            recipient="+15550001",
            status="sent",
            created_at=utc(11, 4, 15),
        ),
        Notification(
            shop_id=s,
            dedupe_key="n3",
            trigger="shipped",
            channel="email",
            recipient="d@x.test",
            status="suppressed",
            reason="no consent: the shopper opted out",
            created_at=utc(11, 4, 15),
        ),
        Notification(
            shop_id=s,
            dedupe_key="n4",
            trigger="delivered",
            channel="email",
            recipient="b@x.test",
            status="failed",
            created_at=utc(11, 6, 16),
        ),
    ]
    db.session.add_all(messages)
    db.session.flush()
    db.session.add(
        LinkClick(shop_id=s, notification_id=messages[0].id, url="https://x.test", clicked_at=utc(11, 4, 16))
    )
    db.session.add_all(
        [
            Attribution(
                shop_id=s,
                shopify_order_id=4,
                method="link",
                revenue=Decimal("200"),
                currency="USD",
                attributed_at=utc(11, 4, 15),
            ),
            Attribution(
                shop_id=s,
                shopify_order_id=2,
                method="link",
                revenue=Decimal("50"),
                currency="USD",
                attributed_at=utc(11, 3, 4),
            ),
            # order 4: refunded 46 days after it was placed, after the 30-day window: revenue stays credited
            Refund(
                shop_id=s, shopify_refund_id=1, shopify_order_id=4, amount=Decimal("40"), refunded_at=utc(12, 20, 12)
            ),
            # order 2: refunded within the window
            Refund(
                shop_id=s, shopify_refund_id=2, shopify_order_id=2, amount=Decimal("50"), refunded_at=utc(11, 10, 12)
            ),
            # order 5 (content/flow): 30 refunded within the window
            Refund(
                shop_id=s, shopify_refund_id=3, shopify_order_id=5, amount=Decimal("30"), refunded_at=utc(11, 10, 12)
            ),
        ]
    )
    exchange = ReturnRequest(
        shop_id=s,
        shopify_order_id=1,
        idempotency_key="r1",
        source="portal",
        status="resolved",
        resolution="exchange_variant",
        reason_code="SIZE_TOO_SMALL",
        currency="USD",
        subtotal=Decimal("25"),
        requested_at=utc(11, 7, 15),
        resolved_at=utc(11, 9, 15),
    )
    refund = ReturnRequest(
        shop_id=s,
        shopify_order_id=4,
        idempotency_key="r2",
        source="portal",
        status="resolved",
        resolution="refund",
        reason_code="DEFECTIVE",
        currency="USD",
        subtotal=Decimal("60"),
        refund_amount=Decimal("60"),
        requested_at=utc(11, 8, 15),
        resolved_at=utc(11, 13, 15),
    )
    cancelled = ReturnRequest(
        shop_id=s,
        shopify_order_id=5,
        idempotency_key="r3",
        source="portal",
        status="canceled",
        reason_code="OTHER",
        currency="USD",
        requested_at=utc(11, 8, 15),
    )
    db.session.add_all([exchange, refund, cancelled])
    db.session.flush()
    db.session.add_all(
        [
            ReturnLine(
                shop_id=s,
                return_request_id=exchange.id,
                shopify_line_item_id=1,
                title="Tee A",
                quantity=1,
                unit_price=Decimal("25"),
            ),
            ReturnLine(
                shop_id=s,
                return_request_id=refund.id,
                shopify_line_item_id=2,
                title="Tee B",
                quantity=2,
                unit_price=Decimal("30"),
            ),
            ReturnLine(
                shop_id=s,
                return_request_id=cancelled.id,
                shopify_line_item_id=3,
                title="Tee A",
                quantity=1,
                unit_price=Decimal("25"),
            ),
        ]
    )
    for n, (nps, csat, carrier, at) in enumerate(
        [
            (10, 5, "ups", utc(11, 7, 15)),
            (6, 2, "usps", utc(11, 8, 15)),
            (8, None, "ups", utc(11, 9, 15)),
        ]
    ):
        db.session.add(
            Survey(
                shop_id=s,
                public_id=f"s{n}",
                shopify_order_id=100 + n,
                carrier=carrier,
                question="both",
                status="answered",
                due_at=at,
                nps_score=nps,
                csat_score=csat,
                answered_at=at,
            )
        )
    db.session.add_all(
        [
            Review(shop_id=s, shopify_product_id=1, rating=5, status="published", created_at=utc(11, 7, 15)),
            Review(shop_id=s, shopify_product_id=2, rating=4, status="pending", created_at=utc(11, 8, 15)),
        ]
    )
    for n in range(4):
        db.session.add(
            ReviewRequest(
                shop_id=s,
                shopify_order_id=200 + n,
                shopify_fulfillment_id=300 + n,
                due_at=utc(11, 5, 15),
                status="sent",
                sent_at=utc(11, 5 + n, 15),
            )
        )
    db.session.commit()
    return s


def add_event(shop_id: int, key: str, order_id: int | None, happened: datetime) -> None:
    db.session.add(
        DomainEvent(
            shop_id=shop_id, kind="shipment.delivered", dedupe_key=key, shopify_order_id=order_id, happened_at=happened
        )
    )
    db.session.commit()
