"""What flows hold on a customer: their enrolments (email, customer id, the order that started each)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from app.flows.models import Flow, FlowEnrolment
from app.orders.privacy import CustomerRef


def _condition(customer: CustomerRef):
    conditions = []
    if customer.email:
        conditions.append(FlowEnrolment.email == customer.email.strip().lower())
    if customer.shopify_customer_id:
        conditions.append(FlowEnrolment.shopify_customer_id == customer.shopify_customer_id)
    if customer.shopify_order_ids:
        conditions.append(FlowEnrolment.shopify_order_id.in_(customer.shopify_order_ids))
    return or_(*conditions) if conditions else None


def export_customer_flows(session: Session, shop_id: int, customer: CustomerRef) -> dict[str, Any]:
    condition = _condition(customer)
    if condition is None:
        return {"flow_enrolments": []}
    rows = session.execute(
        select(FlowEnrolment, Flow.kind)
        .join(Flow, Flow.id == FlowEnrolment.flow_id)
        .where(FlowEnrolment.shop_id == shop_id, condition)
        .order_by(FlowEnrolment.id)
    ).all()
    return {
        "flow_enrolments": [
            {
                "flow": kind,
                "shopify_order_id": e.shopify_order_id,
                "status": e.status,
                "steps_sent": e.steps_sent,
                "enrolled_at": e.enrolled_at.isoformat() if e.enrolled_at else None,
            }
            for e, kind in rows
        ]
    }


def erase_customer_flows(session: Session, shop_id: int, customer: CustomerRef) -> int:
    """Delete the shopper's enrolments: nothing more is sent, and nothing names them."""
    condition = _condition(customer)
    if condition is None:
        return 0
    result = session.execute(delete(FlowEnrolment).where(FlowEnrolment.shop_id == shop_id, condition))
    return result.rowcount or 0
