"""What the event log keeps about a shopper (their email and order in each event's payload): exported, and
deleted on request. Events already delivered live on in the merchant's own tools, which the merchant answers for."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from app.integrations.models import OutgoingEvent
from app.orders.privacy import CustomerRef


def _condition(shop_id: int, customer: CustomerRef):
    conditions = []
    if customer.email:
        conditions.append(func.lower(OutgoingEvent.email) == customer.email.lower())
    if customer.shopify_order_ids:
        conditions.append(OutgoingEvent.shopify_order_id.in_(customer.shopify_order_ids))
    return (OutgoingEvent.shop_id == shop_id) & or_(*conditions) if conditions else None


def export_customer_events(session: Session, shop_id: int, customer: CustomerRef) -> dict[str, Any]:
    where = _condition(shop_id, customer)
    rows = (
        session.execute(select(OutgoingEvent).where(where).order_by(OutgoingEvent.id)).scalars()
        if where is not None
        else []
    )
    return {
        "events_sent_to_the_shops_tools": [
            {
                "event": row.event,
                "destination": row.destination,
                "status": row.status,
                "created_at": row.created_at.isoformat(),
                "payload": row.payload,
            }
            for row in rows
        ]
    }


def erase_customer_events(session: Session, shop_id: int, customer: CustomerRef) -> int:
    """Delete the customer's events (sent or not). Idempotent; does not commit."""
    where = _condition(shop_id, customer)
    if where is None:
        return 0
    return session.execute(delete(OutgoingEvent).where(where)).rowcount or 0
