"""Reconciliation: poll the Admin API for orders updated since the last sync, because webhooks can be lost.

Orders come back as GraphQL nodes and are converted to the REST shape of the orders/* and
fulfillments/* webhook payloads, then fed through the same upserts, so a missed webhook healed
here produces the row the webhook would have, and an older copy never overwrites a newer one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.jobs import enqueue, job_id, redis_connection, with_app_context
from app.orders.services import PayloadError, parse_timestamp, upsert_order
from app.shopify.graphql import AdminClient, AuthFailed
from app.shopify.models import Shop

log = logging.getLogger(__name__)

# Shopify refuses any query whose requested cost exceeds 1000 points (MAX_COST_EXCEEDED), and nested
# connections multiply (SHOPIFY-FACTS.md §6.1): a page of 5 orders, each with 10 line items and 3
# fulfilments (3 tracking numbers, 10 items each), stays near 700. Orders with more get a follow-up
# query of their own.
PAGE_SIZE = 5
LINE_ITEMS_FIRST = 10
FULFILLMENTS_FIRST = 3
TRACKING_FIRST = 3
FULFILLMENT_ITEMS_FIRST = 10
DETAIL_LINE_ITEMS_FIRST = 50
DETAIL_FULFILLMENTS_FIRST = 10
DETAIL_TRACKING_FIRST = 10
DETAIL_FULFILLMENT_ITEMS_FIRST = 20
# Re-read a little before the last sync: Shopify's search index lags writes by a few seconds.
SYNC_OVERLAP = timedelta(minutes=2)
FIRST_SYNC_WINDOW = timedelta(days=30)

_LINE_ITEM_FIELDS = """
          id
          title
          variantTitle
          sku
          quantity
          variant { id }
          product { id }
          originalUnitPriceSet { shopMoney { amount currencyCode } }
          totalDiscountSet { shopMoney { amount } }"""


def _fulfillments_field(first: int, tracking_first: int, items_first: int) -> str:
    return f"""
      fulfillments(first: {first}) {{
        id
        name
        status
        displayStatus
        createdAt
        updatedAt
        trackingInfo(first: {tracking_first}) {{ company number url }}
        fulfillmentLineItems(first: {items_first}) {{
          pageInfo {{ hasNextPage }}
          nodes {{ quantity lineItem {{ id title variantTitle }} }}
        }}
      }}"""


ORDERS_QUERY = f"""
query ReconcileOrders($first: Int!, $after: String, $query: String!) {{
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id
      name
      number
      email
      phone
      displayFinancialStatus
      displayFulfillmentStatus
      currentTotalPriceSet {{ shopMoney {{ amount currencyCode }} }}
      createdAt
      updatedAt
      cancelledAt
      closedAt
      customerLocale
      shippingAddress {{ countryCodeV2 provinceCode }}
      shippingLine {{ title code }}
      customer {{
        id
        firstName
        lastName
        locale
        numberOfOrders
        updatedAt
        defaultEmailAddress {{ emailAddress }}
        defaultPhoneNumber {{ phoneNumber }}
      }}
      lineItems(first: {LINE_ITEMS_FIRST}) {{
        pageInfo {{ hasNextPage }}
        nodes {{{_LINE_ITEM_FIELDS}
        }}
      }}{_fulfillments_field(FULFILLMENTS_FIRST, TRACKING_FIRST, FULFILLMENT_ITEMS_FIRST)}
    }}
  }}
}}
"""

ORDER_DETAILS_QUERY = f"""
query ReconcileOrderDetails($id: ID!, $after: String) {{
  order(id: $id) {{
    lineItems(first: {DETAIL_LINE_ITEMS_FIRST}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{{_LINE_ITEM_FIELDS}
      }}
    }}{_fulfillments_field(DETAIL_FULFILLMENTS_FIRST, DETAIL_TRACKING_FIRST, DETAIL_FULFILLMENT_ITEMS_FIRST)}
  }}
}}
"""

# The REST `fulfillment_status` of an order has four values; GraphQL's display status has more.
_ORDER_FULFILLMENT_STATUS = {
    "FULFILLED": "fulfilled",
    "PARTIALLY_FULFILLED": "partial",
    "RESTOCKED": "restocked",
}
# REST `shipment_status` values; other display statuses (FULFILLED, CANCELED...) have no REST twin.
_SHIPMENT_STATUSES = frozenset(
    {
        "label_printed",
        "label_purchased",
        "attempted_delivery",
        "ready_for_pickup",
        "picked_up",
        "confirmed",
        "in_transit",
        "out_for_delivery",
        "delivered",
        "failure",
    }
)


def legacy_id(gid: Any) -> int | None:
    """`gid://shopify/Order/123` -> 123 (None when absent or not a Shopify GID)."""
    if not isinstance(gid, str) or not gid.startswith("gid://shopify/"):
        return None
    tail = gid.rsplit("/", 1)[-1].split("?", 1)[0]
    return int(tail) if tail.isdigit() else None


def _lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and value else None


def _amount(money_set: Any) -> tuple[str | None, str | None]:
    money = (money_set or {}).get("shopMoney") or {}
    raw = money.get("amount")
    if raw is None:
        return None, money.get("currencyCode")
    try:
        amount = Decimal(str(raw))
    except InvalidOperation as exc:
        raise PayloadError(f"bad amount {raw!r}") from exc
    # GraphQL writes "199.0" where REST writes "199.00"; keep three-decimal currencies as they are.
    if amount.as_tuple().exponent > -2:  # type: ignore[operator]
        amount = amount.quantize(Decimal("0.01"))
    return str(amount), money.get("currencyCode")


def _money_set(amount: str | None, currency: str | None) -> dict[str, Any]:
    return {"shop_money": {"amount": amount, "currency_code": currency}}


def fulfillment_payload(node: dict[str, Any], order_id: int, destination_country: str | None) -> dict[str, Any]:
    """A GraphQL Fulfillment node as the REST fulfillment payload `upsert_fulfillment` reads.

    GraphQL keeps a fulfilment's destination on its fulfillment order; it is the order's shipping
    address unless the merchant changed it, so that address's country stands in for it here.
    """
    tracking = node.get("trackingInfo") or []
    display = _lower(node.get("displayStatus"))
    items = []
    for item in (node.get("fulfillmentLineItems") or {}).get("nodes") or []:
        line_item = item.get("lineItem") or {}
        items.append(
            {
                "id": legacy_id(line_item.get("id")),
                "title": line_item.get("title"),
                "variant_title": line_item.get("variantTitle"),
                "quantity": item.get("quantity"),
            }
        )
    return {
        "id": legacy_id(node.get("id")),
        "order_id": order_id,
        "admin_graphql_api_id": node.get("id"),
        "name": node.get("name"),
        "status": _lower(node.get("status")),
        "shipment_status": display if display in _SHIPMENT_STATUSES else None,
        "tracking_company": next((t.get("company") for t in tracking if t.get("company")), None),
        "tracking_numbers": [t["number"] for t in tracking if t.get("number")],
        "tracking_urls": [t["url"] for t in tracking if t.get("url")],
        "line_items": items,
        "destination": {"country_code": destination_country} if destination_country else None,
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
    }


def order_payload(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL Order node as the REST order payload `upsert_order` reads (ids as ints, REST statuses)."""
    order_id = legacy_id(node.get("id"))
    if order_id is None:
        raise PayloadError(f"order node without a usable id: {node.get('id')!r}")
    total, currency = _amount(node.get("currentTotalPriceSet"))
    customer_node = node.get("customer") or {}
    customer = None
    if customer_node:
        orders_count = customer_node.get("numberOfOrders")  # UnsignedInt64, serialised as a string
        customer = {
            "id": legacy_id(customer_node.get("id")),
            "first_name": customer_node.get("firstName"),
            "last_name": customer_node.get("lastName"),
            "email": (customer_node.get("defaultEmailAddress") or {}).get("emailAddress"),
            "phone": (customer_node.get("defaultPhoneNumber") or {}).get("phoneNumber"),
            "locale": customer_node.get("locale"),
            "orders_count": int(orders_count) if str(orders_count or "").isdigit() else None,
            "updated_at": customer_node.get("updatedAt"),
        }
    shipping_node = node.get("shippingAddress") or {}
    shipping = None
    if shipping_node:
        shipping = {
            "country_code": shipping_node.get("countryCodeV2"),
            "province_code": shipping_node.get("provinceCode"),
        }
    line_items = []
    for item in (node.get("lineItems") or {}).get("nodes") or []:
        price, price_currency = _amount(item.get("originalUnitPriceSet"))
        line_items.append(
            {
                "id": legacy_id(item.get("id")),
                "product_id": legacy_id((item.get("product") or {}).get("id")),
                "variant_id": legacy_id((item.get("variant") or {}).get("id")),
                "title": item.get("title"),
                "variant_title": item.get("variantTitle"),
                "sku": item.get("sku"),
                "quantity": item.get("quantity"),
                "price": price,
                "price_set": _money_set(price, price_currency),
                "total_discount": ((item.get("totalDiscountSet") or {}).get("shopMoney") or {}).get("amount"),
            }
        )
    return {
        "id": order_id,
        "admin_graphql_api_id": node.get("id"),
        "name": node.get("name"),
        "order_number": node.get("number"),
        "email": node.get("email"),
        "phone": node.get("phone"),
        "customer": customer,
        "customer_locale": node.get("customerLocale"),
        "shipping_address": shipping,
        # the order's shipping rate (its summary line; removed lines are not it), as the webhook's first line
        "shipping_lines": [node["shippingLine"]] if isinstance(node.get("shippingLine"), dict) else [],
        "financial_status": _lower(node.get("displayFinancialStatus")),
        "fulfillment_status": _ORDER_FULFILLMENT_STATUS.get(node.get("displayFulfillmentStatus") or ""),
        "total_price": total,
        "current_total_price_set": _money_set(total, currency),
        "currency": currency,
        "line_items": line_items,
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "closed_at": node.get("closedAt"),
        "fulfillments": [
            fulfillment_payload(f, order_id, (shipping or {}).get("country_code"))
            for f in node.get("fulfillments") or []
        ],
    }


