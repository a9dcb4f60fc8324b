"""What notifications hold on a customer: their addresses in the delivery log and preferences."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, false, or_, select, update
from sqlalchemy.orm import Session

from app.notifications.models import ContactPreference, Notification
from app.notifications.preferences import normalise_phone
from app.orders.privacy import CustomerRef


def _addresses(customer: CustomerRef) -> list[str]:
    values = [customer.email.strip().lower() if customer.email else None, normalise_phone(customer.phone)]
    return [v for v in values if v]


def export_customer_notifications(session: Session, shop_id: int, customer: CustomerRef) -> dict[str, Any]:
    conditions = [Notification.recipient.in_(_addresses(customer))]
    if customer.shopify_order_ids:
        conditions.append(Notification.shopify_order_id.in_(customer.shopify_order_ids))
    rows = session.execute(select(Notification).where(Notification.shop_id == shop_id, or_(*conditions))).scalars()
    preferences = session.execute(
        select(ContactPreference).where(ContactPreference.shop_id == shop_id, _preference_condition(customer))
    ).scalars()
    return {
        "contact_preferences": [
            {
                "channel": p.channel,
                "address": p.address,
                "updates_consent": p.updates_consent,
                "marketing_consent": p.marketing_consent,
                "is_opted_out": p.is_opted_out,
                "source": p.source,
                "updated_at": p.updated_at.isoformat() if p.updated_at else None,
            }
            for p in preferences
        ],
        "notifications": [
            {
                "trigger": n.trigger,
                "channel": n.channel,
                "recipient": n.recipient,
                "status": n.status,
                "sent_at": n.sent_at.isoformat() if n.sent_at else None,
            }
            for n in rows
        ],
    }


def erase_customer_notifications(session: Session, shop_id: int, customer: CustomerRef) -> int:
    """Blank the recipient and rendered content of their messages and forget their preferences
    (an opt-out of an address we no longer hold has nothing left to protect)."""
    addresses = _addresses(customer)
    conditions = [Notification.recipient.in_(addresses)] if addresses else []
    if customer.shopify_order_ids:
        conditions.append(Notification.shopify_order_id.in_(customer.shopify_order_ids))
    erased = 0
    if conditions:
        erased = (
            session.execute(
                update(Notification)
                .where(Notification.shop_id == shop_id, or_(*conditions))
                .values(recipient=None, subject=None, body_text=None, body_html=None)
                .execution_options(synchronize_session=False)
            ).rowcount
            or 0
        )
    session.execute(
        delete(ContactPreference)
        .where(ContactPreference.shop_id == shop_id, _preference_condition(customer))
        .execution_options(synchronize_session=False)
    )
    return erased


def _preference_condition(customer: CustomerRef):
    addresses = _addresses(customer)
    conditions = [ContactPreference.address.in_(addresses)] if addresses else []
    if customer.email:
        conditions.append(ContactPreference.email == customer.email.strip().lower())
    if customer.shopify_customer_id:
        conditions.append(ContactPreference.shopify_customer_id == customer.shopify_customer_id)
    return or_(*conditions) if conditions else false()
