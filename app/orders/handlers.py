"""Webhook handlers for the order and refund topics (listed in the wiring's app/topics.py).

The core stores the change, then announces it (app/events.py); the features that react to an order or a
refund (tracking, notifications, recommendations, returns) subscribe in app/subscribers.py.
"""

from __future__ import annotations

from typing import Any

from app.events import ORDER_UPSERTED, REFUND_CREATED, announce
from app.extensions import db
from app.orders import services
from app.shopify.models import Shop


def on_order_changed(shop: Shop, payload: dict[str, Any]) -> None:
    """orders/create, orders/updated, orders/cancelled: the payload is the whole order.

    The features hear the payload as it was made fit to store (a field of the wrong type dropped), not raw."""
    services.lock_order_webhooks(db.session, shop.id, payload.get("id") if isinstance(payload, dict) else None)
    payload = services.usable_order_payload(db.session, payload)
    services.upsert_order(db.session, shop.id, payload)
    announce(ORDER_UPSERTED, shop, payload)


def on_refund_created(shop: Shop, payload: dict[str, Any]) -> None:
    """refunds/create: kept on the order's timeline."""
    services.upsert_refund(db.session, shop.id, payload)
    announce(REFUND_CREATED, shop, payload)