def _is_truncated(node: dict[str, Any], fulfillments_first: int, tracking_first: int) -> bool:
    line_items = node.get("lineItems") or {}
    fulfillments = node.get("fulfillments") or []
    return bool(
        (line_items.get("pageInfo") or {}).get("hasNextPage")
        or len(fulfillments) >= fulfillments_first
        or any(
            len(f.get("trackingInfo") or []) >= tracking_first
            or ((f.get("fulfillmentLineItems") or {}).get("pageInfo") or {}).get("hasNextPage")
            for f in fulfillments
        )
    )


def _complete_order(client: AdminClient, node: dict[str, Any]) -> dict[str, Any]:
    """Fetch all line items and fulfilments of an order the page query cut short."""
    if not _is_truncated(node, FULFILLMENTS_FIRST, TRACKING_FIRST):
        return node
    items: list[dict[str, Any]] = []
    fulfillments: list[dict[str, Any]] | None = None
    cursor: str | None = None
    while True:
        data = client.execute(ORDER_DETAILS_QUERY, {"id": node["id"], "after": cursor})
        order = data.get("order")
        if order is None:  # deleted since the page was read; keep what we have
            return node
        if fulfillments is None:
            fulfillments = order.get("fulfillments") or []
        connection = order.get("lineItems") or {}
        items.extend(connection.get("nodes") or [])
        page_info = connection.get("pageInfo") or {}
        cursor = page_info.get("endCursor")
        if not page_info.get("hasNextPage") or not cursor:
            break
    complete = {**node, "lineItems": {"nodes": items}, "fulfillments": fulfillments}
    if _is_truncated(complete, DETAIL_FULFILLMENTS_FIRST, DETAIL_TRACKING_FIRST):
        log.warning("order %s has more fulfilments or tracking numbers than reconciliation reads", node["id"])
    return complete


