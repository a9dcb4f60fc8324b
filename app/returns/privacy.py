"""What returns hold on a shopper: exported on customers/data_request, erased on customers/redact.

Returns link to their order by Shopify id, so the customer's returns are those of the customer's orders. The
order must be matched before the orders domain erases its email and phone, so call these first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.orders.models import Order
from app.orders.privacy import CustomerRef, matching_orders
from app.returns.models import CustomerLoyalty, ReturnFile, ReturnLine, ReturnRequest, ReturnStep


def _customer_order_ids(session: Session, shop_id: int, customer: CustomerRef) -> list[int]:
    ids = set(customer.shopify_order_ids)
    condition = matching_orders(customer)
    if condition is not None:
        ids.update(session.execute(select(Order.shopify_order_id).where(Order.shop_id == shop_id, condition)).scalars())
    return sorted(ids)


def _customer_returns(session: Session, shop_id: int, order_ids: list[int]) -> list[ReturnRequest]:
    if not order_ids:
        return []
    return list(
        session.execute(
            select(ReturnRequest)
            .where(ReturnRequest.shop_id == shop_id, ReturnRequest.shopify_order_id.in_(order_ids))
            .order_by(ReturnRequest.id)
        ).scalars()
    )


def export_customer_returns(session: Session, shop_id: int, customer: CustomerRef) -> dict[str, Any]:
    returns = _customer_returns(session, shop_id, _customer_order_ids(session, shop_id, customer))
    lines_by_return: dict[int, list[dict[str, Any]]] = {}
    if returns:
        for line in session.execute(
            select(ReturnLine).where(
                ReturnLine.shop_id == shop_id, ReturnLine.return_request_id.in_([r.id for r in returns])
            )
        ).scalars():
            lines_by_return.setdefault(line.return_request_id, []).append(
                {"title": line.title, "variant": line.variant_title, "quantity": line.quantity}
            )
    notes_by_return: dict[int, list[dict[str, Any]]] = {}
    photos_by_return: dict[int, list[dict[str, Any]]] = {}
    if returns:
        return_ids = [r.id for r in returns]
        for step in session.execute(
            select(ReturnStep).where(
                ReturnStep.shop_id == shop_id,
                ReturnStep.return_request_id.in_(return_ids),
                ReturnStep.note.is_not(None),
            )
        ).scalars():
            notes_by_return.setdefault(step.return_request_id, []).append(
                {"status": step.status, "note": step.note, "at": step.occurred_at.isoformat()}
            )
        for photo in session.execute(
            select(ReturnFile.return_request_id, ReturnFile.content_type, ReturnFile.size, ReturnFile.created_at).where(
                ReturnFile.shop_id == shop_id, ReturnFile.return_request_id.in_(return_ids), ReturnFile.kind == "photo"
            )
        ):
            photos_by_return.setdefault(photo.return_request_id, []).append(
                {"content_type": photo.content_type, "bytes": photo.size, "sent_at": photo.created_at.isoformat()}
            )
    loyalty = None
    if customer.shopify_customer_id:
        loyalty = session.execute(
            select(CustomerLoyalty).where(
                CustomerLoyalty.shop_id == shop_id, CustomerLoyalty.shopify_customer_id == customer.shopify_customer_id
            )
        ).scalar_one_or_none()
    return {
        "returns": [
            {
                "return": r.name,
                "shopify_order_id": r.shopify_order_id,
                "status": r.status,
                "resolution": r.resolution,
                "reason": r.reason_code,
                "comment": r.comment,
                "requested_at": r.requested_at.isoformat() if r.requested_at else None,
                "decline_note": r.decline_note,
                "items": lines_by_return.get(r.id, []),
                "notes": notes_by_return.get(r.id, []),
                "photos": photos_by_return.get(r.id, []),
            }
            for r in returns
        ],
        "loyalty": (
            {"orders_count": loyalty.orders_count, "amount_spent": str(loyalty.amount_spent), "tags": loyalty.tags}
            if loyalty
            else None
        ),
    }


def erase_customer_returns(session: Session, shop_id: int, customer: CustomerRef) -> int:
    """Remove what the shopper wrote or sent (comments, notes, photos) and their loyalty figures; the returns
    themselves stay (amounts and reasons are the merchant's records). Returns the returns touched. No commit."""
    return_ids = [r.id for r in _customer_returns(session, shop_id, _customer_order_ids(session, shop_id, customer))]
    if return_ids:
        session.execute(
            update(ReturnRequest)
            .where(ReturnRequest.shop_id == shop_id, ReturnRequest.id.in_(return_ids))
            .values(comment=None, decline_note=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(ReturnStep)
            .where(ReturnStep.shop_id == shop_id, ReturnStep.return_request_id.in_(return_ids))
            .values(note=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            delete(ReturnFile)
            .where(
                ReturnFile.shop_id == shop_id,
                ReturnFile.return_request_id.in_(return_ids),
                ReturnFile.kind == "photo",
            )
            .execution_options(synchronize_session=False)
        )
    if customer.shopify_customer_id:
        session.execute(
            delete(CustomerLoyalty)
            .where(
                CustomerLoyalty.shop_id == shop_id, CustomerLoyalty.shopify_customer_id == customer.shopify_customer_id
            )
            .execution_options(synchronize_session=False)
        )
    return len(return_ids)
