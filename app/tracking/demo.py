"""Tracking's demo data: orders whose parcels are in every state, and the demo's "next step" for an order."""

from __future__ import annotations

from typing import Any

from app.db import utcnow
from app.extensions import db
from app.orders.demo import deliver, fulfillment_payload, order_payload, scan_payload
from app.shopify.models import Shop
from app.tracking.monitor import check_shop

# Demo parcels: (number, customer, locale, items, [(days ago, status, message)], carrier, tracking number)
_JOURNEYS: list[tuple[int, str, str, str, list[tuple[float, str, str]], str, str]] = [
    (1003, "Label", "en", "Canvas tote", [], "Kerry Express", "SHP5012345601"),
    (
        1004,
        "Somsak",
        "th",
        "Linen shirt",
        [(0.8, "carrier_picked_up", "Picked up by the driver")],
        "Flash Express",
        "TH0123456789A",
    ),
    (
        1005,
        "Alice",
        "en",
        "Rain jacket",
        [(2, "carrier_picked_up", "Picked up"), (1.2, "in_transit", "Arrived at Bangkok hub")],
        "Thailand Post",
        "EF582568151TH",
    ),
    (
        1006,
        "Malee",
        "th",
        "Cotton tee",
        [
            (2, "carrier_picked_up", "Picked up"),
            (1, "in_transit", "Sorted at Lak Si"),
            (0.1, "out_for_delivery", "With the driver"),
        ],
        "Kerry Express",
        "SHP5012345606",
    ),
    (
        1007,
        "Bob",
        "en",
        "Socks",
        [
            (4, "carrier_picked_up", "Picked up"),
            (3, "in_transit", "In transit"),
            (2.2, "out_for_delivery", "With the driver"),
            (2, "delivered", "Left at the front door"),
        ],
        "J&T Express",
        "820012345678",
    ),
    (
        1008,
        "Niran",
        "th",
        "Sneakers",
        [
            (3, "carrier_picked_up", "Picked up"),
            (1.1, "out_for_delivery", "With the driver"),
            (1, "attempted_delivery", "Nobody home; will retry"),
        ],
        "Kerry Express",
        "SHP5012345608",
    ),
    (
        1009,
        "Carol",
        "en",
        "Water bottle",
        [(3, "carrier_picked_up", "Picked up"), (1, "ready_for_pickup", "At 7-Eleven Silom")],
        "Flash Express",
        "TH0123456790B",
    ),
    (
        1010,
        "Dao",
        "th",
        "Yoga mat",
        [(12, "carrier_picked_up", "Picked up"), (11, "in_transit", "Departed Bangkok hub")],
        "Thailand Post",
        "EF582568165TH",
    ),
    (
        1011,
        "Erin",
        "en",
        "Desk lamp",
        [(3, "carrier_picked_up", "Picked up"), (1, "failure", "Address could not be found")],
        "Ninja Van",
        "NVTH0000123456",
    ),
    (
        1012,
        "Fah",
        "th",
        "Ceramic mug",
        [
            (9, "carrier_picked_up", "Picked up"),
            (6, "attempted_delivery", "Refused"),
            (2, "returned_to_sender", "Returning to the shop"),
        ],
        "Kerry Express",
        "SHP5012345612",
    ),
]


