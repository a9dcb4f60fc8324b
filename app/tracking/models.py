"""Per-shop tracking and branding settings, and the record of every delivery estimate we showed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db


class TrackingSettings(ShopScoped, db.Model):
    """Branding (design tokens only) and the rules behind estimates and delay detection."""

    __tablename__ = "tracking_settings"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # Branding: validated design tokens, never raw CSS (app/tracking/branding.py).
    logo_url: Mapped[str | None] = mapped_column(Text)
    accent_color: Mapped[str] = mapped_column(String(7), default="#2563eb")
    text_color: Mapped[str] = mapped_column(String(7), default="#1f2937")
    background_color: Mapped[str] = mapped_column(String(7), default="#ffffff")
    font: Mapped[str] = mapped_column(String(40), default="system")
    radius_px: Mapped[int] = mapped_column(Integer, default=8)
    custom_message: Mapped[dict[str, str] | None] = mapped_column(JSON)  # {"en": "...", "th": "..."}
    faq: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)  # [{"q": "...", "a": "...", "locale": "en"}]
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_url: Mapped[str | None] = mapped_column(Text)
    # Estimates and delays, in business days.
    handling_days: Mapped[int] = mapped_column(Integer, default=2)
    default_transit: Mapped[dict[str, list[int]] | None] = mapped_column(JSON)  # {"TH": [1, 3], "*": [5, 12]}
    weekend_days: Mapped[list[int] | None] = mapped_column(JSON)  # ISO weekdays, 6 = Sat, 7 = Sun
    holidays: Mapped[list[str] | None] = mapped_column(JSON)  # ["2026-12-05", ...]
    stall_after_days: Mapped[int | None] = mapped_column(Integer)  # None: learned per carrier and lane
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {c.name: getattr(self, c.name) for c in self.__table__.columns if c.name not in ("id", "shop_id")}


class DeliveryEstimate(ShopScoped, db.Model):
    """Every estimate shown for a shipment, so its accuracy can be reported once it is delivered."""

    __tablename__ = "delivery_estimates"
    __table_args__ = (db.Index("ix_delivery_estimates_shop_id_fulfillment", "shop_id", "shopify_fulfillment_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_fulfillment_id: Mapped[int] = mapped_column(BigInteger)
    carrier_code: Mapped[str | None] = mapped_column(String(32))
    destination_country: Mapped[str | None] = mapped_column(String(2))
    estimate_from: Mapped[date] = mapped_column(Date)
    estimate_to: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16))  # carrier | learned | default | revised
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
