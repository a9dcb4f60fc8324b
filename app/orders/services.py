"""Idempotent, order-insensitive upserts of orders and fulfilments from REST-shaped payloads.

Webhooks and reconciliation both land here, so a missed webhook healed by a sync produces
exactly the row the webhook would have.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import dialect_insert, lock_until_commit, upsert_newer, utcnow, wrote_row
from app.orders import cleaning
from app.orders.models import Customer, Fulfillment, Order, Refund, TrackingEvent
from app.orders.queries import phone_key
from app.orders.status import from_shopify_event_status
from app.validation import email_address, web_url


class PayloadError(ValueError):
    """A payload we cannot use (missing id, wrong types): permanent, not worth retrying."""


def _usable(session: Session, payload: Any, shape: Mapping[str, Any], what: str, path: str = "") -> dict[str, Any]:
    """The payload with control characters removed and `shape`'s fields of the right type (app/orders/cleaning.py);
    what was changed is noted on the webhook delivery, by the field's path in the payload (`path` for an object
    inside it). Raises PayloadError when it is not an object at all."""
    if not isinstance(payload, dict):
        raise PayloadError(f"{what} payload is not an object")
    notes: list[str] = []
    cleaned = cleaning.conform(cleaning.strip_controls(payload, path, notes), shape, path, notes)
    cleaning.add_notes(session, notes)
    return cleaned


def _fit(session: Session, table: Any, values: dict[str, Any], what: str) -> dict[str, Any]:
    """Column values cut to their columns' lengths, wrong types dropped; changes noted on the delivery."""
    notes: list[str] = []
    fitted = cleaning.fit_to_columns(table, values, what, notes)
    cleaning.add_notes(session, notes)
    return fitted


def usable_order_payload(session: Session, payload: Any) -> dict[str, Any]:
    """An order payload made fit to store and to hand to the features (see `_usable`). Raises PayloadError."""
    return _usable(session, payload, cleaning.ORDER, "order")


def lock_order_webhooks(session: Session, shop_id: int, shopify_order_id: Any) -> None:
    """Serialise this transaction with every other webhook of the same order (the order, its fulfilments, their
    scans) until it commits. Two workers taking one order's webhooks at once otherwise each missed what the
    other had not committed yet: a scan processed while its fulfilment's row was being inserted found no
    fulfilment and was never applied (benchmarks/soak.py). An id that is not a number locks nothing (the
    handler then refuses the payload)."""
    if str(shopify_order_id or "").isdigit():
        lock_until_commit(session, f"order-webhooks:{shop_id}:{int(shopify_order_id)}")