def demo_deliveries() -> list[tuple[str, dict[str, Any]]]:
    """Webhooks that put demo orders in every state, sent through the real intake."""
    deliveries: list[tuple[str, dict[str, Any]]] = []
    ordered = order_payload(1001, 0.2, "pending@example.com", "Pat", [("Gift card", "500.00", 1)], financial="pending")
    confirmed = order_payload(
        1002,
        0.5,
        "somchai@example.com",
        "Somchai",
        [("Cotton tee", "390.00", 2)],
        locale="th",
        phone="+66812345678",
    )
    # Paid almost a week ago and still not shipped: past the handling time, so the queue lists it.
    waiting = order_payload(1015, 6, "kanya@example.com", "Kanya", [("Throw blanket", "890.00", 1)], locale="th")
    deliveries += [("orders/create", ordered), ("orders/create", confirmed), ("orders/create", waiting)]
    for number, name, locale, item, scans, company, tracking in _JOURNEYS:
        days = (scans[0][0] + 1) if scans else 1.5
        order = order_payload(number, days, f"{name.lower()}@example.com", name, [(item, "590.00", 1)], locale=locale)
        fulfillment = fulfillment_payload(order, 1, days - 0.5, company, tracking)
        if not scans:
            fulfillment["status"] = "open"  # packed and labelled, not collected yet
        deliveries += [("orders/create", order), ("fulfillments/create", fulfillment)]
        deliveries += [
            ("fulfillment_events/create", scan_payload(fulfillment, n, status, ago, message))
            for n, (ago, status, message) in enumerate(scans, start=1)
        ]
    split = order_payload(1013, 5, "grace@example.com", "Grace", [("Pillow", "450.00", 2), ("Duvet", "1990.00", 1)])
    first = fulfillment_payload(split, 1, 4, "Kerry Express", "SHP5012345613", [split["line_items"][0]["id"]])
    second = fulfillment_payload(split, 2, 1, "Flash Express", "TH0123456791C", [split["line_items"][1]["id"]])
    deliveries += [
        ("orders/create", split),
        ("fulfillments/create", first),
        ("fulfillments/create", second),
        ("fulfillment_events/create", scan_payload(first, 1, "carrier_picked_up", 3.8, "Picked up")),
        ("fulfillment_events/create", scan_payload(first, 2, "delivered", 2, "Delivered to reception")),
        ("fulfillment_events/create", scan_payload(second, 1, "in_transit", 0.5, "Arrived at Chatuchak hub")),
    ]
    cancelled = order_payload(1014, 3, "henry@example.com", "Henry", [("Backpack", "1290.00", 1)], financial="voided")
    deliveries += [
        ("orders/create", cancelled),
        (
            "orders/cancelled",
            dict(cancelled, cancelled_at=utcnow().isoformat(), updated_at=utcnow().isoformat()),
        ),
    ]
    return deliveries


def seed_demo_orders(shop: Shop) -> None:
    """Orders in every state (through the real webhook path), then the monitor's pass that flags the
    parcel whose estimate has passed as delayed."""
    for topic, payload in demo_deliveries():
        deliver(topic, payload)
    check_shop(db.session, shop.id)
    db.session.commit()


_NEXT_SCAN = {
    None: "carrier_picked_up",
    "label_created": "carrier_picked_up",
    "shipped": "in_transit",
    "in_transit": "out_for_delivery",
    "delayed": "out_for_delivery",
    "out_for_delivery": "delivered",
    "attempted_delivery": "delivered",
    "ready_for_pickup": "delivered",
}


def advance_demo_order(shop: Shop, order_id: int) -> str | None:
    """Demo only: move an order one step along (ship it, then scan it) through the real webhook path.

    Returns the topic/status sent, or None when there is nothing left to do.
    """
    from sqlalchemy import select

    from app.orders.models import Fulfillment, Order

    order = db.session.execute(select(Order).where(Order.id == order_id, Order.shop_id == shop.id)).scalar_one_or_none()
    if order is None or order.cancelled_at is not None:
        return None
    shipment = (
        db.session.execute(
            select(Fulfillment)
            .where(Fulfillment.shop_id == shop.id, Fulfillment.shopify_order_id == order.shopify_order_id)
            .order_by(Fulfillment.id.desc())
        )
        .scalars()
        .first()
    )
    if shipment is None:
        payload = {
            "id": order.shopify_order_id * 10 + 9,
            "order_id": order.shopify_order_id,
            "status": "success",
            "tracking_company": "Kerry Express",
            "tracking_numbers": [f"SHP{order.shopify_order_id % 10**10:010d}"],
            "tracking_urls": [],
            "name": f"{order.name}.1",
            "destination": {"country_code": order.shipping_country or "TH"},
            "line_items": [
                {"id": i.get("id"), "title": i.get("title"), "quantity": i.get("quantity")}
                for i in order.line_items or []
            ],
            "created_at": utcnow().isoformat(),
            "updated_at": utcnow().isoformat(),
        }
        deliver("fulfillments/create", payload)
        return "fulfillments/create"
    status = _NEXT_SCAN.get(shipment.shipment_state)
    if status is None:
        return None
    now = utcnow()
    deliver(
        "fulfillment_events/create",
        {
            "id": int(now.timestamp() * 1000),
            "fulfillment_id": shipment.shopify_fulfillment_id,
            "order_id": order.shopify_order_id,
            "status": status,
            "message": status.replace("_", " ").capitalize(),
            "happened_at": now.isoformat(),
            "created_at": now.isoformat(),
            "city": "Bangkok",
            "country": "TH",
        },
    )
    return status
