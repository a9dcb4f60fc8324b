"""Ranking: which products to show, from the precomputed models, for one placement and shopper.

Sources, each normalised to [0, 1] and weighted: next purchases of the seed products, co-purchases,
popular in the seeds' types and collections, best sellers (the fallback for a new shop). Then the rules:
never what the shopper already bought (any variant of it), nothing unavailable, unpublished, deleted or
excluded by the merchant; the merchant's pins for the placement first; some diversity of product types;
a boost for types the shopper has bought before. A return reason changes the question: a size problem asks
for the next size of the same product, "not as described" for similar products.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from app.db import in_ids
from app.orders.models import Order
from app.recommendations.model_build import basket_of, customer_key
from app.recommendations.models import (
    CatalogCollection,
    CatalogProduct,
    CatalogVariant,
    CoPurchase,
    NextPurchase,
    OrderBasket,
    Popularity,
    RecommendationSettings,
)

WEIGHTS = {"next": 1.0, "copurchase": 0.8, "category": 0.3, "bestseller": 0.1}
SIMILAR_WEIGHTS = {"category": 1.0, "copurchase": 0.3, "next": 0.0, "bestseller": 0.0}
NEIGHBOURS = 100
CATEGORY_CANDIDATES = 60
BESTSELLERS = 40
DIVERSITY_DECAY = 0.6  # each further card of an already-shown product type scores this much less
PERSONAL_BOOST = 0.5
UNSOLD_SCORE = 0.01
MAX_CANDIDATES = 60  # scored candidates loaded per request (after those the rules will drop)

SIZE_UP = frozenset({"too_small", "size_too_small", "small"})
SIZE_DOWN = frozenset({"too_large", "size_too_large", "too_big", "large"})
SIMILAR = frozenset({"not_as_described", "wrong_item", "style", "color", "colour", "not_as_pictured"})

_LETTER_SIZES = ["xxxs", "xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl", "xxxxl", "xxxxxl"]
_SIZE_ALIASES = {
    "small": "s",
    "medium": "m",
    "large": "l",
    "2xs": "xxs",
    "3xs": "xxxs",
    "2xl": "xxl",
    "3xl": "xxxl",
    "4xl": "xxxxl",
    "5xl": "xxxxxl",
    "x-small": "xs",
    "x-large": "xl",
    "xx-large": "xxl",
}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass(frozen=True)
class Choice:
    product: Any  # a row of _CARD_COLUMNS
    variant: CatalogVariant | None
    score: float
    reason: str  # pinned | next_size | similar | recommended | bestseller


def normalise_reason(reason: str | None) -> str | None:
    if not reason:
        return None
    return re.sub(r"[\s\-]+", "_", reason.strip().lower())


def size_rank(value: str | None) -> float | None:
    """Order of a size value: letter sizes (XS < S < M ... < 3XL), else the first number (EU 38, 40...)."""
    text = (value or "").strip().lower()
    text = _SIZE_ALIASES.get(text, text)
    if text in _LETTER_SIZES:
        return float(_LETTER_SIZES.index(text))
    number = _NUMBER.search(text)
    if number:
        return 100.0 + float(number.group().replace(",", "."))
    return None


_SETTINGS = select(RecommendationSettings).where(RecommendationSettings.shop_id == bindparam("shop_id"))
_BASKETS = select(OrderBasket.product_ids).where(
    OrderBasket.shop_id == bindparam("shop_id"), OrderBasket.customer_key == bindparam("key")
)


def settings_for(session: Session, shop_id: int) -> RecommendationSettings:
    found = session.execute(_SETTINGS, {"shop_id": shop_id}).scalar_one_or_none()
    return found or RecommendationSettings(shop_id=shop_id, is_enabled=True, attribution_window_days=7)


@dataclass
class Shopper:
    key: str | None
    bought: set[int]
    bought_variants: dict[int, int]  # product -> the variant bought in this order


def shopper_history(session: Session, shop_id: int, order: Order | Any | None) -> Shopper:
    """What this shopper has bought (this order included even before the models have counted it)."""
    if order is None:
        return Shopper(None, set(), {})
    key = customer_key(order.shopify_customer_id, order.email)
    bought = set(basket_of(order.line_items, {}))
    bought_variants = {
        int(i["product_id"]): int(i["variant_id"])
        for i in order.line_items or []
        if i.get("product_id") and i.get("variant_id")
    }
    if key:
        for products in session.connection().execute(_BASKETS, {"shop_id": shop_id, "key": key}).scalars():
            bought.update(products or [])
    variant_ids = [
        int(i["variant_id"]) for i in order.line_items or [] if i.get("variant_id") and not i.get("product_id")
    ]
    if variant_ids:
        bought.update(
            session.execute(
                select(CatalogVariant.shopify_product_id).where(
                    CatalogVariant.shop_id == shop_id, CatalogVariant.shopify_variant_id.in_(variant_ids)
                )
            ).scalars()
        )
    return Shopper(key, bought, bought_variants)


def _normalised(rows: list[tuple[int, float]]) -> dict[int, float]:
    best = max((score for _, score in rows), default=0.0)
    if best <= 0:
        return {}
    result: dict[int, float] = {}
    for product, score in rows:
        if score > 0:
            result[product] = max(result.get(product, 0.0), score / best)
    return result


@functools.cache
def _candidates_statement(with_next: bool, with_best_sellers: bool) -> Any:
    """Every candidate source in one round trip: next purchases and co-purchases of the seeds, products of
    the seeds' types and collections by popularity, and best sellers. Built once; values bound per request."""

    shop = bindparam("shop_id")
    parts = []
    models = [("co", CoPurchase, CoPurchase.other_product_id)]
    if with_next:
        models.insert(0, ("next", NextPurchase, NextPurchase.next_product_id))
    for kind, model, target in models:
        inner = (
            select(literal(kind).label("kind"), target.label("product"), model.score)
            .where(model.shop_id == shop, in_ids(model.product_id, "seeds"), model.score > 0)
            .order_by(model.score.desc())
            .limit(bindparam("limit"))
            .subquery()
        )
        parts.append(select(inner.c.kind, inner.c.product, inner.c.score))
    seed_product = aliased(CatalogProduct)
    seed_collection = aliased(CatalogCollection)
    seed_types = select(seed_product.product_type).where(
        seed_product.shop_id == shop, in_ids(seed_product.shopify_product_id, "seeds")
    )
    seed_collections = select(seed_collection.shopify_collection_id).where(
        seed_collection.shop_id == shop, in_ids(seed_collection.shopify_product_id, "seeds")
    )
    in_seed_collections = select(CatalogCollection.shopify_product_id).where(
        CatalogCollection.shop_id == shop, CatalogCollection.shopify_collection_id.in_(seed_collections)
    )
    # Products of the same type or collection that have not sold yet still count (a new arrival is a fine
    # "similar product"), just below every one that has. Type and collection are separate parts: an OR of
    # the two would cost a sequential scan of the catalogue.
    score = func.coalesce(Popularity.score, 0.0)
    for condition in (
        CatalogProduct.product_type.in_(seed_types),
        CatalogProduct.shopify_product_id.in_(in_seed_collections),
    ):
        category = (
            select(
                literal("category").label("kind"),
                CatalogProduct.shopify_product_id.label("product"),
                score.label("score"),
            )
            .outerjoin(
                Popularity,
                (Popularity.shop_id == CatalogProduct.shop_id)
                & (Popularity.product_id == CatalogProduct.shopify_product_id),
            )
            .where(CatalogProduct.shop_id == shop, condition, _RECOMMENDABLE)
            .order_by(score.desc())
            .limit(CATEGORY_CANDIDATES)
            .subquery()
        )
        parts.append(select(category.c.kind, category.c.product, category.c.score))
    if with_best_sellers:
        best = (
            select(literal("best").label("kind"), Popularity.product_id.label("product"), Popularity.score)
            .where(Popularity.shop_id == shop, Popularity.score > 0)
            .order_by(Popularity.score.desc())
            .limit(BESTSELLERS)
            .subquery()
        )
        parts.append(select(best.c.kind, best.c.product, best.c.score))
    return union_all(*parts)


