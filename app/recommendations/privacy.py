"""What recommendations keep about a shopper (a customer key on order baskets and clicks): erased on request.

The models' counts (products bought together) are not personal data and stay; only the link from a basket or
a click to the person is removed, so the shopper's history can no longer be put back together.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.orders.privacy import CustomerRef
from app.recommendations.model_build import customer_key
from app.recommendations.models import OrderBasket, RecommendationClick


def customer_keys(customer: CustomerRef) -> list[str]:
    keys = [customer_key(customer.shopify_customer_id, None), customer_key(None, customer.email)]
    return [key for key in keys if key]


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
