"""Notifications' part of an order change (app/subscribers.py): what the shopper agreed to at checkout."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.notifications.preferences import get_preference, record_opt_in
from app.shopify.models import Shop


def record_checkout_consent(shop: Shop, payload: dict[str, Any]) -> None:
    """What the shopper agreed to at checkout: marketing by email, texts to their phone.

    Only agreement is recorded here; withdrawing happens through our own unsubscribe links and STOP,
    which a later order payload must not silently undo.
    """
    customer = payload.get("customer") or {}
    email = payload.get("email") or customer.get("email")
    customer_id = int(customer["id"]) if str(customer.get("id") or "").isdigit() else None
    email_consent = (customer.get("email_marketing_consent") or {}).get("state")
    sms_consent = customer.get("sms_marketing_consent") or {}
    phone = payload.get("sms_marketing_phone") or sms_consent.get("phone") or customer.get("phone")
    agreed = (
        ("email", email, payload.get("buyer_accepts_marketing") is True or email_consent == "subscribed"),
        ("sms", phone, sms_consent.get("state") == "subscribed"),
    )
    for channel, address, consented in agreed:
        if not (address and consented):
            continue
        preference = get_preference(db.session, shop.id, channel, address)
        if preference is None or not preference.is_opted_out:
            record_opt_in(
                db.session,
                shop.id,
                channel,
                address,
                "checkout",
                updates=True,
                marketing=True,
                shopify_customer_id=customer_id,
                email=email,
            )
