"""What the thank-you page keeps on a customer: their order's answer to the shop's question (free text)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from app.extension_api.models import ThankYouAnswer
from app.orders.privacy import CustomerRef


def _condition(customer: CustomerRef):
    conditions = []
    if customer.shopify_order_ids:
        conditions.append(ThankYouAnswer.shopify_order_id.in_(customer.shopify_order_ids))
    if customer.shopify_customer_id:
        conditions.append(ThankYouAnswer.shopify_customer_id == customer.shopify_customer_id)
    return or_(*conditions) if conditions else None


def export_customer_answers(session: Session, shop_id: int, customer: CustomerRef) -> dict[str, Any]:
    condition = _condition(customer)
    rows = (
        session.execute(select(ThankYouAnswer).where(ThankYouAnswer.shop_id == shop_id, condition)).scalars()
        if condition is not None
        else []
    )
    return {
        "thank_you_answers": [
            {
                "shopify_order_id": row.shopify_order_id,
                "question": row.question,
                "answer": row.answer,
                "answered_at": row.created_at.isoformat() if row.created_at else None,
            }
            for row in rows
        ]
    }


def erase_customer_answers(session: Session, shop_id: int, customer: CustomerRef) -> int:
    """The answer is the shopper's own words: deleted, not kept anonymously."""
    condition = _condition(customer)
    if condition is None:
        return 0
    return session.execute(delete(ThankYouAnswer).where(ThankYouAnswer.shop_id == shop_id, condition)).rowcount
