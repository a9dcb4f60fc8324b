"""Read-only: find an order the way a shopper names it (what their confirmation says, plus email or phone), by
our id, or the way support looks for one (`search_orders`: one box, filters, newest first, page by page)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    bindparam,
    exists,
    func,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session, load_only

from app.orders.models import Fulfillment, Order
from app.orders.status import Status

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


def phone_key(value: str | None) -> str | None:
    """A phone as orders are searched by it: its last nine digits (the national number), None if too short."""
    digits = _phone_digits(value)
    return digits if len(digits) >= 8 else None


def find_order_for_shopper(
    session: Session, shop_id: int, order_ref: str | None, email: str | None, phone: str | None
) -> Order | None:
    """The order when number AND (email or phone) match; None otherwise, without saying which part failed."""
    condition = order_ref_condition(order_ref)
    email = (email or "").strip().lower()
    wanted_phone = phone_key(phone)
    if condition is None or not (email or wanted_phone):
        return None
    candidates = session.execute(select(Order).where(Order.shop_id == shop_id, condition).limit(5)).scalars()
    for order in candidates:
        if email and order.email and order.email.strip().lower() == email:
            return order
        if wanted_phone and _phone_digits(order.phone) == wanted_phone:
            return order
    return None


def find_order_by_id(session: Session, shop_id: int, order_id: int) -> Order | None:
    """The shop's order with our id, or None (another shop's id finds nothing)."""
    return session.execute(select(Order).where(Order.id == order_id, Order.shop_id == shop_id)).scalar_one_or_none()


# What the admin's status filter offers besides the order's own status: flags its parcels carry.
FLAG_FILTERS = ("delayed", "stalled", "overdue")
STATUS_FILTERS = tuple(status.value for status in Status if status != Status.LABEL_CREATED) + FLAG_FILTERS
PAGE_SIZE = 50
_EMAIL = re.compile(r"\A[^@\s]+@[^@\s]+\Z")


@dataclass(frozen=True)
class OrderSearch:
    """What support asked for: one search box and the filters. Every field optional."""

    text: str = ""
    status: str | None = None
    carrier: str | None = None
    placed_from: date | None = None
    placed_to: date | None = None  # inclusive, in the shop's time zone


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    next_cursor: str | None  # opaque to the page: "<placed time iso>|<id>" of the last row


def _order_ids(shop_id: int, *conditions: ColumnElement[bool]) -> Select:
    return select(Order.id).where(Order.shop_id == shop_id, *conditions)


def _parcel_order_ids(shop_id: int, condition: ColumnElement[bool]) -> Select:
    """The shop's orders with a parcel matching `condition`, found from the parcels' side (their own index)."""
    return (
        select(Order.id)
        .join(
            Fulfillment,
            (Fulfillment.shop_id == Order.shop_id) & (Fulfillment.shopify_order_id == Order.shopify_order_id),
        )
        .where(Fulfillment.shop_id == shop_id, condition)
    )


def _any_of(branches: list[Select]) -> ColumnElement[bool] | None:
    """Orders any branch finds. Each branch is one indexed lookup of the shop's orders, so the page reads the few
    orders they find and sorts those: an OR of the same conditions, one of them on the parcels, made PostgreSQL walk
    every order of the shop newest first and test each one (150-750 ms at 10,000 orders a shop; benchmarks/admin.py)."""
    if not branches:
        return None
    return Order.id.in_(branches[0] if len(branches) == 1 else union_all(*branches))


def _text_condition(shop_id: int, raw: str) -> ColumnElement[bool] | None:
    """What the search box means, by its shape: an email, an order name or number, a phone, a tracking
    number, a customer's name (a prefix). Each shape uses its own index; several may apply at once."""
    text = " ".join(raw.split())
    if not text:
        return None
    if _EMAIL.match(text):
        return func.lower(Order.email) == text.lower()
    branches: list[Select] = []
    by_name = order_ref_condition(text)
    if by_name is not None:
        branches.append(_order_ids(shop_id, by_name))
    wanted_phone = phone_key(text) if re.fullmatch(r"[+\d\s().-]{8,}", text) else None
    if wanted_phone:
        branches.append(_order_ids(shop_id, Order.phone_key == wanted_phone))
    tracking = "".join(ch for ch in text if ch.isalnum()).upper()
    if len(tracking) >= 6:
        branches.append(_parcel_order_ids(shop_id, Fulfillment.tracking_number == tracking[:64]))
    if not text.isdigit():
        pattern = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # The pattern inline, not bound: the app's prepared statements keep generic plans (app/db.py), and a generic
        # plan cannot turn `LIKE $1` into an index range, so it read every order of the shop (50 ms at 10,000).
        prefix = bindparam(None, pattern, type_=String(), literal_execute=True)
        branches.append(_order_ids(shop_id, func.lower(Order.customer_name).like(prefix, escape="\\")))
    return _any_of(branches)


def _status_condition(shop_id: int, status: str) -> ColumnElement[bool] | None:
    if status in ("delayed", "stalled"):
        flag = Fulfillment.is_delayed if status == "delayed" else Fulfillment.is_stalled
        # The bare column, not `IS true`: only that matches the partial indexes' predicate (WHERE is_delayed).
        branches = [_parcel_order_ids(shop_id, flag)]
        if status == "delayed":
            branches.append(_order_ids(shop_id, Order.status == status))
        return _any_of(branches)
    if status == "overdue":
        return Order.is_fulfillment_overdue.is_(True)
    if status in STATUS_FILTERS:
        return Order.status == status
    return None


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz).astimezone(UTC)


