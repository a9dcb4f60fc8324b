"""Notifications' part of an order change (app/subscribers.py): what the shopper agreed to at checkout."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, exists, literal, select

from app.events import DomainEvent
from app.extensions import db
from app.notifications.models import Notification
from app.notifications.preferences import get_preference, hold_marketing, record_opt_in
from app.notifications.triggers import plan_notifications
from app.orders.models import Fulfillment
from app.shopify.models import Shop

# The status change that put each of an order's parcels where it is now, for parcels nothing was planned for
# yet: at most a few index lookups, and nothing at all for an order whose parcels have been told about.
_UNTOLD_SHIPMENT_NEWS = (
    select(DomainEvent)
    .join(
        Fulfillment,
        and_(
            Fulfillment.shop_id == DomainEvent.shop_id,
            DomainEvent.dedupe_key
            == literal("shipment:")
            + Fulfillment.shopify_fulfillment_id.cast(db.String)
            + ":status:"
            + Fulfillment.shipment_state,
        ),
    )
    .where(
        Fulfillment.shop_id == bindparam("shop_id"),
        Fulfillment.shopify_order_id == bindparam("order_id"),
        Fulfillment.shipment_state.is_not(None),
        DomainEvent.dispatched_at.is_not(None),
        ~exists().where(
            Notification.shop_id == Fulfillment.shop_id,
            Notification.shopify_order_id == Fulfillment.shopify_order_id,
            Notification.shopify_fulfillment_id == Fulfillment.shopify_fulfillment_id,
        ),
    )
    .order_by(DomainEvent.id)
)


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


def plan_news_held_for_the_order(shop: Shop, payload: dict[str, Any]) -> None:
    """A parcel's news that arrived before its order (webhooks come in any order) could not be planned then,
    having no order to address it from: plan it now that the order is here, for where the parcel is now.

    Idempotent: `plan_notifications` dedupes on its keys, and a parcel told about is not looked at again.
    """
    order_id = payload.get("id")
    if not str(order_id or "").isdigit():
        return
    for event in db.session.execute(_UNTOLD_SHIPMENT_NEWS, {"shop_id": shop.id, "order_id": int(order_id)}).scalars():
        plan_notifications(event)


def hold_marketing_for_unhappy_shopper(event: DomainEvent) -> None:
    """Event subscriber: while a shopper's unhappy survey answer waits for the merchant, no marketing (the
    recommendation cards in emails) goes to them; released when the merchant marks it handled."""
    if event.kind not in ("survey.detractor", "survey.detractor_handled"):
        return
    data = event.data or {}
    order_id = data.get("shopify_order_id")
    if not isinstance(order_id, int):
        return
    hold_marketing(db.session, event.shop_id, data.get("email"), order_id, held=event.kind == "survey.detractor")
