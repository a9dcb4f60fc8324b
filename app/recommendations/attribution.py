"""Impressions, clicks (signed redirects) and orders credited to recommendations; the per-placement report.

A card links to `/l/r/<token>` (itsdangerous-signed: shop, placement, product, variant, source order). Following
it records a click with a random public id and redirects to the product on the shop, carrying `ac_click=<id>`
and UTM parameters (and the merchant's discount code through Shopify's `/discount/<code>?redirect=` path).
An order is credited once (unique per order) when its landing page carries a click id, its cart attributes
do, or it used the merchant's recommendation discount code, within the merchant's attribution window.
"""

from __future__ import annotations

import functools
import logging
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlparse

from flask import Blueprint, abort, current_app, redirect
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import dialect_insert, utcnow
from app.extensions import db
from app.orders.services import PayloadError, parse_timestamp
from app.recommendations.model_build import customer_key
from app.recommendations.models import (
    PLACEMENTS,
    Attribution,
    CatalogProduct,
    ImpressionCount,
    RecommendationClick,
    RecommendationSettings,
)
from app.storefront.links import deny_framing

log = logging.getLogger(__name__)

recommendation_links_bp = Blueprint("recommendation_links", __name__, url_prefix="/l")
recommendation_links_bp.after_request(deny_framing)

_CLICK_SALT = "aftercart.recs.click.v1"
CLICK_PARAM = "ac_click"
CART_ATTRIBUTES = ("_aftercart_click", "aftercart_click")


def _serializer() -> URLSafeSerializer:
    return _serializer_for(current_app.config["SETTINGS"].secret_key)


@functools.lru_cache(maxsize=4)
def _serializer_for(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_CLICK_SALT)


def card_link(
    shop_id: int, placement: str, product_id: int, variant_id: int | None, source_order_id: int | None
) -> str:
    """The signed click-through URL a card carries (absolute: it is also used in emails)."""
    token = _serializer().dumps([shop_id, placement, product_id, variant_id, source_order_id])
    return current_app.config["SETTINGS"].shopify_app_url + f"/l/r/{token}"


def product_destination(
    domain: str, handle: str, variant_id: int | None, placement: str, click_id: str, discount_code: str | None
) -> str:
    params = {
        "utm_source": "aftercart",
        "utm_medium": "recommendation",
        "utm_campaign": placement,
        CLICK_PARAM: click_id,
    }
    if variant_id:
        params = {"variant": str(variant_id), **params}
    path = f"/products/{quote(handle)}?{urlencode(params)}"
    if discount_code:
        # Shopify applies the code to the cart and then redirects (the `/discount/<code>` storefront route).
        return f"https://{domain}/discount/{quote(discount_code)}?{urlencode({'redirect': path})}"
    return f"https://{domain}{path}"


