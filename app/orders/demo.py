"""Demo data kit: Shopify payloads for demo orders, fulfilments and scans, and a way to deliver them through
the real webhook intake. Every feature's `demo.py` builds its demo data with these; the wiring's app/demo.py
runs the seeders."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from flask import current_app

from app.config import DEMO_SHOP_DOMAIN
from app.db import utcnow
from app.extensions import db
from app.registry import registry
from app.shopify.inbox import Delivery, enqueue_processing, store_delivery


def order_payload(
    number: int,
    days_ago: float,
    email: str,
    first_name: str,
    items: list[tuple[str, str, int]],
    financial: str = "paid",
    locale: str = "en",
    phone: str | None = None,
) -> dict[str, Any]:
    """An `orders/create` payload as Shopify sends it, for a demo order placed `days_ago`."""
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
        # the rate chosen at checkout: every third demo order paid for express (analytics: by shipping service)
        "shipping_lines": [
            {
                "id": 6_100_000_000_000 + number,
                "title": "Express" if number % 3 == 0 else "Standard",
                "code": "EXPRESS" if number % 3 == 0 else "STANDARD",
                "price": "80.00" if number % 3 == 0 else "40.00",
                "source": "shopify",
                "is_removed": False,
            }
        ],
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


def fulfillment_payload(
    order: dict[str, Any],
    suffix: int,
    days_ago: float,
    company: str,
    number: str,
    item_ids: list[int] | None = None,
) -> dict[str, Any]:
    """A `fulfillments/create` payload for some (default: all) of the order's items."""
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


def scan_payload(
    fulfillment: dict[str, Any],
    n: int,
    status: str,
    days_ago: float,
    message: str,
    city: str | None = "Bangkok",
) -> dict[str, Any]:
    """A `fulfillment_events/create` payload: one scan of the parcel."""
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


def deliver(topic: str, payload: dict[str, Any]) -> None:
    """Send a demo webhook through the real intake (stored, then processed: inline without Redis)."""
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
        registry().all_handlers,
    )
    if result.event_id:
        enqueue_processing(result.event_id)
