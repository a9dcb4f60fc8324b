"""The order metafield `aftercart.insert_links` that Shopify's packing slip (or Order Printer) template reads to
print the insert's QR codes, and the outbox that keeps it filled.

Only for a merchant who switched it on (`InsertSettings.packing_slip`): a write per order costs Admin API budget.
One `insert_link_syncs` row per order (unique), written in the order webhook's transaction; its job
(`insert-links-<id>`) sends `metafieldsSet` through the Admin API. The mutation sets the whole value, so a
retry after a lost answer sends the same bytes again and changes nothing: THROTTLED and transient failures
raise for RQ's retries, userErrors fail the row for good with Shopify's message. The demo has no Shopify: its
rows stay pending.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from app.db import dialect_insert, insert_unless_present, utcnow
from app.extensions import db
from app.i18n import t
from app.inserts.links import scan_url
from app.inserts.models import CODES, InsertLinkSync, InsertSettings
from app.inserts.services import CODE_LABELS, insert_settings, qr_image, shopper_locale, unfulfilled_orders_query
from app.jobs import enqueue_after_commit, job_id, with_app_context
from app.orders.models import Order
from app.shopify.graphql import AdminClient, UserErrors
from app.shopify.models import Shop

log = logging.getLogger(__name__)

NAMESPACE = "aftercart"
KEY = "insert_links"

METAFIELDS_SET = """
mutation InsertLinks($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { id namespace key }
    userErrors { field message code }
  }
}
"""

# Pasted by the merchant into Settings > Shipping and delivery > Packing slip template (or Order Printer).
PACKING_SLIP_SNIPPET = """{%- assign aftercart = order.metafields.aftercart.insert_links.value -%}
{%- if aftercart and aftercart.codes.size > 0 -%}
<div class="aftercart-codes" style="display:flex;gap:16px;margin-top:16px">
  {%- for code in aftercart.codes -%}
  <div style="width:110px;text-align:center;font-size:11px">
    <img src="{{ code.qr }}" width="110" height="110" alt="">
    <div>{{ code.label }}</div>
  </div>
  {%- endfor -%}
</div>
{%- endif -%}"""


def insert_links_value(shop: Shop, order: Order) -> dict[str, Any]:
    """The metafield's JSON: each code the shop prints, with its label in the shopper's language, its signed
    scan link and the QR image (an SVG data URI, since a packing slip cannot draw one)."""
    settings = insert_settings(db.session, shop.id)
    locale = shopper_locale(order)
    codes = []
    for code in settings.codes or []:
        if code in CODES:
            url = scan_url(shop.id, order.id, code)
            codes.append({"code": code, "label": t(locale, CODE_LABELS[code]), "url": url, "qr": qr_image(url)})
    return {"version": 1, "codes": codes}


def queue_insert_links(shop: Shop, payload: dict[str, Any]) -> None:
    """In the order webhook's transaction: an outbox row for an order seen the first time, its job after commit."""
    if current_app.config["SETTINGS"].env == "demo":
        return
    if not db.session.execute(
        select(InsertSettings.packing_slip).where(InsertSettings.shop_id == shop.id)
    ).scalar_one_or_none():
        return  # the merchant does not use the packing-slip snippet: no Admin API write per order
    order_id = db.session.execute(
        select(Order.id).where(Order.shop_id == shop.id, Order.shopify_order_id == int(payload["id"]))
    ).scalar_one_or_none()
    if order_id is None:
        return
    sync_id = insert_unless_present(
        db.session, InsertLinkSync.__table__, {"shop_id": shop.id, "order_id": order_id}, ["shop_id", "order_id"]
    )
    if sync_id is not None:
        enqueue_after_commit(db.session, sync_insert_links, sync_id, job_id=job_id("insert-links", sync_id))


def refill_insert_links(shop_id: int) -> int:
    """The merchant turned the packing-slip metafield on, or changed which codes print while it is on: every order
    waiting to be packed gets its metafield written (again): its outbox row back to pending, its job queued after
    commit. Returns the orders queued."""
    if current_app.config["SETTINGS"].env == "demo" or not insert_settings(db.session, shop_id).packing_slip:
        return 0
    order_ids = db.session.execute(unfulfilled_orders_query(shop_id).with_only_columns(Order.id)).scalars().all()
    if not order_ids:
        return 0
    table = InsertLinkSync.__table__
    stmt = dialect_insert(db.session, table).values(
        [{"shop_id": shop_id, "order_id": order_id, "status": "pending", "attempts": 0} for order_id in order_ids]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["shop_id", "order_id"], set_={"status": "pending", "error": None}
    ).returning(table.c.id)
    for sync_id in db.session.execute(stmt).scalars():
        enqueue_after_commit(
            db.session, sync_insert_links, sync_id, job_id=job_id("insert-links", sync_id), unique=True
        )
    return len(order_ids)


@with_app_context
def sync_insert_links(sync_id: int) -> str:
    """Write one order's `aftercart.insert_links` with metafieldsSet; returns the row's status.

    Idempotent: a row already `done` is left alone, and the mutation sets the same value when repeated.
    Raises Throttled / TransientError (RQ retries); userErrors fail the row."""
    sync = db.session.get(InsertLinkSync, sync_id)
    if sync is None or sync.status == "done":
        return sync.status if sync else "missing"
    shop = db.session.get(Shop, sync.shop_id)
    order = db.session.execute(
        select(Order).where(Order.shop_id == sync.shop_id, Order.id == sync.order_id)
    ).scalar_one_or_none()
    if shop is None or order is None:
        sync.status, sync.error = "failed", "order gone"
        db.session.commit()
        return sync.status
    owner = order.admin_graphql_api_id or f"gid://shopify/Order/{order.shopify_order_id}"
    value = json.dumps(insert_links_value(shop, order), separators=(",", ":"))
    metafield = {"ownerId": owner, "namespace": NAMESPACE, "key": KEY, "type": "json", "value": value}
    db.session.execute(
        update(InsertLinkSync).where(InsertLinkSync.id == sync_id).values(attempts=InsertLinkSync.attempts + 1)
    )
    db.session.commit()
    try:
        with AdminClient(shop.id) as client:
            client.mutate(METAFIELDS_SET, {"metafields": [metafield]}, "metafieldsSet")
    except UserErrors as exc:
        message = str(exc)
        db.session.execute(
            update(InsertLinkSync).where(InsertLinkSync.id == sync_id).values(status="failed", error=message[:200])
        )
        db.session.commit()
        return "failed"
    db.session.execute(
        update(InsertLinkSync).where(InsertLinkSync.id == sync_id).values(status="done", error=None, synced_at=utcnow())
    )
    db.session.commit()
    return "done"
