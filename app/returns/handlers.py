"""Webhook handlers for `returns/*` (app/topics.py) and the returns side of a refund (app/subscribers.py).

A return made in the Shopify admin appears here as a request with source "shopify"; a return we created
ourselves is recognised by its Shopify id and only has its status followed. Steps recorded from webhooks
are keyed `shopify:<return id>:<topic>` so a repeated delivery records nothing new.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.orders.models import Order
from app.orders.services import PayloadError, parse_timestamp
from app.returns.models import ReturnLine, ReturnRequest, ReturnSyncOp
from app.returns.services import record_step
from app.shopify.models import Shop


class CreationInFlight(RuntimeError):
    """Our own returnRequest/returnCreate for this order is in flight; retry so the webhook finds its id."""


def _return_id(payload: dict[str, Any]) -> int:
    value = payload.get("id")
    if isinstance(value, bool) or not str(value or "").isdigit():
        raise PayloadError("return payload has no usable id")
    return int(value)


def _order_id(payload: dict[str, Any]) -> int | None:
    order = payload.get("order") or {}
    value = order.get("id") if isinstance(order, dict) else None
    value = value or payload.get("order_id")
    return int(value) if str(value or "").isdigit() else None


def _find(shop_id: int, shopify_return_id: int) -> ReturnRequest | None:
    return db.session.execute(
        select(ReturnRequest).where(
            ReturnRequest.shop_id == shop_id, ReturnRequest.shopify_return_id == shopify_return_id
        )
    ).scalar_one_or_none()


def _create_from_payload(shop: Shop, payload: dict[str, Any], status: str) -> ReturnRequest:
    shopify_return_id = _return_id(payload)
    order_id = _order_id(payload)
    if order_id is None:
        raise PayloadError("return payload names no order")
    in_flight = db.session.execute(
        select(ReturnSyncOp.id)
        .join(ReturnRequest, ReturnRequest.id == ReturnSyncOp.return_request_id)
        .where(
            ReturnRequest.shop_id == shop.id,
            ReturnRequest.shopify_order_id == order_id,
            ReturnSyncOp.operation == "create",
            ReturnSyncOp.status.in_(("pending", "sending")),
        )
    ).first()
    if in_flight is not None:
        raise CreationInFlight(f"a return for order {order_id} is being created by the app; retry")
    order = db.session.execute(
        select(Order).where(Order.shop_id == shop.id, Order.shopify_order_id == order_id)
    ).scalar_one_or_none()
    prices = {int(i["id"]): i for i in (order.line_items or [])} if order else {}
    request = ReturnRequest(
        shop_id=shop.id,
        shopify_order_id=order_id,
        order_id=order.id if order else None,
        shopify_return_id=shopify_return_id,
        shopify_return_gid=payload.get("admin_graphql_api_id") or f"gid://shopify/Return/{shopify_return_id}",
        name=payload.get("name"),
        idempotency_key=f"shopify:{shopify_return_id}",
        source="shopify",
        status=status,
        currency=(order.currency if order else None) or "USD",
        locale=(order.customer_locale or "en")[:2] if order else "en",
    )
    subtotal = Decimal("0.00")
    for item in payload.get("return_line_items") or []:
        fulfillment_line = item.get("fulfillment_line_item") or {}
        line_item = fulfillment_line.get("line_item") or item.get("line_item") or {}
        line_id = line_item.get("id")
        if not str(line_id or "").isdigit():
            continue
        known = prices.get(int(line_id), {})
        price = Decimal(str(known.get("price") or line_item.get("price") or "0"))
        quantity = int(item.get("quantity") or 1)
        subtotal += price * quantity
        request.lines.append(
            ReturnLine(
                shop_id=shop.id,
                shopify_line_item_id=int(line_id),
                fulfillment_line_item_gid=fulfillment_line.get("admin_graphql_api_id"),
                shopify_return_line_item_gid=item.get("admin_graphql_api_id"),
                title=str(known.get("title") or line_item.get("title") or line_item.get("name") or "Item")[:255],
                variant_title=known.get("variant_title") or line_item.get("variant_title"),
                shopify_product_id=known.get("product_id") or line_item.get("product_id"),
                shopify_variant_id=known.get("variant_id") or line_item.get("variant_id"),
                quantity=quantity,
                unit_price=price,
            )
        )
        if item.get("customer_note") and not request.comment:
            request.comment = str(item["customer_note"])[:1000]
        if item.get("return_reason") and not request.reason_code:
            request.reason_code = str(item["return_reason"]).lower()[:40]
    request.subtotal = subtotal
    request.refund_amount = subtotal
    db.session.add(request)
    db.session.flush()
    return request


def _follow(shop: Shop, payload: dict[str, Any], topic: str, status: str) -> ReturnRequest:
    request = _find(shop.id, _return_id(payload))
    created = request is None
    if request is None:
        request = _create_from_payload(shop, payload, "requested")
        record_step(db.session, request, "requested", "shopify", key=f"shopify:{request.shopify_return_id}:requested")
    if status == "requested" and created:
        return request
    if request.status == status or (status == "approved" and request.status not in ("requested", "declined")):
        return request  # already there or further along (our own action, echoed back)
    if request.status == "resolved" and status == "closed":
        return request
    note = None
    if status == "declined":
        decline = payload.get("decline") or {}
        request.decline_reason = (str(decline.get("reason") or "OTHER")).upper()[:40]
        request.decline_note = decline.get("note")
        note = request.decline_note
    request.status = status
    record_step(db.session, request, status, "shopify", note=note, key=f"shopify:{request.shopify_return_id}:{topic}")
    return request


def on_return_requested(shop: Shop, payload: dict[str, Any]) -> None:
    """returns/request: a return requested in Shopify (customer accounts or the admin)."""
    _follow(shop, payload, "request", "requested")


def on_return_approved(shop: Shop, payload: dict[str, Any]) -> None:
    """returns/approve: approved in the Shopify admin (or our own approval echoed back)."""
    _follow(shop, payload, "approve", "approved")


def on_return_declined(shop: Shop, payload: dict[str, Any]) -> None:
    _follow(shop, payload, "decline", "declined")


def on_return_canceled(shop: Shop, payload: dict[str, Any]) -> None:
    _follow(shop, payload, "cancel", "canceled")


def on_return_closed(shop: Shop, payload: dict[str, Any]) -> None:
    _follow(shop, payload, "close", "closed")


def on_return_reopened(shop: Shop, payload: dict[str, Any]) -> None:
    request = _find(shop.id, _return_id(payload))
    if request is None or request.status not in ("closed", "declined", "canceled", "resolved"):
        return
    request.status = "approved"
    record_step(
        db.session,
        request,
        "approved",
        "shopify",
        note="reopened",
        key=f"shopify:{request.shopify_return_id}:reopen:{len(request.steps)}",
    )


_STATUS_FROM_SHOPIFY = {
    "requested": "requested",
    "open": "approved",
    "declined": "declined",
    "closed": "closed",
    "canceled": "canceled",
}


def on_return_updated(shop: Shop, payload: dict[str, Any]) -> None:
    """returns/update: follow the status Shopify reports."""
    status = _STATUS_FROM_SHOPIFY.get(str(payload.get("status") or "").lower())
    if status is not None:
        _follow(shop, payload, f"update:{status}", status)


def on_refund_created(shop: Shop, payload: dict[str, Any]) -> None:
    """A refund stored from `refunds/create`: a refund of a return made in the Shopify admin resolves our
    copy of that return."""
    linked = payload.get("return") or {}
    if not isinstance(linked, dict) or not str(linked.get("id") or "").isdigit():
        return
    request = _find(shop.id, int(linked["id"]))
    if request is None or request.status in ("resolved", "closed", "declined", "canceled"):
        return
    request.status = "resolved"
    request.resolution = request.resolution or "refund"
    record_step(
        db.session,
        request,
        "resolved",
        "shopify",
        note="refunded in Shopify",
        key=f"shopify:refund:{payload.get('id')}",
        happened_at=parse_timestamp(payload.get("processed_at")) or parse_timestamp(payload.get("created_at")),
    )
