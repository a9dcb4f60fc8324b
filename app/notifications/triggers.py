"""From domain events to notifications: which trigger an event is, for whom, on which channels.

Each planned message gets a row (even when policy suppresses it, so the merchant can see why) with a
unique dedupe key `<trigger>:<scope>:<channel>`; sending is queued after commit.
"""

from __future__ import annotations

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from app.events import DomainEvent
from app.extensions import db
from app.notifications.channels import configured_channels
from app.notifications.models import ContactPreference, NotificationSettings
from app.notifications.preferences import normalise_address
from app.notifications.services import (
    channel_enabled,
    create_notification,
    default_notification_settings,
    recipient_for,
)
from app.orders.models import Customer, Fulfillment, Order

SHIPMENT_TRIGGERS = {
    "shipped": "shipped",
    "out_for_delivery": "out_for_delivery",
    "delivered": "delivered",
    "attempted_delivery": "attempted_delivery",
    "ready_for_pickup": "ready_for_pickup",
    "exception": "exception",
    "returned_to_sender": "exception",
}

# A return's steps the shopper hears about (app/returns/services.py records them as domain events).
RETURN_TRIGGERS = {
    "requested": "return_requested",
    "approved": "return_approved",
    "declined": "return_declined",
    "received": "return_received",
    "resolved": "return_resolved",
}


def _trigger_for(session: Session, event: DomainEvent) -> tuple[str, str] | None:
    """(trigger, scope) for an event, or None when it is not worth a message."""
    data = event.data or {}
    if event.kind == "order.status_changed":
        target = data.get("to")
        if target == "confirmed":
            return "order_confirmed", f"order:{event.shopify_order_id}"
        if target == "delivered" and _shipment_count(session, event) > 1:
            return "order_delivered", f"order:{event.shopify_order_id}"
        return None
    if event.kind == "shipment.status_changed":
        target = data.get("to")
        if target == "in_transit" and data.get("from") in (None, "label_created", "confirmed"):
            target = "shipped"  # the first movement we hear of is the "it shipped" moment
        trigger = SHIPMENT_TRIGGERS.get(target or "")
        if trigger is None:
            return None
        if trigger == "delivered" and _shipment_count(session, event) > 1:
            return None  # a split order gets one "all delivered" message instead of one per parcel
        return trigger, f"shipment:{event.shopify_fulfillment_id}"
    if event.kind in ("shipment.delayed", "shipment.stalled"):
        # One "running late" message per estimate the parcel misses: a delay and a stall found together are one
        # piece of news, and a revised estimate that passes too is the next one.
        return "delayed", f"shipment:{event.shopify_fulfillment_id}:late:{_estimate_end(session, event)}"
    if event.kind == "shipment.estimate_changed":
        return "in_transit", f"shipment:{event.shopify_fulfillment_id}:{event.id}"
    if event.kind == "survey.due" and isinstance(data.get("survey_id"), int):
        return "delivery_survey", f"survey:{data['survey_id']}"
    if event.kind == "content.released" and isinstance(data.get("entry_id"), int):
        # One message per order and piece of content, whichever parcel released it.
        return "product_content", f"content:{event.shopify_order_id}:{data['entry_id']}"
    if event.kind == "review.requested":
        return "review_request", f"review_request:{data.get('request_id')}"
    if event.kind == "review.replied":
        return "review_reply", f"review_reply:{data.get('reply_id')}"
    if event.kind == "flow.step_sent" and isinstance(data.get("enrolment_id"), int):
        return "flow_step", f"flow:{data['enrolment_id']}:step:{data.get('step')}"
    if event.kind == "return.status_changed":
        trigger = RETURN_TRIGGERS.get(data.get("to") or "")
        return (trigger, f"return:{data.get('return_id')}") if trigger else None
    return None


def _estimate_end(session: Session, event: DomainEvent) -> str:
    """The estimate the shopper is now given for the parcel (a delay's revised one), as the news it is about."""
    revised = (event.data or {}).get("new_to")
    if revised:
        return str(revised)
    current = session.execute(
        select(Fulfillment.estimate_to).where(
            Fulfillment.shop_id == event.shop_id, Fulfillment.shopify_fulfillment_id == event.shopify_fulfillment_id
        )
    ).scalar()
    return current.isoformat() if current else "unknown"


def _shipment_count(session: Session, event: DomainEvent) -> int:
    return session.execute(
        select(func.count()).where(
            Fulfillment.shop_id == event.shop_id,
            Fulfillment.shopify_order_id == event.shopify_order_id,
            Fulfillment.shipment_state != "cancelled",
        )
    ).scalar_one()


