"""What the content library keeps about a shopper: which content was released for their orders (and when).
Exported, and deleted on request; the entries themselves are the merchant's texts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.content.models import ContentEntry, ContentRelease
from app.orders.privacy import CustomerRef


def export_customer_content(session: Session, shop_id: int, customer: CustomerRef) -> dict[str, Any]:
    if not customer.shopify_order_ids:
        return {"product_content_released": []}
    rows = session.execute(
        select(ContentRelease, ContentEntry.kind)
        .join(ContentEntry, ContentEntry.id == ContentRelease.entry_id)
        .where(ContentRelease.shop_id == shop_id, ContentRelease.shopify_order_id.in_(customer.shopify_order_ids))
        .order_by(ContentRelease.id)
    ).all()
    return {
        "product_content_released": [
            {
                "order": release.shopify_order_id,
                "content": kind,
                "status": release.status,
                "due_at": release.due_at.isoformat(),
                "released_at": release.released_at.isoformat() if release.released_at else None,
            }
            for release, kind in rows
        ]
    }


def erase_customer_content(session: Session, shop_id: int, customer: CustomerRef) -> int:
    """Delete the releases of the customer's orders. Idempotent; does not commit."""
    if not customer.shopify_order_ids:
        return 0
    return (
        session.execute(
            delete(ContentRelease).where(
                ContentRelease.shop_id == shop_id, ContentRelease.shopify_order_id.in_(customer.shopify_order_ids)
            )
        ).rowcount
        or 0
    )
