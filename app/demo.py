"""The demo store: embedded defaults (SQLite, inline jobs), seeded through the real webhook path."""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_migrate import upgrade

from app.db import utcnow
from app.extensions import db
from app.shopify.inbox import Delivery, enqueue_processing, store_delivery
from app.shopify.models import Shop
from app.shopify.shops import get_shop, shop_id_for_domain
from app.shopify.topics import ALL_HANDLERS

DEMO_SHOP_DOMAIN = "aftercart-demo.myshopify.com"


def _order(
    number: int,
    days_ago: float,
    email: str,
    first_name: str,
    items: list[tuple[str, str, int]],
    financial: str = "paid",
    locale: str = "en",
    phone: str | None = None,
) -> dict[str, Any]:
    placed = utcnow() - timedelta(days=days_ago)
    total = sum(float(price) * qty for _, price, qty in items)
    return {
        "id": 5_900_000_000_000 + number,
        "admin_graphql_api_id": f"gid://shopify/Order/{5_900_000_000_000 + number}",
        "name": f"#{number}",
        "order_number": number,
        "email": email,
        "phone": phone,
        "customer_locale": locale,
        "customer": {
            "id": 7_100_000_000_000 + number,
            "first_name": first_name,
            "email": email,
            "updated_at": placed.isoformat(),
        },
        "financial_status": financial,
        "fulfillment_status": None,
        "currency": "THB",
        "total_price": f"{total:.2f}",
        "current_total_price_set": {"shop_money": {"amount": f"{total:.2f}", "currency_code": "THB"}},
        "shipping_address": {"country_code": "TH", "province_code": "TH-10"},
        "line_items": [
            {
                "id": number * 100 + i,
                "title": title,
                "quantity": qty,
                "price": price,
                "product_id": 9_000_000 + i,
                "variant_id": 9_100_000 + i,
            }
            for i, (title, price, qty) in enumerate(items)
        ],
        "created_at": placed.isoformat(),
        "updated_at": (placed + timedelta(minutes=5)).isoformat(),
        "cancelled_at": None,
        "fulfillments": [],
    }


def _fulfillment(
    order: dict[str, Any],
    suffix: int,
    days_ago: float,
    company: str,
    number: str,
    item_ids: list[int] | None = None,
) -> dict[str, Any]:
    created = utcnow() - timedelta(days=days_ago)
    items = [i for i in order["line_items"] if item_ids is None or i["id"] in item_ids]
    return {
        "id": order["order_number"] * 10 + suffix,
        "order_id": order["id"],
        "status": "success",
        "shipment_status": None,
        "tracking_company": company,
        "tracking_numbers": [number],
        "tracking_urls": [],
        "name": f"{order['name']}.{suffix}",
        "destination": {"country_code": "TH"},
        "line_items": [{"id": i["id"], "title": i["title"], "quantity": i["quantity"]} for i in items],
        "created_at": created.isoformat(),
        "updated_at": created.isoformat(),
    }


