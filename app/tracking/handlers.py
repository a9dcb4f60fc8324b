"""Webhook handlers for the fulfilment and scan topics (app/topics.py), and tracking's part of an order
change (app/subscribers.py): the parcel's state is re-derived from everything stored."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.orders import services
from app.shopify.models import Shop
from app.tracking.services import refresh_order_shipments, refresh_shipment


def on_fulfillment_changed(shop: Shop, payload: dict[str, Any]) -> None:
    """fulfillments/create and fulfillments/update."""
    services.lock_order_webhooks(db.session, shop.id, _order_id(payload))
    services.upsert_fulfillment(db.session, shop.id, payload)
    refresh_shipment(db.session, shop.id, int(payload["id"]))


def on_fulfillment_event_created(shop: Shop, payload: dict[str, Any]) -> None:
    """fulfillment_events/create: a scan. Stored once; the shipment is re-derived from all its scans."""
    services.lock_order_webhooks(db.session, shop.id, _order_id(payload))
    services.upsert_tracking_event(db.session, shop.id, payload)
    refresh_shipment(db.session, shop.id, int(payload["fulfillment_id"]))


def _order_id(payload: dict[str, Any]) -> Any:
    return payload.get("order_id") if isinstance(payload, dict) else None


def on_order_upserted(shop: Shop, payload: dict[str, Any]) -> None:
    """An order stored or changed (a cancellation, an edit): its shipments' states follow."""
    refresh_order_shipments(db.session, shop.id, int(payload["id"]))
