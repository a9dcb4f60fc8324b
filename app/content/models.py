"""Content entries (what the merchant wrote, for which products, released when) and releases (one per order and
entry: when it is due, and when it went out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db

KINDS = ("getting_started", "care", "faq")
SCOPES = ("product", "variant", "product_type", "collection")
LOCALES = ("en", "th")
RELEASE_STATUSES = ("scheduled", "released")


class ContentEntry(ShopScoped, db.Model):
    """One piece of content: its texts per language ({"en": {"title", "body"}, "th": {...}}), an optional video,
    what it is about (a scope and its value: a product or variant id, a product type, a collection id) and when it
    is released (`kind`; care tips `delay_days` after delivery). A "faq" entry is one question (`title`) and its
    answer (`body`): shown on the tracking page from the moment the parcel ships, never sent as a message."""

    __tablename__ = "content_entries"
    __table_args__ = (db.Index("ix_content_entries_shop_id_scope", "shop_id", "scope", "scope_value"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(32))
    scope_value: Mapped[str] = mapped_column(String(255))
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)
    video_url: Mapped[str | None] = mapped_column(String(2048))
    delay_days: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(255), default="manual")  # "manual" or "metafield:<namespace.key>"
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ContentRelease(ShopScoped, db.Model):
    """An entry owed to one order: unique per (shop, order, entry), so a piece of content is released once per
    order whatever the parcels and redeliveries; due rows are found by the (status, due_at) index."""

    __tablename__ = "content_releases"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_order_id", "entry_id"),
        db.Index("ix_content_releases_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    entry_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("content_entries.id", ondelete="CASCADE"))
    shopify_order_id: Mapped[int] = mapped_column(BigInteger)
    shopify_fulfillment_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    due_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
