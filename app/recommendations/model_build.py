"""Building the models from the shop's own orders: co-purchases, next purchases, popularity.

Every contribution is weighted `exp(LAMBDA * days_since_EPOCH)` of the order's date: a fixed-epoch form of
exponential time decay (half-life HALF_LIFE_DAYS). Because all rows share the same decay factor, adding a new
order is a plain addition and comparing stored scores at any time gives the decayed ranking.

`apply_order` is the incremental update (one order version; idempotent: the basket it counted is stored and
a new version first undoes the old one). `rebuild_models` recomputes everything for a shop from its orders.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import combinations
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from app.db import dialect_insert, utcnow
from app.orders.models import Order
from app.recommendations.models import (
    CatalogVariant,
    CoPurchase,
    NextPurchase,
    OrderBasket,
    Popularity,
    RecommendationSettings,
)

HALF_LIFE_DAYS = 120.0
LAMBDA = math.log(2) / HALF_LIFE_DAYS
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
MAX_BASKET = 30  # a wholesale order of hundreds of lines says little about what goes together
MAX_NEIGHBOURS = 50  # per product, kept by a full rebuild
INSERT_CHUNK = 5000


def decay_weight(moment: datetime) -> float:
    return math.exp(LAMBDA * (moment - EPOCH).total_seconds() / 86400.0)


def customer_key(shopify_customer_id: int | None, email: str | None) -> str | None:
    if shopify_customer_id:
        return f"c:{shopify_customer_id}"
    if email and email.strip():
        return f"e:{email.strip().lower()}"
    return None


def variant_products(session: Session, shop_id: int, variant_ids: Iterable[int]) -> dict[int, int]:
    ids = sorted({int(v) for v in variant_ids if v})
    if not ids:
        return {}
    rows = session.execute(
        select(CatalogVariant.shopify_variant_id, CatalogVariant.shopify_product_id).where(
            CatalogVariant.shop_id == shop_id, CatalogVariant.shopify_variant_id.in_(ids)
        )
    ).all()
    return {variant: product for variant, product in rows}


def basket_of(line_items: list[dict[str, Any]] | None, variant_map: dict[int, int]) -> list[int]:
    """The distinct products of an order's lines (a line without product_id is resolved by its variant)."""
    products: set[int] = set()
    for item in line_items or []:
        product_id = item.get("product_id")
        if not product_id and item.get("variant_id"):
            product_id = variant_map.get(int(item["variant_id"]))
        if product_id:
            products.add(int(product_id))
    return sorted(products)[:MAX_BASKET]


def _variant_ids(line_items: list[dict[str, Any]] | None) -> list[int]:
    return [int(i["variant_id"]) for i in line_items or [] if i.get("variant_id") and not i.get("product_id")]


# --- incremental -----------------------------------------------------------------------------------------


def _add(
    session: Session,
    model: Any,
    key: tuple[str, str],
    pairs: dict[tuple[int, int], float],
    count_col: str,
    shop_id: int,
    sign: int,
) -> None:
    if not pairs:
        return
    table = model.__table__
    rows = [
        {"shop_id": shop_id, key[0]: a, key[1]: b, "score": sign * weight, count_col: sign}
        for (a, b), weight in pairs.items()
    ]
    stmt = dialect_insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["shop_id", key[0], key[1]],
        set_={"score": table.c.score + stmt.excluded.score, count_col: table.c[count_col] + stmt.excluded[count_col]},
    )
    session.execute(stmt, rows)


def _add_popularity(session: Session, shop_id: int, products: list[int], weight: float, sign: int) -> None:
    if not products:
        return
    table = Popularity.__table__
    stmt = dialect_insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["shop_id", "product_id"],
        set_={"score": table.c.score + stmt.excluded.score, "orders": table.c.orders + stmt.excluded.orders},
    )
    session.execute(
        stmt, [{"shop_id": shop_id, "product_id": p, "score": sign * weight, "orders": sign} for p in products]
    )


def _pairs(products: list[int], weight: float) -> dict[tuple[int, int], float]:
    pairs: dict[tuple[int, int], float] = {}
    for a, b in combinations(products, 2):
        pairs[(a, b)] = weight
        pairs[(b, a)] = weight
    return pairs


