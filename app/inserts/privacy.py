"""What the inserts hold on a shopper: the scans of their orders' QR codes, and any batch PDF (it prints first
names). Call before the orders domain erases the customer's email and ids (the orders are matched by them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.inserts.models import InsertBatch, InsertLinkSync, InsertScan
from app.orders.models import Order
from app.orders.privacy import CustomerRef, matching_orders


def _customer_order_ids(session: Session, shop_id: int, customer: CustomerRef) -> list[int]:
    condition = matching_orders(customer)
    if condition is None:
        return []
    return list(session.execute(select(Order.id).where(Order.shop_id == shop_id, condition)).scalars())


def export_customer_inserts(session: Session, shop_id: int, customer: CustomerRef) -> dict[str, Any]:
    order_ids = _customer_order_ids(session, shop_id, customer)
    scans = (
        session.execute(
            select(InsertScan).where(InsertScan.shop_id == shop_id, InsertScan.order_id.in_(order_ids))
        ).scalars()
        if order_ids
        else []
    )
    return {
        "insert_scans": [
            {"order_id": s.order_id, "code": s.code, "scans": s.scans, "last_scanned_at": s.last_scanned_at.isoformat()}
            for s in scans
        ]
    }


def erase_customer_inserts(session: Session, shop_id: int, customer: CustomerRef) -> int:
    """Delete the customer's scans and metafield outbox rows, and the shop's batch PDFs (they may print the
    customer's first name; a batch is only a print job, made again in a click)."""
    order_ids = _customer_order_ids(session, shop_id, customer)
    changed = 0
    if order_ids:
        for model in (InsertScan, InsertLinkSync):
            changed += session.execute(
                delete(model).where(model.shop_id == shop_id, model.order_id.in_(order_ids))
            ).rowcount
    changed += session.execute(delete(InsertBatch).where(InsertBatch.shop_id == shop_id)).rowcount
    return changed
