"""Read-only questions other features may ask about returns (public functions, listed in pyproject.toml)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.returns.models import OPEN_STATUSES, ReturnRequest


def order_has_open_return(session: Session, shop_id: int, shopify_order_id: int) -> bool:
    """Whether a return of this order is still open (requested, approved, on its way back, being inspected):
    a review request waits for it to end."""
    return (
        session.execute(
            select(ReturnRequest.id)
            .where(
                ReturnRequest.shop_id == shop_id,
                ReturnRequest.shopify_order_id == shopify_order_id,
                ReturnRequest.status.in_(OPEN_STATUSES),
            )
            .limit(1)
        ).first()
        is not None
    )