def _sequence(previous: list[int], products: list[int], weight: float) -> dict[tuple[int, int], float]:
    return {(a, b): weight for a in previous for b in products if a != b}


def _contribute(session: Session, shop_id: int, basket: OrderBasket, sign: int) -> None:
    weight = decay_weight(basket.ordered_at)
    products = list(basket.product_ids or [])
    _add(session, CoPurchase, ("product_id", "other_product_id"), _pairs(products, weight), "orders", shop_id, sign)
    _add_popularity(session, shop_id, products, weight, sign)
    if basket.credited_from:
        sequence = _sequence(list(basket.credited_from), products, weight)
        _add(session, NextPurchase, ("product_id", "next_product_id"), sequence, "customers", shop_id, sign)


def apply_order(session: Session, shop_id: int, shopify_order_id: int) -> bool:
    """Count one order (its current version) in the models; undo what an earlier version of it counted.

    Idempotency key: the stored basket (shop_id, shopify_order_id): applying the same version twice changes
    nothing. A cancelled order counts for nothing. Returns True when the models changed. Does not commit.
    """
    order = session.execute(
        select(Order).where(Order.shop_id == shop_id, Order.shopify_order_id == shopify_order_id)
    ).scalar_one_or_none()
    table = OrderBasket.__table__
    session.execute(
        dialect_insert(session, table)
        .values(shop_id=shop_id, shopify_order_id=shopify_order_id, ordered_at=utcnow(), product_ids=[])
        .on_conflict_do_nothing(index_elements=["shop_id", "shopify_order_id"])
    )
    basket = session.execute(
        select(OrderBasket)
        .where(OrderBasket.shop_id == shop_id, OrderBasket.shopify_order_id == shopify_order_id)
        .with_for_update()
    ).scalar_one()
    if order is None or order.cancelled_at is not None:
        products, key, ordered_at = [], None, basket.ordered_at
    else:
        products = basket_of(order.line_items, variant_products(session, shop_id, _variant_ids(order.line_items)))
        key = customer_key(order.shopify_customer_id, order.email)
        ordered_at = order.shopify_created_at or order.created_at
    if list(basket.product_ids or []) == products and basket.customer_key == key and basket.ordered_at == ordered_at:
        return False
    if basket.product_ids:
        _contribute(session, shop_id, basket, -1)
    previous = None
    if key and products:
        previous = session.execute(
            select(OrderBasket.product_ids)
            .where(
                OrderBasket.shop_id == shop_id,
                OrderBasket.customer_key == key,
                OrderBasket.ordered_at < ordered_at,
                OrderBasket.shopify_order_id != shopify_order_id,
            )
            .order_by(OrderBasket.ordered_at.desc())
            .limit(1)
        ).scalar_one_or_none()
    basket.product_ids = products
    basket.customer_key = key
    basket.ordered_at = ordered_at
    basket.credited_from = list(previous) if previous else None
    if products:
        _contribute(session, shop_id, basket, +1)
    return True


# --- full rebuild ----------------------------------------------------------------------------------------


def _top(pairs: dict[tuple[int, int], list[float]]) -> list[tuple[int, int, float, int]]:
    by_product: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
    for (a, b), (score, count) in pairs.items():
        by_product[a].append((score, count, b))
    rows = []
    for a, neighbours in by_product.items():
        neighbours.sort(reverse=True)
        rows.extend((a, b, score, count) for score, count, b in neighbours[:MAX_NEIGHBOURS])
    return rows


