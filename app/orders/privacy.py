"""What the orders domain holds on a customer: exported on data requests, erased on redaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from app.orders.models import Customer, Fulfillment, Order


@dataclass(frozen=True)
class CustomerRef:
    """Whom a privacy request is about. Shopify may know the customer only by email."""

    shopify_customer_id: int | None = None
    email: str | None = None
    phone: str | None = None
    shopify_order_ids: list[int] = field(default_factory=list)

    def identifiers(self) -> list[str]:
        values = [self.email, self.phone, str(self.shopify_customer_id) if self.shopify_customer_id else None]
        return [v for v in values if v] + [str(i) for i in self.shopify_order_ids]


def matching_orders(customer: CustomerRef):
    conditions = []
    if customer.shopify_customer_id:
        conditions.append(Order.shopify_customer_id == customer.shopify_customer_id)
    if customer.email:
        conditions.append(Order.email.ilike(customer.email))
    if customer.phone:
        conditions.append(Order.phone == customer.phone)
    if customer.shopify_order_ids:
        conditions.append(Order.shopify_order_id.in_(customer.shopify_order_ids))
    return or_(*conditions) if conditions else None


def export_customer_data(session: Session, shop_id: int, customer: CustomerRef) -> dict[str, Any]:
    condition = matching_orders(customer)
    if condition is None:
        return {"orders": []}
    orders = session.execute(select(Order).where(Order.shop_id == shop_id, condition)).scalars().all()
    order_ids = [o.shopify_order_id for o in orders]
    fulfillments = session.execute(
        select(Fulfillment).where(Fulfillment.shop_id == shop_id, Fulfillment.shopify_order_id.in_(order_ids))
    ).scalars()
    by_order: dict[int, list[dict[str, Any]]] = {}
    for f in fulfillments:
        by_order.setdefault(f.shopify_order_id, []).append(
            {
                "status": f.status,
                "shipment_status": f.shipment_status,
                "tracking_company": f.tracking_company,
                "tracking_numbers": f.tracking_numbers or [],
            }
        )
    customer_condition = _matching_customers(customer)
    profiles = (
        session.execute(select(Customer).where(Customer.shop_id == shop_id, customer_condition)).scalars().all()
        if customer_condition is not None
        else []
    )
    return {
        "customer_profiles": [
            {"first_name": c.first_name, "email": c.email, "phone": c.phone, "locale": c.locale} for c in profiles
        ],
        "orders": [
            {
                "order": o.name,
                "shopify_order_id": o.shopify_order_id,
                "email": o.email,
                "phone": o.phone,
                "first_name": o.customer_first_name,
                "name": o.customer_name,
                "locale": o.customer_locale,
                "placed_at": o.shopify_created_at.isoformat() if o.shopify_created_at else None,
                "items": [{"title": i.get("title"), "quantity": i.get("quantity")} for i in (o.line_items or [])],
                "shipments": by_order.get(o.shopify_order_id, []),
            }
            for o in orders
        ],
    }


def _matching_customers(customer: CustomerRef):
    conditions = []
    if customer.shopify_customer_id:
        conditions.append(Customer.shopify_customer_id == customer.shopify_customer_id)
    if customer.email:
        conditions.append(Customer.email.ilike(customer.email))
    if customer.phone:
        conditions.append(Customer.phone == customer.phone)
    return or_(*conditions) if conditions else None


def erase_customer_data(session: Session, shop_id: int, customer: CustomerRef) -> int:
    """Erase the customer's PII from their orders (the orders stay, for the merchant's analytics)
    and delete their customer record."""
    customer_condition = _matching_customers(customer)
    if customer_condition is not None:
        session.execute(
            delete(Customer)
            .where(Customer.shop_id == shop_id, customer_condition)
            .execution_options(synchronize_session=False)
        )
    condition = matching_orders(customer)
    if condition is None:
        return 0
    result = session.execute(
        update(Order)
        .where(Order.shop_id == shop_id, condition)
        .values(
            email=None,
            phone=None,
            phone_key=None,
            customer_first_name=None,
            customer_name=None,
            customer_locale=None,
            shopify_customer_id=None,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