@recommendation_links_bp.get("/r/<token>")
def follow_card(token: str):
    """A shopper clicked a card: record the click, send them to the product with the click id."""
    from app.shopify.models import Shop

    try:
        shop_id, placement, product_id, variant_id, source_order_id = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        abort(404)
    shop = db.session.get(Shop, int(shop_id))
    product = db.session.execute(
        select(CatalogProduct).where(
            CatalogProduct.shop_id == int(shop_id), CatalogProduct.shopify_product_id == int(product_id)
        )
    ).scalar_one_or_none()
    if shop is None or shop.redacted_at is not None or product is None or not product.handle:
        abort(404)
    key = None
    if source_order_id:
        from app.orders.models import Order

        order = db.session.execute(
            select(Order).where(Order.id == int(source_order_id), Order.shop_id == shop.id)
        ).scalar_one_or_none()
        key = customer_key(order.shopify_customer_id, order.email) if order else None
    click = RecommendationClick(
        shop_id=shop.id,
        public_id=secrets.token_hex(12),
        placement=str(placement)[:32],
        shopify_product_id=int(product_id),
        source_order_id=int(source_order_id) if source_order_id else None,
        customer_key=key,
        clicked_at=utcnow(),
    )
    db.session.add(click)
    settings = db.session.execute(
        select(RecommendationSettings).where(RecommendationSettings.shop_id == shop.id)
    ).scalar_one_or_none()
    db.session.commit()
    target = product_destination(
        shop.domain,
        product.handle,
        int(variant_id) if variant_id else None,
        click.placement,
        click.public_id,
        settings.discount_code if settings else None,
    )
    response = redirect(target, code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


_IMPRESSIONS_KEY = "aftercart:recs:impressions:{shop_id}"


def record_impressions(shop_id: int, placement: str, cards: int) -> None:
    """Count one view of `cards` cards: one Redis round trip on the page's path (two counters in a hash);
    `flush_impressions` moves them into `rec_impressions`. Without Redis (the demo), or when Redis is down,
    the counts go to the database directly, in a short transaction of their own.

    Counting must never break a shopper's page, so a failure is logged and dropped."""
    if cards <= 0:
        return
    day = utcnow().date().isoformat()
    if not current_app.config["SETTINGS"].jobs_inline:
        from app.jobs import redis_connection

        try:
            pipe = redis_connection().pipeline(transaction=False)
            key = _IMPRESSIONS_KEY.format(shop_id=shop_id)
            pipe.hincrby(key, f"{day}|{placement}|views", 1)
            pipe.hincrby(key, f"{day}|{placement}|cards", cards)
            pipe.execute()
            return
        except Exception:  # noqa: BLE001 - Redis down: count in the database instead
            log.warning("impressions for shop %s counted in the database: Redis unavailable", shop_id)
    _add_impressions(shop_id, {(day, placement): (1, cards)})


def _add_impressions(shop_id: int, counts: dict[tuple[str, str], tuple[int, int]]) -> None:
    from datetime import date

    try:
        with db.engine.begin() as connection:
            table = ImpressionCount.__table__
            from sqlalchemy.dialects import postgresql, sqlite

            if connection.dialect.name == "postgresql":
                # A counter may lose its last few increments in a crash; a shopper's page must not wait
                # for a WAL flush for it.
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
            for (day, placement), (views, cards) in counts.items():
                stmt = insert(table).values(
                    shop_id=shop_id, day=date.fromisoformat(day), placement=placement, views=views, cards=cards
                )
                stmt = stmt.on_conflict_do_update(
                    index_elements=["shop_id", "day", "placement"],
                    set_={"views": table.c.views + views, "cards": table.c.cards + cards},
                )
                connection.execute(stmt)
    except Exception:  # noqa: BLE001 - see record_impressions
        log.exception("could not record recommendation impressions for shop %s", shop_id)


def flush_impressions(shop_id: int) -> None:
    """Move the shop's impression counters from Redis into the database (before a report is read).

    The hash is renamed first, so views counted meanwhile start a new one and none is counted twice; a
    crash between reading and writing loses that batch of counters, never double counts it."""
    if current_app.config["SETTINGS"].jobs_inline:
        return
    import redis

    from app.jobs import redis_connection

    connection = redis_connection()
    key = _IMPRESSIONS_KEY.format(shop_id=shop_id)
    pending = f"{key}:flushing:{secrets.token_hex(6)}"
    try:
        connection.rename(key, pending)
    except redis.ResponseError:  # no such key: nothing counted since the last flush
        return
    except redis.RedisError:
        log.warning("impressions of shop %s not flushed: Redis unavailable", shop_id)
        return
    counts: dict[tuple[str, str], list[int]] = {}
    for field, value in connection.hgetall(pending).items():
        day, placement, kind = field.decode().split("|")
        entry = counts.setdefault((day, placement), [0, 0])
        entry[0 if kind == "views" else 1] += int(value)
    _add_impressions(shop_id, {k: (v[0], v[1]) for k, v in counts.items()})
    connection.delete(pending)


def _click_ids_in(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """(method, click id) pairs an order payload carries: its landing page URL, then its cart attributes."""
    found: list[tuple[str, str]] = []
    landing = payload.get("landing_site") or ""
    if isinstance(landing, str) and CLICK_PARAM in landing:
        for value in parse_qs(urlparse(landing).query).get(CLICK_PARAM, []):
            found.append(("link", value[:32]))
    for attribute in payload.get("note_attributes") or []:
        if isinstance(attribute, dict) and attribute.get("name") in CART_ATTRIBUTES and attribute.get("value"):
            found.append(("cart_attribute", str(attribute["value"])[:32]))
    return found


def attribute_order(session: Session, shop_id: int, payload: dict[str, Any]) -> Attribution | None:
    """Credit an order to the recommendation that brought it, at most once per order.

    Idempotency key: (shop_id, shopify_order_id), unique; a later version of the order changes nothing.
    Only clicks made before the order and within the shop's attribution window count. Does not commit.
    """
    if not isinstance(payload, dict) or not str(payload.get("id") or "").isdigit():
        raise PayloadError("order payload has no usable 'id'")
    order_id = int(payload["id"])
    if session.execute(
        select(Attribution.id).where(Attribution.shop_id == shop_id, Attribution.shopify_order_id == order_id)
    ).first():
        return None
    settings = session.execute(
        select(RecommendationSettings).where(RecommendationSettings.shop_id == shop_id)
    ).scalar_one_or_none()
    window = timedelta(days=(settings.attribution_window_days if settings else 7) or 7)
    ordered_at = parse_timestamp(payload.get("created_at")) or utcnow()
    click: RecommendationClick | None = None
    method = None
    for candidate_method, public_id in _click_ids_in(payload):
        candidate = session.execute(
            select(RecommendationClick).where(
                RecommendationClick.shop_id == shop_id, RecommendationClick.public_id == public_id
            )
        ).scalar_one_or_none()
        if candidate is not None and _within(candidate.clicked_at, ordered_at, window):
            click, method = candidate, candidate_method
            break
    codes = {
        str(d.get("code") or "").strip().upper() for d in payload.get("discount_codes") or [] if isinstance(d, dict)
    }
    if click is None and settings and settings.discount_code and settings.discount_code.strip().upper() in codes:
        method = "discount_code"
        customer = payload.get("customer") or {}
        key = customer_key(
            int(customer["id"]) if str(customer.get("id") or "").isdigit() else None,
            payload.get("email") or customer.get("email"),
        )
        if key:
            click = session.execute(
                select(RecommendationClick)
                .where(
                    RecommendationClick.shop_id == shop_id,
                    RecommendationClick.customer_key == key,
                    RecommendationClick.clicked_at <= ordered_at,
                    RecommendationClick.clicked_at >= ordered_at - window,
                )
                .order_by(RecommendationClick.clicked_at.desc())
                .limit(1)
            ).scalar_one_or_none()
    if method is None:
        return None
    revenue, currency = _order_total(payload)
    values = {
        "shop_id": shop_id,
        "shopify_order_id": order_id,
        "click_id": click.id if click else None,
        "placement": click.placement if click else None,
        "method": method,
        "revenue": revenue,
        "currency": currency,
        "details": {
            "click": click.public_id if click else None,
            "product_id": click.shopify_product_id if click else None,
        },
        "attributed_at": utcnow(),
    }
    table = Attribution.__table__
    stmt = (
        dialect_insert(session, table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["shop_id", "shopify_order_id"])
    )
    session.execute(stmt)
    return session.execute(
        select(Attribution).where(Attribution.shop_id == shop_id, Attribution.shopify_order_id == order_id)
    ).scalar_one()


def _within(clicked_at: datetime, ordered_at: datetime, window: timedelta) -> bool:
    # A minute of slack: the order's created_at and our click time come from different clocks.
    return ordered_at - window <= clicked_at <= ordered_at + timedelta(minutes=1)


def _order_total(payload: dict[str, Any]) -> tuple[Decimal | None, str | None]:
    money = ((payload.get("current_total_price_set") or {}).get("shop_money")) or {}
    raw = money.get("amount", payload.get("current_total_price", payload.get("total_price")))
    try:
        amount = Decimal(str(raw)) if raw is not None else None
    except ArithmeticError:
        amount = None
    return amount, money.get("currency_code") or payload.get("currency")


def placement_report(session: Session, shop_id: int, since: datetime) -> list[dict[str, Any]]:
    """Per placement: views, cards shown, clicks, click-through rate (clicks / cards), orders and revenue."""
    flush_impressions(shop_id)
    rows: dict[str, dict[str, Any]] = {p: _empty(p) for p in PLACEMENTS}
    unknown = "unknown"
    for placement, views, cards in session.execute(
        select(ImpressionCount.placement, func.sum(ImpressionCount.views), func.sum(ImpressionCount.cards))
        .where(ImpressionCount.shop_id == shop_id, ImpressionCount.day >= since.date())
        .group_by(ImpressionCount.placement)
    ):
        row = rows.setdefault(placement, _empty(placement))
        row["views"], row["cards"] = int(views or 0), int(cards or 0)
    for placement, clicks in session.execute(
        select(RecommendationClick.placement, func.count())
        .where(RecommendationClick.shop_id == shop_id, RecommendationClick.clicked_at >= since)
        .group_by(RecommendationClick.placement)
    ):
        rows.setdefault(placement, _empty(placement))["clicks"] = int(clicks)
    for placement, currency, orders, revenue in session.execute(
        select(Attribution.placement, Attribution.currency, func.count(), func.sum(Attribution.revenue))
        .where(Attribution.shop_id == shop_id, Attribution.attributed_at >= since)
        .group_by(Attribution.placement, Attribution.currency)
    ):
        row = rows.setdefault(placement or unknown, _empty(placement or unknown))
        row["orders"] += int(orders)
        row["revenue"] += Decimal(revenue or 0)
        row["currency"] = row["currency"] or currency
    for row in rows.values():
        row["ctr"] = (row["clicks"] / row["cards"]) if row["cards"] else None
    return list(rows.values())


def _empty(placement: str) -> dict[str, Any]:
    return {
        "placement": placement,
        "views": 0,
        "cards": 0,
        "clicks": 0,
        "orders": 0,
        "revenue": Decimal("0"),
        "currency": None,
    }