# Built once per process, values bound per event (building and keying them anew cost a third of running them).
_ORDER_SETTINGS_LOCALE = (  # the order, the shop's settings and the customer's language
    select(Order, NotificationSettings, Customer.locale)
    .outerjoin(NotificationSettings, NotificationSettings.shop_id == Order.shop_id)
    .outerjoin(
        Customer,
        and_(Customer.shop_id == Order.shop_id, Customer.shopify_customer_id == Order.shopify_customer_id),
    )
    .where(Order.shop_id == bindparam("shop_id"), Order.shopify_order_id == bindparam("order_id"))
)
_SHOPPER_PREFERENCES = (  # the shopper's preference rows on every channel
    select(ContactPreference)
    .where(
        ContactPreference.shop_id == bindparam("shop_id"),
        or_(
            and_(ContactPreference.channel == "email", ContactPreference.address == bindparam("email_address")),
            and_(ContactPreference.channel == "sms", ContactPreference.address == bindparam("phone")),
            and_(
                ContactPreference.channel == "line",
                or_(
                    ContactPreference.email == bindparam("line_email"),
                    ContactPreference.shopify_customer_id == bindparam("line_customer"),
                ),
            ),
        ),
    )
    .order_by(ContactPreference.updated_at.desc())
)


def plan_notifications(event: DomainEvent) -> list[int]:
    """Subscriber: create the notifications an event calls for (idempotent on dedupe keys)."""
    session = db.session
    planned = _trigger_for(session, event)
    if planned is None or event.shopify_order_id is None:
        return []
    trigger, scope = planned
    # The order, the shop's settings and the customer's language in one statement (each costs every message).
    found = session.execute(
        _ORDER_SETTINGS_LOCALE, {"shop_id": event.shop_id, "order_id": event.shopify_order_id}
    ).first()
    if found is None:
        return []
    order, settings, customer_locale = found
    settings = settings if settings is not None else default_notification_settings(event.shop_id)
    from app.i18n import negotiate_locale

    locale = negotiate_locale(order.customer_locale, customer_locale)
    channels = [channel for channel in ("email", "sms", "line") if channel_enabled(settings, trigger, channel)]
    if trigger == "delivery_survey":
        channels = survey_channels(settings, (event.data or {}).get("channels"))
    if trigger == "flow_step":  # the channel the flow's step chose (app/flows), if it is set up
        channels = [c for c in ("email", "sms", "line") if c == (event.data or {}).get("channel")]
        channels = [c for c in channels if c in configured_channels()]
    contacts = shopper_contacts(session, order, channels)
    created = []
    for channel in channels:
        notification_id = create_notification(
            session,
            shop_id=event.shop_id,
            trigger=trigger,
            channel=channel,
            dedupe_key=f"{trigger}:{scope}:{channel}",
            order=order,
            shopify_fulfillment_id=event.shopify_fulfillment_id,
            domain_event_id=event.id,
            locale=locale,
            contact=contacts[channel],
            event_at=event.happened_at or event.occurred_at,
            settings=settings,
        )
        if notification_id:
            created.append(notification_id)
    return created


def survey_channels(settings: NotificationSettings, chosen: object) -> list[str]:
    """A survey goes out on the channels the merchant picked on the survey page that are set up, unless the
    merchant switched the survey message off for a channel on the notifications page."""
    picked = chosen if isinstance(chosen, list) else ["email", "sms", "line"]
    switched = (settings.triggers or {}).get("delivery_survey", {})
    return [
        channel
        for channel in ("email", "sms", "line")
        if channel in picked and channel in configured_channels() and switched.get(channel) is not False
    ]


def shopper_contacts(
    session: Session, order: Order, channels: list[str]
) -> dict[str, tuple[str | None, ContactPreference | None]]:
    """(recipient, its preference row) per channel for the order's shopper, as `recipient_for` and
    `policy.consent_allows` would give them, from one read of the shopper's rows."""
    email = recipient_for(session, order, "email")
    phone = recipient_for(session, order, "sms")
    email_key = normalise_address("email", email)  # how a preference row stores the address
    line = "line" in channels
    wanted = {  # None matches no row: a channel not asked for, or an address the shopper did not give
        "email_address": email_key if "email" in channels and email_key else None,
        "phone": phone if "sms" in channels and phone else None,
        "line_email": email if line and email else None,  # as line_user_for finds the connection
        "line_customer": order.shopify_customer_id if line else None,
    }
    rows = (
        session.execute(_SHOPPER_PREFERENCES, {"shop_id": order.shop_id, **wanted}).scalars().all()
        if any(value is not None for value in wanted.values())
        else []
    )
    contacts: dict[str, tuple[str | None, ContactPreference | None]] = {
        "email": (email, None),
        "sms": (phone, None),
        "line": (None, None),
    }
    for row in rows:
        if row.channel == "line" and contacts["line"][0] is None:
            contacts["line"] = (row.address, row)  # the newest connection
        elif row.channel == "email" and row.address == email_key:
            contacts["email"] = (email, row)
        elif row.channel == "sms" and row.address == phone:
            contacts["sms"] = (phone, row)
    return contacts
