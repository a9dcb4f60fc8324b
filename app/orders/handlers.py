"""Webhook handlers for order, fulfilment, tracking-event and refund topics (app/shopify/topics.py)."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.notifications.preferences import get_preference, record_opt_in
from app.orders import services
from app.shopify.models import Shop
from app.tracking.services import refresh_order_shipments, refresh_shipment


def on_order_changed(shop: Shop, payload: dict[str, Any]) -> None:
    """orders/create, orders/updated, orders/cancelled: the payload is the whole order."""
    services.upsert_order(db.session, shop.id, payload)
    from app.recommendations.jobs import on_order_upserted

    on_order_upserted(db.session, shop.id, payload)  # attribution now; model update queued after commit
    record_checkout_consent(shop.id, payload)
    refresh_order_shipments(db.session, shop.id, int(payload["id"]))


def record_checkout_consent(shop_id: int, payload: dict[str, Any]) -> None:
    """What the shopper agreed to at checkout: marketing by email, texts to their phone.

    Only agreement is recorded here; withdrawing happens through our own unsubscribe links and STOP,
    which a later order payload must not silently undo.
    """
    customer = payload.get("customer") or {}
    email = payload.get("email") or customer.get("email")
    customer_id = int(customer["id"]) if str(customer.get("id") or "").isdigit() else None
    email_consent = (customer.get("email_marketing_consent") or {}).get("state")
    if email and (payload.get("buyer_accepts_marketing") is True or email_consent == "subscribed"):
        preference = get_preference(db.session, shop_id, "email", email)
        if preference is None or not preference.is_opted_out:
            record_opt_in(
                db.session,
                shop_id,
                "email",
                email,
                "checkout",
                updates=True,
                marketing=True,
                shopify_customer_id=customer_id,
                email=email,
            )
    sms_consent = customer.get("sms_marketing_consent") or {}
    phone = payload.get("sms_marketing_phone") or sms_consent.get("phone") or customer.get("phone")
    if phone and sms_consent.get("state") == "subscribed":
        preference = get_preference(db.session, shop_id, "sms", phone)
        if preference is None or not preference.is_opted_out:
            record_opt_in(
                db.session,
                shop_id,
                "sms",
                phone,
                "checkout",
                updates=True,
                marketing=True,
                shopify_customer_id=customer_id,
                email=email,
            )


def on_fulfillment_changed(shop: Shop, payload: dict[str, Any]) -> None:
    """fulfillments/create and fulfillments/update."""
    services.upsert_fulfillment(db.session, shop.id, payload)
    refresh_shipment(db.session, shop.id, int(payload["id"]))


def on_fulfillment_event_created(shop: Shop, payload: dict[str, Any]) -> None:
    """fulfillment_events/create: a scan. Stored once; the shipment is re-derived from all its scans."""
    services.upsert_tracking_event(db.session, shop.id, payload)
    refresh_shipment(db.session, shop.id, int(payload["fulfillment_id"]))


def on_refund_created(shop: Shop, payload: dict[str, Any]) -> None:
    """refunds/create: kept on the order's timeline."""
    services.upsert_refund(db.session, shop.id, payload)
