"""What recommendations keep about a shopper (a customer key on order baskets and clicks): exported and
erased on request.

The models' counts (products bought together) are not personal data and stay; only the link from a basket or
a click to the person is removed, so the shopper's history can no longer be put back together.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.orders.privacy import CustomerRef
from app.recommendations.model_build import customer_key
from app.recommendations.models import OrderBasket, RecommendationClick


def customer_keys(customer: CustomerRef) -> list[str]:
    keys = [customer_key(customer.shopify_customer_id, None), customer_key(None, customer.email)]
    return [key for key in keys if key]


def _basket_condition(shop_id: int, customer: CustomerRef, keys: list[str]):
    conditions = [OrderBasket.customer_key.in_(keys)] if keys else []
    if customer.shopify_order_ids:
        conditions.append(OrderBasket.shopify_order_id.in_(customer.shopify_order_ids))
    return (OrderBasket.shop_id == shop_id) & or_(*conditions) if conditions else None


def export_customer_recommendation_data(session: Session, shop_id: int, customer: CustomerRef) -> dict[str, Any]:
    """The customer's baskets (what each order counted in the models) and their clicks on recommendations."""
    keys = customer_keys(customer)
    baskets_where = _basket_condition(shop_id, customer, keys)
    baskets = session.execute(select(OrderBasket).where(baskets_where)).scalars() if baskets_where is not None else []
    clicks = (
        session.execute(
            select(RecommendationClick).where(
                RecommendationClick.shop_id == shop_id, RecommendationClick.customer_key.in_(keys)
            )
        ).scalars()
        if keys
        else []
    )
    return {
        "recommendation_baskets": [
            {
                "shopify_order_id": b.shopify_order_id,
                "ordered_at": b.ordered_at.isoformat(),
                "shopify_product_ids": b.product_ids,
            }
            for b in baskets
        ],
        "recommendation_clicks": [
            {
                "placement": c.placement,
                "shopify_product_id": c.shopify_product_id,
                "clicked_at": c.clicked_at.isoformat(),
            }
            for c in clicks
        ],
    }


def erase_customer_recommendation_data(session: Session, shop_id: int, customer: CustomerRef) -> int:
    """Forget which baskets and clicks were the customer's (customers/redact). Returns rows changed.

    Idempotent: a second run finds nothing left to change. Does not commit."""
    keys = customer_keys(customer)
    if not keys:
        return 0
    changed = 0
    for model in (OrderBasket, RecommendationClick):
        result = session.execute(
            update(model).where(model.shop_id == shop_id, model.customer_key.in_(keys)).values(customer_key=None)
        )
        changed += result.rowcount or 0
    if customer.shopify_order_ids:
        result = session.execute(
            update(OrderBasket)
            .where(OrderBasket.shop_id == shop_id, OrderBasket.shopify_order_id.in_(customer.shopify_order_ids))
            .values(customer_key=None)
        )
        changed += result.rowcount or 0
    return changed