def _scan(
    fulfillment: dict[str, Any],
    n: int,
    status: str,
    days_ago: float,
    message: str,
    city: str | None = "Bangkok",
) -> dict[str, Any]:
    happened = utcnow() - timedelta(days=days_ago)
    return {
        "id": fulfillment["id"] * 100 + n,
        "fulfillment_id": fulfillment["id"],
        "order_id": fulfillment["order_id"],
        "status": status,
        "message": message,
        "happened_at": happened.isoformat(),
        "created_at": happened.isoformat(),
        "city": city,
        "country": "TH",
        "estimated_delivery_at": None,
    }


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
    ordered = _order(1001, 0.2, "pending@example.com", "Pat", [("Gift card", "500.00", 1)], financial="pending")
    confirmed = _order(
        1002,
        0.5,
        "somchai@example.com",
        "Somchai",
        [("Cotton tee", "390.00", 2)],
        locale="th",
        phone="+66812345678",
    )
    deliveries += [("orders/create", ordered), ("orders/create", confirmed)]
    for number, name, locale, item, scans, company, tracking in _JOURNEYS:
        days = (scans[0][0] + 1) if scans else 1.5
        order = _order(number, days, f"{name.lower()}@example.com", name, [(item, "590.00", 1)], locale=locale)
        fulfillment = _fulfillment(order, 1, days - 0.5, company, tracking)
        if not scans:
            fulfillment["status"] = "open"  # packed and labelled, not collected yet
        deliveries += [("orders/create", order), ("fulfillments/create", fulfillment)]
        deliveries += [
            ("fulfillment_events/create", _scan(fulfillment, n, status, ago, message))
            for n, (ago, status, message) in enumerate(scans, start=1)
        ]
    split = _order(1013, 5, "grace@example.com", "Grace", [("Pillow", "450.00", 2), ("Duvet", "1990.00", 1)])
    first = _fulfillment(split, 1, 4, "Kerry Express", "SHP5012345613", [split["line_items"][0]["id"]])
    second = _fulfillment(split, 2, 1, "Flash Express", "TH0123456791C", [split["line_items"][1]["id"]])
    deliveries += [
        ("orders/create", split),
        ("fulfillments/create", first),
        ("fulfillments/create", second),
        ("fulfillment_events/create", _scan(first, 1, "carrier_picked_up", 3.8, "Picked up")),
        ("fulfillment_events/create", _scan(first, 2, "delivered", 2, "Delivered to reception")),
        ("fulfillment_events/create", _scan(second, 1, "in_transit", 0.5, "Arrived at Chatuchak hub")),
    ]
    cancelled = _order(1014, 3, "henry@example.com", "Henry", [("Backpack", "1290.00", 1)], financial="voided")
    deliveries += [
        ("orders/create", cancelled),
        (
            "orders/cancelled",
            dict(cancelled, cancelled_at=utcnow().isoformat(), updated_at=utcnow().isoformat()),
        ),
    ]
    return deliveries


def demo_tracking_links(shop_id: int) -> list[tuple[str, str, str]]:
    """(order name, status, path of its signed tracking page) for every demo order."""
    from sqlalchemy import select

    from app.orders.models import Order
    from app.storefront.links import make_track_token

    orders = db.session.execute(select(Order).where(Order.shop_id == shop_id).order_by(Order.order_number)).scalars()
    return [(o.name, o.status, f"/l/track/{make_track_token(shop_id, o.id)}") for o in orders]


def setup_demo() -> Shop:
    """Migrate the demo database and seed the demo shop once (idempotent)."""
    os.makedirs(current_app.instance_path, exist_ok=True)
    upgrade()
    shop = get_shop(db.session, DEMO_SHOP_DOMAIN)
    if shop is not None and shop.is_installed:
        return shop
    shop_id_for_domain(db.session, DEMO_SHOP_DOMAIN)
    shop = get_shop(db.session, DEMO_SHOP_DOMAIN)
    assert shop is not None
    shop.name = "Aftercart Demo Store"
    shop.currency = "THB"
    shop.iana_timezone = "Asia/Bangkok"
    shop.is_installed = True
    shop.installed_at = utcnow()
    db.session.commit()
    from app.recommendations.demo import seed_demo_catalogue

    seed_demo_catalogue(shop)  # products (webhooks) and pins, so every page can show recommendations
    for topic, payload in demo_deliveries():
        _deliver(topic, payload)
    from app.tracking.monitor import check_shop

    check_shop(db.session, shop.id)  # flags the parcel whose estimate has passed as delayed
    db.session.commit()
    from app.returns.demo import seed_demo_returns

    seed_demo_returns(shop)  # returns in several states, two loyalty tiers in use
    return shop


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
        _deliver("fulfillments/create", payload)
        return "fulfillments/create"
    status = _NEXT_SCAN.get(shipment.shipment_state)
    if status is None:
        return None
    now = utcnow()
    _deliver(
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


def _deliver(topic: str, payload: dict[str, Any]) -> None:
    result = store_delivery(
        db.session,
        Delivery(
            shop_domain=DEMO_SHOP_DOMAIN,
            topic=topic,
            webhook_id=f"demo-{uuid.uuid4()}",
            api_version=current_app.config["SETTINGS"].shopify_api_version,
            event_id=None,
            triggered_at=utcnow(),
            body=json.dumps(payload).encode(),
        ),
        set(ALL_HANDLERS),
    )
    if result.event_id:
        enqueue_processing(result.event_id)
