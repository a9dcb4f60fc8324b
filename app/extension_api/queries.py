"""Read-only: what the thank-you answers add up to, for the merchant's page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.extension_api.models import ThankYouAnswer
from app.orders.models import Order


def answer_counts(session: Session, shop_id: int, limit: int = 10) -> list[tuple[str, int]]:
    """The most given answers, told apart regardless of case, most first."""
    key = func.lower(ThankYouAnswer.answer)
    rows = session.execute(
        select(func.min(ThankYouAnswer.answer), func.count())
        .where(ThankYouAnswer.shop_id == shop_id)
        .group_by(key)
        .order_by(func.count().desc(), key)
        .limit(limit)
    ).all()
    return [(answer, count) for answer, count in rows]


def latest_answers(session: Session, shop_id: int, limit: int = 20) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ThankYouAnswer, Order.id, Order.name)
        .outerjoin(
            Order,
            (Order.shop_id == ThankYouAnswer.shop_id) & (Order.shopify_order_id == ThankYouAnswer.shopify_order_id),
        )
        .where(ThankYouAnswer.shop_id == shop_id)
        .order_by(ThankYouAnswer.created_at.desc(), ThankYouAnswer.id.desc())
        .limit(limit)
    ).all()
    return [{"answer": a, "order_id": order_id, "order_name": name} for a, order_id, name in rows]


def count_answers(session: Session, shop_id: int) -> int:
    return session.execute(
        select(func.count()).select_from(ThankYouAnswer).where(ThankYouAnswer.shop_id == shop_id)
    ).scalar_one()
