"""What the order page's audit trail holds about a shopper: internal notes on their orders (free text that may
name them). Exported on request; on erasure the notes' text goes and the audit lines (who did what, when) stay."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.admin.models import OrderActivity
from app.orders.privacy import CustomerRef


def export_order_activity(session: Session, shop_id: int, customer: CustomerRef) -> dict[str, Any]:
    if not customer.shopify_order_ids:
        return {"order_activity": []}
    rows = session.execute(
        select(OrderActivity)
        .where(OrderActivity.shop_id == shop_id, OrderActivity.shopify_order_id.in_(customer.shopify_order_ids))
        .order_by(OrderActivity.id)
    ).scalars()
    return {
        "order_activity": [
            {
                "shopify_order_id": row.shopify_order_id,
                "action": row.action,
                "note": row.note,
                "at": row.created_at.isoformat(),
            }
            for row in rows
        ]
    }


def erase_order_activity(session: Session, shop_id: int, customer: CustomerRef) -> int:
    """Blank the notes on the customer's orders. Idempotent; does not commit."""
    if not customer.shopify_order_ids:
        return 0
    result = session.execute(
        update(OrderActivity)
        .where(
            OrderActivity.shop_id == shop_id,
            OrderActivity.shopify_order_id.in_(customer.shopify_order_ids),
            OrderActivity.note.is_not(None),
        )
        .values(note=None)
    )
    return result.rowcount or 0