def _search_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


@with_app_context
def reconcile_shop(shop_id: int) -> dict[str, Any]:
    """Fetch the shop's orders updated since its last sync and upsert them like webhooks would.

    Idempotent (the upserts are keyed on Shopify ids and keep the newer `updated_at`); each page is
    committed as it lands, and `last_synced_at` advances to the newest `updatedAt` seen only once
    every page is in. Returns counts. Raises Throttled and TransientError so RQ retries; a refused
    token marks the shop `needs_reauth` and ends the run for that shop without raising.
    """
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        return {"shop_id": shop_id, "status": "skipped", "reason": "no such shop"}
    if not shop.is_installed or shop.needs_reauth or not shop.has_access_token:
        return {"shop_id": shop_id, "status": "skipped", "reason": "not installed or needs re-authorisation"}

    previous_sync = shop.last_synced_at
    since = previous_sync - SYNC_OVERLAP if previous_sync else utcnow() - FIRST_SYNC_WINDOW
    search = f"updated_at:>='{_search_time(since)}'"
    stats: dict[str, Any] = {
        "shop_id": shop_id,
        "pages": 0,
        "orders_seen": 0,
        "orders_changed": 0,
        "skipped": 0,
    }
    newest: datetime | None = None
    cursor: str | None = None
    db.session.commit()  # end the read transaction: no snapshot held across API calls

    try:
        with AdminClient(shop_id) as client:
            while True:
                data = client.execute(ORDERS_QUERY, {"first": PAGE_SIZE, "after": cursor, "query": search})
                connection = data.get("orders") or {}
                stats["pages"] += 1
                for node in connection.get("nodes") or []:
                    stats["orders_seen"] += 1
                    node = _complete_order(client, node)
                    try:
                        with db.session.begin_nested():
                            if upsert_order(db.session, shop_id, order_payload(node)):
                                stats["orders_changed"] += 1
                        updated = parse_timestamp(node.get("updatedAt"))
                    except PayloadError as exc:
                        stats["skipped"] += 1
                        log.warning("shop %s: skipped order %s: %s", shop_id, node.get("id"), exc)
                        continue
                    if updated and (newest is None or updated > newest):
                        newest = updated
                db.session.commit()
                page_info = connection.get("pageInfo") or {}
                cursor = page_info.get("endCursor")
                if not page_info.get("hasNextPage") or not cursor:
                    break
    except AuthFailed as exc:
        db.session.rollback()
        log.warning("shop %s: reconciliation stopped, the merchant must re-authorise: %s", shop_id, exc)
        return {**stats, "status": "reauth_required"}
    except Exception:
        db.session.rollback()
        raise

    if newest is not None and (previous_sync is None or newest > previous_sync):
        shop = db.session.get(Shop, shop_id)
        assert shop is not None
        shop.last_synced_at = newest
        db.session.commit()
    stats["last_synced_at"] = newest or previous_sync
    stats["status"] = "ok"
    return stats


