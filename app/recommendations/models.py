"""Recommendations' tables: the synced catalogue, the precomputed models, attribution and per-shop settings.

Model scores are stored as sums of `exp(lambda * (t - EPOCH))` over the orders that contributed (see
model_build.py), so adding an order is an addition and every pair decays at the same rate: comparing stored
scores at any moment gives the time-decayed ranking without rewriting rows as time passes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db

# Where cards are shown; impressions, clicks and the report are kept per placement.
PLACEMENTS = ("tracking_page", "tracking_widget", "return_status", "return_exchange", "email")


class CatalogProduct(ShopScoped, db.Model):
    """A product as Shopify last described it (webhook or bulk sync); `updated_at` decides between versions."""

    __tablename__ = "catalog_products"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_product_id"),
        db.Index("ix_catalog_products_shop_id_product_type", "shop_id", "product_type"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_product_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(String(255))
    handle: Mapped[str | None] = mapped_column(String(255))
    product_type: Mapped[str | None] = mapped_column(String(255))
    vendor: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | draft | archived
    is_published: Mapped[bool] = mapped_column(Boolean, default=True)
    is_available: Mapped[bool] = mapped_column(Boolean, default=True)  # some variant can be bought
    image_url: Mapped[str | None] = mapped_column(Text)
    min_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    size_option: Mapped[int | None] = mapped_column(Integer)  # 1..3: which option is the size, if any
    tags: Mapped[list[str] | None] = mapped_column(JSON)
    collection_ids: Mapped[list[int] | None] = mapped_column(JSON)
    deleted_at: Mapped[datetime | None]
    shopify_updated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def is_recommendable(self) -> bool:
        return (
            self.deleted_at is None and self.status == "active" and bool(self.is_published) and bool(self.is_available)
        )


class CatalogVariant(ShopScoped, db.Model):
    __tablename__ = "catalog_variants"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_variant_id"),
        db.Index("ix_catalog_variants_shop_id_shopify_product_id", "shop_id", "shopify_product_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_variant_id: Mapped[int] = mapped_column(BigInteger)
    shopify_product_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str | None] = mapped_column(String(255))
    sku: Mapped[str | None] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer, default=1)
    option1: Mapped[str | None] = mapped_column(String(255))
    option2: Mapped[str | None] = mapped_column(String(255))
    option3: Mapped[str | None] = mapped_column(String(255))
    price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    image_url: Mapped[str | None] = mapped_column(Text)
    is_available: Mapped[bool] = mapped_column(Boolean, default=True)


class CatalogCollection(ShopScoped, db.Model):
    """Which collections a product belongs to (from the bulk sync; webhooks do not carry it)."""

    __tablename__ = "catalog_collections"
    __table_args__ = (UniqueConstraint("shop_id", "shopify_collection_id", "shopify_product_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_collection_id: Mapped[int] = mapped_column(BigInteger)
    shopify_product_id: Mapped[int] = mapped_column(BigInteger, index=True)
    title: Mapped[str | None] = mapped_column(String(255))


class CatalogSync(ShopScoped, db.Model):
    """One bulk catalogue sync and its progress, for the admin and the CLI."""

    __tablename__ = "catalog_syncs"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # starting | running | importing | completed | failed
    status: Mapped[str] = mapped_column(String(20), default="starting")
    bulk_operation_id: Mapped[str | None] = mapped_column(String(120))
    object_count: Mapped[int] = mapped_column(Integer, default=0)  # lines Shopify has written so far
    imported_products: Mapped[int] = mapped_column(Integer, default=0)
    imported_lines: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class OrderBasket(ShopScoped, db.Model):
    """What one order contributed to the models, so an order is counted once and a new version replaces it."""

    __tablename__ = "rec_order_baskets"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_order_id"),
        db.Index("ix_rec_order_baskets_shop_id_customer_key_ordered_at", "shop_id", "customer_key", "ordered_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_order_id: Mapped[int] = mapped_column(BigInteger)
    customer_key: Mapped[str | None] = mapped_column(String(340))
    ordered_at: Mapped[datetime]
    product_ids: Mapped[list[int]] = mapped_column(JSON)
    # The previous order's products that were credited as leading to this one (sequence model), so a new
    # version of this order can undo exactly what it added.
    credited_from: Mapped[list[int] | None] = mapped_column(JSON)


class CoPurchase(ShopScoped, db.Model):
    """Bought in the same order (symmetric; both directions stored)."""

    __tablename__ = "rec_copurchases"
    __table_args__ = (UniqueConstraint("shop_id", "product_id", "other_product_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger)
    other_product_id: Mapped[int] = mapped_column(BigInteger)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    orders: Mapped[int] = mapped_column(Integer, default=0)


class NextPurchase(ShopScoped, db.Model):
    """Bought by the same customer in their next order after buying `product_id`."""

    __tablename__ = "rec_next_purchases"
    __table_args__ = (UniqueConstraint("shop_id", "product_id", "next_product_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger)
    next_product_id: Mapped[int] = mapped_column(BigInteger)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    customers: Mapped[int] = mapped_column(Integer, default=0)


class Popularity(ShopScoped, db.Model):
    """Time-decayed sales of one product: best sellers, and popular within a type or collection."""

    __tablename__ = "rec_popularity"
    __table_args__ = (
        UniqueConstraint("shop_id", "product_id"),
        db.Index("ix_rec_popularity_shop_id_score", "shop_id", "score"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    orders: Mapped[int] = mapped_column(Integer, default=0)


class RecommendationSettings(ShopScoped, db.Model):
    __tablename__ = "rec_settings"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    excluded_product_ids: Mapped[list[int] | None] = mapped_column(JSON)
    pins: Mapped[dict[str, list[int]] | None] = mapped_column(JSON)  # placement -> product ids, in order
    discount_code: Mapped[str | None] = mapped_column(String(64))
    attribution_window_days: Mapped[int] = mapped_column(Integer, default=7)
    models_rebuilt_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ImpressionCount(ShopScoped, db.Model):
    """Cards shown, counted per day and placement (one row per day, not per view)."""

    __tablename__ = "rec_impressions"
    __table_args__ = (UniqueConstraint("shop_id", "day", "placement"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    placement: Mapped[str] = mapped_column(String(32))
    views: Mapped[int] = mapped_column(Integer, default=0)
    cards: Mapped[int] = mapped_column(Integer, default=0)


class RecommendationClick(ShopScoped, db.Model):
    """One click on a card; `public_id` travels in the product link and cart so an order can be matched."""

    __tablename__ = "rec_clicks"
    __table_args__ = (
        UniqueConstraint("public_id"),
        db.Index("ix_rec_clicks_shop_id_clicked_at", "shop_id", "clicked_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32))
    placement: Mapped[str] = mapped_column(String(32))
    shopify_product_id: Mapped[int] = mapped_column(BigInteger)
    source_order_id: Mapped[int | None] = mapped_column(BigInteger)  # our orders.id the card was shown for
    customer_key: Mapped[str | None] = mapped_column(String(340))
    clicked_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attribution(ShopScoped, db.Model):
    """An order credited to a recommendation: once per order (unique), by link, discount code or cart attribute."""

    __tablename__ = "rec_attributions"
    __table_args__ = (UniqueConstraint("shop_id", "shopify_order_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_order_id: Mapped[int] = mapped_column(BigInteger)
    click_id: Mapped[int | None] = mapped_column(BigInteger)
    placement: Mapped[str | None] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(20))  # link | cart_attribute | discount_code
    revenue: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attributed_at: Mapped[datetime] = mapped_column(default=utcnow)