def order_search_query(shop_id: int, search: OrderSearch, tz: ZoneInfo) -> Select:
    """The shop's orders matching `search`, newest first (placed time, then id: the keyset)."""
    query = select(Order).where(Order.shop_id == shop_id)
    text_condition = _text_condition(shop_id, search.text or "")
    if search.text and search.text.strip() and text_condition is None:
        return query.where(Order.id.is_(None))  # nothing can match what was typed
    if text_condition is not None:
        query = query.where(text_condition)
    if search.status:
        status_condition = _status_condition(shop_id, search.status)
        if status_condition is not None:
            query = query.where(status_condition)
    if search.carrier:
        query = query.where(
            exists().where(
                Fulfillment.shop_id == Order.shop_id,
                Fulfillment.shopify_order_id == Order.shopify_order_id,
                Fulfillment.carrier_code == search.carrier,
            )
        )
    if search.placed_from:
        query = query.where(Order.shopify_created_at >= _local_midnight(search.placed_from, tz))
    if search.placed_to:
        query = query.where(Order.shopify_created_at < _local_midnight(search.placed_to + timedelta(days=1), tz))
    return query.order_by(Order.shopify_created_at.desc(), Order.id.desc())


def _after(cursor: str | None) -> ColumnElement[bool] | None:
    if not cursor or "|" not in cursor:
        return None
    placed, _, row_id = cursor.partition("|")
    try:
        placed_at = bindparam(None, datetime.fromisoformat(placed), type_=Order.shopify_created_at.type)
        # A row comparison, so PostgreSQL starts the index scan at the cursor instead of filtering up to it.
        return tuple_(Order.shopify_created_at, Order.id) < tuple_(placed_at, bindparam(None, int(row_id)))
    except ValueError:
        return None


def search_orders(
    session: Session,
    shop_id: int,
    search: OrderSearch,
    tz: ZoneInfo,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> OrderPage:
    """One page of the shop's orders matching `search`, newest first, after `cursor` (keyset paging: a page
    costs the same at the millionth order as at the first)."""
    query = order_search_query(shop_id, search, tz)
    after = _after(cursor)
    if after is not None:
        query = query.where(after)
    rows = list(session.execute(query.limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = f"{last.shopify_created_at.isoformat()}|{last.id}"
    return OrderPage(orders=rows, next_cursor=next_cursor)


def iter_search_pages(
    session: Session, shop_id: int, search: OrderSearch, tz: ZoneInfo, chunk: int = 500
) -> Iterator[list[Order]]:
    """Every order matching `search`, newest first, a page at a time (for the CSV export)."""
    cursor = None
    while True:
        page = search_orders(session, shop_id, search, tz, cursor=cursor, limit=chunk)
        yield page.orders
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def carriers_in_use(session: Session, shop_id: int) -> list[tuple[str, str]]:
    """(code, name) of every carrier the shop's parcels went with, for the carrier filter.

    On PostgreSQL a skip scan over the (shop_id, carrier_code) index: one probe per carrier, not one row per
    parcel, so it stays instant at millions of parcels."""
    if session.get_bind().dialect.name != "postgresql":
        rows = session.execute(
            select(Fulfillment.carrier_code, func.max(Fulfillment.carrier_name))
            .where(Fulfillment.shop_id == shop_id, Fulfillment.carrier_code.is_not(None))
            .group_by(Fulfillment.carrier_code)
        ).all()
        return sorted((code, name or code) for code, name in rows)
    codes = (
        session.execute(
            text(
                """
            WITH RECURSIVE codes(code) AS (
                SELECT min(carrier_code) FROM fulfillments WHERE shop_id = :shop_id
                UNION ALL
                SELECT (SELECT min(carrier_code) FROM fulfillments WHERE shop_id = :shop_id AND carrier_code > code)
                FROM codes WHERE code IS NOT NULL
            )
            SELECT code FROM codes WHERE code IS NOT NULL
            """
            ),
            {"shop_id": shop_id},
        )
        .scalars()
        .all()
    )
    found = []
    for code in codes:
        name = session.execute(
            select(Fulfillment.carrier_name)
            .where(Fulfillment.shop_id == shop_id, Fulfillment.carrier_code == code)
            .limit(1)
        ).scalar()
        found.append((code, name or code))
    return sorted(found)


# What a list row shows of each parcel (templates/admin/_orders_table.html, the CSV): the rest of the row, the
# JSON columns above all, is neither read nor decoded for a page of 50 orders.
LIST_PARCEL_COLUMNS = (
    Fulfillment.shopify_order_id,
    Fulfillment.shopify_created_at,
    Fulfillment.carrier_name,
    Fulfillment.tracking_number,
    Fulfillment.shipment_state,
    Fulfillment.is_delayed,
    Fulfillment.is_stalled,
)


def shipments_by_order(session: Session, shop_id: int, orders: list[Order]) -> dict[int, list[Fulfillment]]:
    """The parcels of a page of orders, in one read, by Shopify order id."""
    ids = [order.shopify_order_id for order in orders]
    found: dict[int, list[Fulfillment]] = {order_id: [] for order_id in ids}
    if not ids:
        return found
    rows = session.execute(
        select(Fulfillment)
        .options(load_only(*LIST_PARCEL_COLUMNS, raiseload=True))
        .where(Fulfillment.shop_id == shop_id, Fulfillment.shopify_order_id.in_(ids))
        .order_by(Fulfillment.shopify_created_at, Fulfillment.id)
    ).scalars()
    for fulfillment in rows:
        found[fulfillment.shopify_order_id].append(fulfillment)
    return found