def rebuild_models(session: Session, shop_id: int) -> dict[str, int]:
    """Recompute every model of a shop from all its orders, in one transaction (readers see old or new).

    Idempotent: the result depends only on the orders. Commits. Returns row counts.
    """
    variant_map = dict(
        session.execute(
            select(CatalogVariant.shopify_variant_id, CatalogVariant.shopify_product_id).where(
                CatalogVariant.shop_id == shop_id
            )
        ).all()
    )
    rows = session.execute(
        select(
            Order.shopify_order_id,
            Order.shopify_customer_id,
            Order.email,
            Order.shopify_created_at,
            Order.created_at,
            Order.cancelled_at,
            Order.line_items,
        ).where(Order.shop_id == shop_id)
    ).yield_per(5000)
    baskets: list[dict[str, Any]] = []
    by_customer: dict[str, list[int]] = defaultdict(list)
    for order_id, customer_id, email, created, fallback, cancelled, line_items in rows:
        products = [] if cancelled else basket_of(line_items, variant_map)
        key = customer_key(customer_id, email)
        basket = {
            "shop_id": shop_id,
            "shopify_order_id": order_id,
            "customer_key": key,
            "ordered_at": created or fallback,
            "product_ids": products,
            "credited_from": None,
        }
        if key and products:
            by_customer[key].append(len(baskets))
        baskets.append(basket)

    copurchase: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0, 0])
    sequence: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0, 0])
    popularity: dict[int, list[float]] = defaultdict(lambda: [0.0, 0])
    for basket in baskets:
        products = basket["product_ids"]
        if not products:
            continue
        weight = decay_weight(basket["ordered_at"])
        for product in products:
            entry = popularity[product]
            entry[0] += weight
            entry[1] += 1
        for a, b in combinations(products, 2):
            for pair in ((a, b), (b, a)):
                entry = copurchase[pair]
                entry[0] += weight
                entry[1] += 1
    for indexes in by_customer.values():
        indexes.sort(key=lambda i: baskets[i]["ordered_at"])
        for before, after in zip(indexes, indexes[1:], strict=False):
            previous, current = baskets[before], baskets[after]
            current["credited_from"] = previous["product_ids"]
            weight = decay_weight(current["ordered_at"])
            for pair in _sequence(previous["product_ids"], current["product_ids"], weight):
                entry = sequence[pair]
                entry[0] += weight
                entry[1] += 1

    top_copurchase, top_sequence = _top(copurchase), _top(sequence)
    for model in (OrderBasket, CoPurchase, NextPurchase, Popularity):
        session.execute(delete(model).where(model.shop_id == shop_id))
    _bulk_insert(session, OrderBasket, baskets)
    _bulk_insert(
        session,
        CoPurchase,
        (
            {"shop_id": shop_id, "product_id": a, "other_product_id": b, "score": s, "orders": c}
            for a, b, s, c in top_copurchase
        ),
    )
    _bulk_insert(
        session,
        NextPurchase,
        (
            {"shop_id": shop_id, "product_id": a, "next_product_id": b, "score": s, "customers": c}
            for a, b, s, c in top_sequence
        ),
    )
    _bulk_insert(
        session,
        Popularity,
        ({"shop_id": shop_id, "product_id": p, "score": s, "orders": c} for p, (s, c) in popularity.items()),
    )
    settings = session.execute(
        select(RecommendationSettings).where(RecommendationSettings.shop_id == shop_id)
    ).scalar_one_or_none()
    if settings is None:
        settings = RecommendationSettings(shop_id=shop_id)
        session.add(settings)
    settings.models_rebuilt_at = utcnow()
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        # A rebuild replaces a shop's rows wholesale. Fresh statistics keep serving on index scans right away
        # (stale ones make the planner sort whole tables), and VACUUM sets the new rows' hint bits and the
        # visibility map, which the first reads of every page would otherwise pay for (each one a write).
        # VACUUM cannot run inside a transaction: its own autocommit connection.
        with session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for model in (OrderBasket, CoPurchase, NextPurchase, Popularity):
                conn.execute(text(f"VACUUM (ANALYZE) {model.__tablename__}"))
    return {
        "orders": len(baskets),
        "copurchase_pairs": len(top_copurchase),
        "sequence_pairs": len(top_sequence),
        "products": len(popularity),
    }


def _bulk_insert(session: Session, model: Any, rows: Iterable[dict[str, Any]]) -> None:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= INSERT_CHUNK:
            session.execute(insert(model.__table__), chunk)
            chunk = []
    if chunk:
        session.execute(insert(model.__table__), chunk)
