"""Read-only: find an order the way a shopper names it (what their confirmation says, plus email or phone) or by
our id."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from app.orders.models import Order

ORDER_REF = re.compile(r"\A#?\s*(\d{1,12})\Z")


# What an order name can look like with Shopify's order-ID prefix and suffix setting: `EU-1237-B`, `#SHOP1001`.
_ORDER_NAME = re.compile(r"\A[0-9A-Z][0-9A-Z\-_./ ]{0,62}\Z")


def parse_order_ref(raw: str | None) -> int | None:
    """`#1001`, `1001` and ` 1001 ` all mean order number 1001."""
    match = ORDER_REF.match((raw or "").strip())
    return int(match.group(1)) if match else None


def order_ref_condition(raw: str | None) -> ColumnElement[bool] | None:
    """Orders the shopper may mean by what they typed: the order name exactly as their confirmation shows it,
    whatever the shop's prefix or suffix (`EU-1237-B`, `#1001`; case, spaces and a leading `#` aside), or,
    for plain digits, the order number. None when the text cannot name an order."""
    text = " ".join((raw or "").split()).upper().lstrip("#").strip()
    if not text or not _ORDER_NAME.match(text):
        return None
    conditions = [func.upper(Order.name).in_([text, "#" + text])]
    number = parse_order_ref(text)
    if number is not None:
        conditions.append(Order.order_number == number)
    return or_(*conditions)


def _phone_digits(value: str | None) -> str:
    digits = re.sub(r"\D", "", value or "")
    # Compare national numbers: +66 81 234 5678 and 081-234-5678 are the same phone.
    return digits[-9:] if len(digits) >= 9 else digits


def find_order_for_shopper(
    session: Session, shop_id: int, order_ref: str | None, email: str | None, phone: str | None
) -> Order | None:
    """The order when number AND (email or phone) match; None otherwise, without saying which part failed."""
    condition = order_ref_condition(order_ref)
    email = (email or "").strip().lower()
    phone_key = _phone_digits(phone)
    if condition is None or not (email or len(phone_key) >= 8):
        return None
    candidates = session.execute(select(Order).where(Order.shop_id == shop_id, condition).limit(5)).scalars()
    for order in candidates:
        if email and order.email and order.email.strip().lower() == email:
            return order
        if phone_key and len(phone_key) >= 8 and _phone_digits(order.phone) == phone_key:
            return order
    return None


def find_order_by_id(session: Session, shop_id: int, order_id: int) -> Order | None:
    """The shop's order with our id, or None (another shop's id finds nothing)."""
    return session.execute(select(Order).where(Order.id == order_id, Order.shop_id == shop_id)).scalar_one_or_none()