def parse_timestamp(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise PayloadError(f"bad timestamp {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _money(payload: dict[str, Any], set_key: str, plain_key: str) -> tuple[Decimal | None, str | None]:
    money = ((payload.get(set_key) or {}).get("shop_money")) or {}
    raw = money.get("amount", payload.get(plain_key))
    if raw is None:
        return None, money.get("currency_code") or payload.get("currency")
    try:
        return Decimal(str(raw)), money.get("currency_code") or payload.get("currency")
    except InvalidOperation as exc:
        raise PayloadError(f"bad amount {raw!r}") from exc


def _required_id(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise PayloadError(f"payload has no usable {key!r}")
    return int(value)


def _line_items(payload: dict[str, Any]) -> list[dict[str, Any]]:
    items = []
    for item in payload.get("line_items") or []:
        price, _ = _money(item, "price_set", "price")
        items.append(
            {
                "id": item.get("id"),
                "product_id": item.get("product_id"),
                "variant_id": item.get("variant_id"),
                "title": item.get("title"),
                "variant_title": item.get("variant_title"),
                "sku": item.get("sku"),
                "quantity": item.get("quantity"),
                "price": str(price) if price is not None else None,
                "discount": str(_line_discount(item)),
            }
        )
    return items


def _line_discount(item: dict[str, Any]) -> Decimal:
    """What discounts took off the whole line (all units): its allocations, else the older total_discount."""
    allocations = item.get("discount_allocations") or []
    try:
        if allocations:
            total = sum((Decimal(str(a.get("amount") or "0")) for a in allocations), Decimal("0"))
        else:
            total = Decimal(str(item.get("total_discount") or "0"))
    except (InvalidOperation, TypeError):
        total = Decimal("0")
    return total.quantize(Decimal("0.01"))


def _order_email(payload: dict[str, Any]) -> Any:
    customer = payload.get("customer") or {}
    return payload.get("email") or payload.get("contact_email") or customer.get("email")


def _usable_email(session: Session, raw: Any, whose: str) -> str | None:
    """The address when it is one (app/validation.py), else None, noted on the webhook event: the order or
    customer still lands, without an address no message could safely be written to."""
    address = email_address(raw)
    if raw and address is None:
        cleaning.add_notes(session, [f"{whose} email left out: not a valid address"])
    return address


def order_values(shop_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """Map an order payload (webhook REST shape) to the columns we keep."""
    if not isinstance(payload, dict):
        raise PayloadError("order payload is not an object")
    customer = payload.get("customer") or {}
    shipping = payload.get("shipping_address") or {}
    total, currency = _money(payload, "current_total_price_set", "total_price")
    updated_at = parse_timestamp(payload.get("updated_at")) or parse_timestamp(payload.get("created_at"))
    order_number = payload.get("order_number")
    return {
        "shop_id": shop_id,
        "shopify_order_id": _required_id(payload, "id"),
        "admin_graphql_api_id": payload.get("admin_graphql_api_id"),
        "name": payload.get("name") or f"#{order_number}",
        "order_number": int(order_number) if str(order_number or "").isdigit() else None,
        "shopify_customer_id": int(customer["id"]) if str(customer.get("id") or "").isdigit() else None,
        # Only an address that cannot break out of a mail header is kept (upsert_order notes one left out).
        "email": email_address(_order_email(payload)),
        "phone": payload.get("phone") or customer.get("phone"),
        "customer_first_name": customer.get("first_name"),
        "customer_name": _full_name(customer, payload),
        "phone_key": phone_key(payload.get("phone") or customer.get("phone")),
        "customer_locale": payload.get("customer_locale"),
        "financial_status": payload.get("financial_status"),
        "fulfillment_status": payload.get("fulfillment_status"),
        "total_price": total,
        "currency": currency,
        "line_items": _line_items(payload),
        "shipping_country": (shipping.get("country_code") or None),
        "shipping_province": (shipping.get("province_code") or shipping.get("province") or None),
        "shipping_service": _shipping_service(payload),
        "cancelled_at": parse_timestamp(payload.get("cancelled_at")),
        "closed_at": parse_timestamp(payload.get("closed_at")),
        # Never empty: the admin lists orders newest first by it (and pages on it).
        "shopify_created_at": parse_timestamp(payload.get("created_at")) or updated_at or utcnow(),
        "shopify_updated_at": updated_at,
        "updated_at": utcnow(),
    }


def _shipping_service(payload: dict[str, Any]) -> str | None:
    """The shipping rate chosen at checkout: the first line not removed, by its title, else its code."""
    lines = payload.get("shipping_lines")
    if not isinstance(lines, list):
        return None
    for line in lines:
        if isinstance(line, dict) and not line.get("is_removed"):
            name = " ".join(str(line.get("title") or line.get("code") or "").split())
            if name:
                return name[:120]
    return None


def _full_name(customer: dict[str, Any], payload: dict[str, Any]) -> str | None:
    """The customer's name as support would type it: the customer's, else the billing or shipping address's."""
    for source in (customer, payload.get("billing_address") or {}, payload.get("shipping_address") or {}):
        if not isinstance(source, dict):
            continue
        name = " ".join(str(source.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
        name = name or str(source.get("name") or "").strip()
        if name:
            return " ".join(name.split())[:255]
    return None


def tracking_number_key(number: str | None) -> str | None:
    """A tracking number as the admin's search compares it: upper case, without spaces or dashes."""
    key = "".join(ch for ch in str(number or "") if ch.isalnum()).upper()
    return key[:64] or None


def fulfillment_values(shop_id: int, payload: dict[str, Any], order_id: int | None = None) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise PayloadError("fulfillment payload is not an object")
    numbers = payload.get("tracking_numbers") or (
        [payload["tracking_number"]] if payload.get("tracking_number") else []
    )
    urls = payload.get("tracking_urls") or ([payload["tracking_url"]] if payload.get("tracking_url") else [])
    destination = payload.get("destination") or {}
    return {
        "shop_id": shop_id,
        "shopify_fulfillment_id": _required_id(payload, "id"),
        "shopify_order_id": order_id if order_id is not None else _required_id(payload, "order_id"),
        "admin_graphql_api_id": payload.get("admin_graphql_api_id"),
        "name": payload.get("name"),
        "status": payload.get("status"),
        "shipment_status": payload.get("shipment_status"),
        "tracking_company": payload.get("tracking_company"),
        "tracking_numbers": [str(n) for n in numbers],
        # Only http(s) pages: these become links on the tracking page, in messages and in the widget.
        "tracking_urls": [url for url in (web_url(u) for u in urls if isinstance(u, str)) if url],
        "tracking_number": tracking_number_key(numbers[0]) if numbers else None,
        "line_items": [
            {
                "id": item.get("id"),
                "title": item.get("title"),
                "variant_title": item.get("variant_title"),
                "quantity": item.get("quantity"),
            }
            for item in payload.get("line_items") or []
        ],
        "destination_country": destination.get("country_code") or None,
        "shopify_created_at": parse_timestamp(payload.get("created_at")),
        "shopify_updated_at": parse_timestamp(payload.get("updated_at")) or parse_timestamp(payload.get("created_at")),
        "updated_at": utcnow(),
    }


def upsert_order(session: Session, shop_id: int, payload: dict[str, Any]) -> bool:
    """Insert or update an order (and the fulfilments it embeds) unless what we hold is newer.

    Idempotency key: (shop_id, shopify_order_id); `updated_at` decides between versions.
    Raises PayloadError when the payload cannot be used.
    """
    payload = usable_order_payload(session, payload)
    values = _fit(session, Order.__table__, order_values(shop_id, payload), "order")
    _usable_email(session, _order_email(payload), "order")
    changed = upsert_newer(session, Order.__table__, values, ["shop_id", "shopify_order_id"], "shopify_updated_at")
    for fulfillment in payload.get("fulfillments") or []:
        upsert_fulfillment(session, shop_id, fulfillment, order_id=values["shopify_order_id"])
    if payload.get("customer"):
        upsert_customer(session, shop_id, payload["customer"], fallback_locale=payload.get("customer_locale"))
    return changed


def upsert_customer(
    session: Session, shop_id: int, payload: dict[str, Any], fallback_locale: str | None = None
) -> bool:
    """Keep the customer's greeting name, contact and language. Key: (shop_id, shopify_customer_id)."""
    payload = _usable(session, payload, cleaning.CUSTOMER, "customer", path="customer")
    if not str(payload.get("id") or "").isdigit():
        return False
    values = {
        "shop_id": shop_id,
        "shopify_customer_id": int(payload["id"]),
        "first_name": payload.get("first_name"),
        "email": _usable_email(session, payload.get("email"), "customer"),
        "phone": payload.get("phone"),
        "locale": payload.get("locale") or fallback_locale,
        "orders_count": payload.get("orders_count"),
        "shopify_updated_at": parse_timestamp(payload.get("updated_at")) or utcnow(),
        "updated_at": utcnow(),
    }
    values = _fit(session, Customer.__table__, values, "customer")
    return upsert_newer(session, Customer.__table__, values, ["shop_id", "shopify_customer_id"], "shopify_updated_at")


def upsert_tracking_event(session: Session, shop_id: int, payload: dict[str, Any]) -> bool:
    """Store a fulfillment_events/create payload once. Key: (shop_id, "shopify", event id).

    Unknown statuses are kept verbatim in raw_status with a NULL normalised status.
    Raises PayloadError.
    """
    payload = _usable(session, payload, cleaning.TRACKING_EVENT, "fulfillment_event")
    event_id = _required_id(payload, "id")
    happened_at = parse_timestamp(payload.get("happened_at")) or parse_timestamp(payload.get("created_at"))
    if happened_at is None:
        raise PayloadError("fulfillment event has no happened_at")
    raw_status = payload.get("status")
    status = from_shopify_event_status(raw_status)
    order_id = payload.get("order_id")
    values = dict(
        shop_id=shop_id,
        shopify_fulfillment_id=_required_id(payload, "fulfillment_id"),
        shopify_order_id=int(order_id) if str(order_id or "").isdigit() else None,
        source="shopify",
        external_id=str(event_id),
        status=status.value if status else None,
        raw_status=str(raw_status) if raw_status else None,
        message=payload.get("message"),
        city=payload.get("city"),
        province=payload.get("province"),
        country=payload.get("country"),
        happened_at=happened_at,
        estimated_delivery_at=parse_timestamp(payload.get("estimated_delivery_at")),
        created_at=utcnow(),
    )
    stmt = (
        dialect_insert(session, TrackingEvent.__table__)
        .values(**_fit(session, TrackingEvent.__table__, values, "fulfillment_event"))
        .on_conflict_do_nothing(index_elements=["shop_id", "source", "external_id"])
    )
    return wrote_row(session, stmt, stmt.table)


def upsert_refund(session: Session, shop_id: int, payload: dict[str, Any]) -> bool:
    """Store a refunds/create payload once (refunds are immutable). Key: (shop_id, shopify_refund_id).

    Raises PayloadError when the payload cannot be used.
    """
    payload = _usable(session, payload, cleaning.REFUND, "refund")
    order_id = _required_id(payload, "order_id")
    amount, currency = _refund_money(payload)
    if currency is None:
        currency = session.execute(
            select(Order.currency).where(Order.shop_id == shop_id, Order.shopify_order_id == order_id)
        ).scalar_one_or_none()
    refund_return = payload.get("return") or {}
    values = dict(
        shop_id=shop_id,
        shopify_refund_id=_required_id(payload, "id"),
        shopify_order_id=order_id,
        amount=amount,
        currency=currency,
        note=payload.get("note"),
        line_items=[
            {"line_item_id": item.get("line_item_id"), "quantity": item.get("quantity")}
            for item in payload.get("refund_line_items") or []
        ],
        shopify_return_id=int(refund_return["id"]) if str(refund_return.get("id") or "").isdigit() else None,
        refunded_at=parse_timestamp(payload.get("processed_at")) or parse_timestamp(payload.get("created_at")),
        created_at=utcnow(),
    )
    stmt = (
        dialect_insert(session, Refund.__table__)
        .values(**_fit(session, Refund.__table__, values, "refund"))
        .on_conflict_do_nothing(index_elements=["shop_id", "shopify_refund_id"])
    )
    return wrote_row(session, stmt, stmt.table)


def _refund_money(payload: dict[str, Any]) -> tuple[Decimal, str | None]:
    """The refund's successful refund transactions added up, and their currency when the payload names it.

    A transaction with `amount_set` counts in shop money, like the order's total. Without it, its `amount` is in
    the transaction's currency, which is the order's presentment currency; Shopify may send that `currency` as
    null (its own sample does), so the refund's other money sets (line items, shipping, adjustments, duties) name
    it, presentment side first. None when nothing does: the caller falls back to the order's currency.
    """
    amount = Decimal("0")
    currency = None
    for transaction in payload.get("transactions") or []:
        if not isinstance(transaction, dict):
            continue
        if transaction.get("kind") == "refund" and transaction.get("status") in (None, "success"):
            value, value_currency = _money(transaction, "amount_set", "amount")
            amount += value or Decimal("0")
            currency = currency or value_currency
    if currency:
        return amount, currency
    parts = [
        item
        for key in ("transactions", "refund_line_items", "refund_shipping_lines", "order_adjustments", "duties")
        for item in payload.get(key) or []
        if isinstance(item, dict)
    ]
    return amount, _money_set_currency([*parts, payload])


def _money_set_currency(objects: list[dict[str, Any]]) -> str | None:
    """The first `currency_code` in the objects' `*_set` money bags (presentment, then shop money)."""
    for side in ("presentment_money", "shop_money"):
        for obj in objects:
            for key, bag in obj.items():
                if key.endswith("_set") and isinstance(bag, dict) and isinstance(bag.get(side), dict):
                    code = bag[side].get("currency_code")
                    # XXX is ISO 4217's "no currency", as in Shopify's sample `total_unsettled_set`.
                    if isinstance(code, str) and len(code) == 3 and code != "XXX":
                        return code
    return None


def upsert_fulfillment(session: Session, shop_id: int, payload: dict[str, Any], order_id: int | None = None) -> bool:
    """Insert or update a fulfilment unless what we hold is newer. It may arrive before its order.

    Idempotency key: (shop_id, shopify_fulfillment_id). Raises PayloadError.
    """
    payload = _usable(session, payload, cleaning.FULFILLMENT, "fulfillment")
    values = _fit(session, Fulfillment.__table__, fulfillment_values(shop_id, payload, order_id), "fulfillment")
    return upsert_newer(
        session,
        Fulfillment.__table__,
        values,
        ["shop_id", "shopify_fulfillment_id"],
        "shopify_updated_at",
    )