def _candidates(
    session: Session, shop_id: int, seeds: list[int], with_next: bool, with_best_sellers: bool
) -> dict[str, dict[int, float]]:
    """Normalised scores per source: "next", "co", "category", "best"."""
    found: dict[str, dict[int, float]] = {kind: defaultdict(float) for kind in ("next", "co", "category", "best")}
    if seeds or with_best_sellers:
        limit = NEIGHBOURS * max(1, min(len(seeds), 3))
        statement = _candidates_statement(with_next and bool(seeds), with_best_sellers)
        for kind, product, score in session.connection().execute(
            statement, {"shop_id": shop_id, "seeds": seeds, "limit": limit}
        ):
            if kind == "category":  # found by type and by collection: once
                found[kind][product] = max(found[kind][product], score)
            else:
                found[kind][product] += score
    result = {kind: _normalised(list(scores.items())) for kind, scores in found.items()}
    for product, value in found["category"].items():
        if value <= 0:
            result["category"][product] = UNSOLD_SCORE
    return result


def _best_sellers_query(shop_id: int, limit: int):
    return (
        select(Popularity.product_id, Popularity.score)
        .where(Popularity.shop_id == shop_id, Popularity.score > 0)
        .order_by(Popularity.score.desc())
        .limit(limit)
    )