def _forget_settled_job(jid: str) -> None:
    """Drop a finished or failed job's record so `unique=True` doesn't mistake it for a pending one."""
    connection = redis_connection()
    try:
        job = Job.fetch(jid, connection=connection)
    except NoSuchJobError:
        return
    status = job.get_status()
    if status in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        if status == JobStatus.FAILED:
            log.warning("previous job %s failed; queueing a new one", jid)
        job.delete()


@with_app_context
def reconcile_all_shops() -> dict[str, Any]:
    """Queue `reconcile_shop` on `bulk` for every installed shop with a usable token.

    Job id `reconcile-<shop_id>` with unique=True: a shop whose reconciliation is still queued,
    running or waiting for a retry is not queued twice. Raises redis errors (the next run retries).
    """
    shop_ids = (
        db.session.execute(
            select(Shop.id)
            .where(
                Shop.is_installed.is_(True),
                Shop.needs_reauth.is_(False),
                Shop.access_token_encrypted.is_not(None),
            )
            .order_by(Shop.id)
        )
        .scalars()
        .all()
    )
    db.session.commit()
    jobs_inline = current_app.config["SETTINGS"].jobs_inline
    for shop_id in shop_ids:
        jid = job_id("reconcile", shop_id)
        if not jobs_inline:
            _forget_settled_job(jid)
        enqueue(reconcile_shop, shop_id, queue="bulk", job_id=jid, unique=True)
    return {"shops": len(shop_ids), "shop_ids": list(shop_ids)}