def best_sellers(session: Session, shop_id: int, limit: int = BESTSELLERS) -> dict[int, float]:
    return _normalised(list(session.execute(_best_sellers_query(shop_id, limit)).all()))


_RECOMMENDABLE = and_(
    CatalogProduct.deleted_at.is_(None),
    CatalogProduct.status == "active",
    CatalogProduct.is_published.is_(True),
    CatalogProduct.is_available.is_(True),
)
_CARD_PRODUCTS = select(
    CatalogProduct.shopify_product_id,
    CatalogProduct.title,
    CatalogProduct.handle,
    CatalogProduct.product_type,
    CatalogProduct.collection_ids,
    CatalogProduct.image_url,
    CatalogProduct.min_price,
    CatalogProduct.size_option,
    _RECOMMENDABLE.label("is_recommendable"),
).where(
    CatalogProduct.shop_id == bindparam("shop_id"),
    in_ids(CatalogProduct.shopify_product_id, "ids"),
)


def _products(session: Session, shop_id: int, ids: set[int]) -> dict[int, Any]:
    """Just the columns a card and the rules need (rows, not ORM objects: this is the serving hot path)."""
    if not ids:
        return {}
    rows = session.connection().execute(_CARD_PRODUCTS, {"shop_id": shop_id, "ids": sorted(ids)})
    return {row.shopify_product_id: row for row in rows}


def next_size(
    session: Session, shop_id: int, product: CatalogProduct, variant_id: int, up: bool
) -> CatalogVariant | None:
    """The same product one size up (or down), same other options (colour...), available; None if none."""
    if not product.size_option:
        return None
    variants = (
        session.execute(
            select(CatalogVariant).where(
                CatalogVariant.shop_id == shop_id, CatalogVariant.shopify_product_id == product.shopify_product_id
            )
        )
        .scalars()
        .all()
    )
    current = next((v for v in variants if v.shopify_variant_id == variant_id), None)
    if current is None:
        return None
    size_attr = f"option{product.size_option}"
    others = [f"option{i}" for i in (1, 2, 3) if i != product.size_option]
    current_rank = size_rank(getattr(current, size_attr))
    if current_rank is None:
        return None
    candidates = []
    for variant in variants:
        rank = size_rank(getattr(variant, size_attr))
        if rank is None or not variant.is_available:
            continue
        if any(getattr(variant, o) != getattr(current, o) for o in others):
            continue
        if (up and rank > current_rank) or (not up and rank < current_rank):
            candidates.append((abs(rank - current_rank), variant.position, variant))
    candidates.sort(key=lambda c: (c[0], c[1]))
    return candidates[0][2] if candidates else None


def rank(
    session: Session,
    shop_id: int,
    placement: str,
    *,
    order: Order | Any | None,
    product_ids: tuple[int, ...] = (),
    return_reason: str | None = None,
    limit: int = 4,
    settings: RecommendationSettings | Any | None = None,
) -> list[Choice]:
    """The products to show, best first, after every rule; empty when the shop turned recommendations off.

    `order` is an Order or a row of its columns (id, line_items, shopify_customer_id, email); `settings` may
    be passed, as an entity or a row with is_enabled, excluded_product_ids and pins, when the caller already
    loaded them (saves a round trip on the hot path)."""
    settings = settings or settings_for(session, shop_id)
    if not settings.is_enabled or limit <= 0:
        return []
    seeds = [int(p) for p in product_ids] or sorted(basket_of(order.line_items, {}) if order else [])
    shopper = shopper_history(session, shop_id, order)
    excluded = {int(p) for p in settings.excluded_product_ids or []}
    reason = normalise_reason(return_reason)
    weights = SIMILAR_WEIGHTS if reason in SIMILAR else WEIGHTS
    found = _candidates(session, shop_id, seeds, bool(weights["next"]), bool(weights["bestseller"]))
    sources = {
        "next": found["next"],
        "copurchase": found["co"],
        "category": found["category"],
        "bestseller": found["best"],
    }
    scores: dict[int, float] = defaultdict(float)
    for name, source in sources.items():
        for product_id, value in source.items():
            scores[product_id] += weights[name] * value
    pins = [int(p) for p in (settings.pins or {}).get(placement, [])]
    strongest = sorted(scores, key=lambda p: -scores[p])[: MAX_CANDIDATES + len(shopper.bought) + len(excluded)]
    # One query for the candidates, the pins, and what the shopper bought and the page is about (their types
    # drive personalisation and "similar").
    products = _products(session, shop_id, set(strongest) | set(pins) | shopper.bought | set(seeds))
    type_counts = Counter(
        products[p].product_type for p in shopper.bought if p in products and products[p].product_type
    )
    types = {products[p].product_type for p in seeds if p in products and products[p].product_type}
    collections = {c for p in seeds if p in products for c in (products[p].collection_ids or [])}
    total_types = sum(type_counts.values())
    chosen: list[Choice] = []

    if reason in SIZE_UP or reason in SIZE_DOWN:
        for product_id in seeds:
            product = products.get(product_id)
            bought_variant = shopper.bought_variants.get(product_id)
            if product is None or bought_variant is None or not product.is_recommendable or product_id in excluded:
                continue
            variant = next_size(session, shop_id, product, bought_variant, up=reason in SIZE_UP)
            if variant is not None:
                chosen.append(Choice(product, variant, 1.0, "next_size"))

    ruled_out = shopper.bought | excluded | {c.product.shopify_product_id for c in chosen}

    def allowed(product: Any) -> bool:
        return product is not None and product.is_recommendable and product.shopify_product_id not in ruled_out

    for product_id in pins:
        if len(chosen) < limit and allowed(products.get(product_id)):
            chosen.append(Choice(products[product_id], None, 1.0, "pinned"))
            ruled_out.add(product_id)

    pool: list[tuple[float, Any, str]] = []
    for product_id in strongest:
        score = scores[product_id]
        product = products.get(product_id)
        if not allowed(product):
            continue
        if reason in SIMILAR and not (
            (product.product_type and product.product_type in types)
            or (set(product.collection_ids or []) & collections)
        ):
            continue
        if total_types and product.product_type:
            score *= 1 + PERSONAL_BOOST * type_counts.get(product.product_type, 0) / total_types
        label = (
            "similar"
            if reason in SIMILAR
            else (
                "bestseller"
                if product_id in sources["bestseller"] and len([s for s in sources if product_id in sources[s]]) == 1
                else "recommended"
            )
        )
        pool.append((score, product, label))
    pool.sort(key=lambda item: (-item[0], item[1].shopify_product_id))

    shown_types = Counter(c.product.product_type for c in chosen)
    while pool and len(chosen) < limit:
        best_index, best_value = 0, -1.0
        for index, (score, product, _) in enumerate(pool[: limit * 8]):
            value = score * DIVERSITY_DECAY ** shown_types.get(product.product_type, 0)
            if value > best_value:
                best_index, best_value = index, value
        score, product, label = pool.pop(best_index)
        chosen.append(Choice(product, None, score, label))
        shown_types[product.product_type] += 1
    return chosen[:limit]
