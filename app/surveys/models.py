"""A survey per delivered order (its one answer kept on the row) and each shop's survey settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db

QUESTIONS = ("csat", "nps", "both")
CHANNELS = ("email", "sms", "line")
STATUSES = ("scheduled", "sent", "answered", "skipped")


class Survey(ShopScoped, db.Model):
    """One order's delivery survey: planned when its last parcel is delivered, asked after the shop's delay.

    Unique per (shop, order): an order is asked once, however many parcels or redelivered events it has. The
    answer lives on the row (one answer per survey; a second tap changes it). `public_id` is what the signed
    links name; a new one (on erasure) makes every earlier link dead."""

    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_order_id"),
        UniqueConstraint("public_id"),
        db.Index("ix_surveys_status_due_at", "status", "due_at"),
        db.Index("ix_surveys_shop_id_answered_at", "shop_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32))
    shopify_order_id: Mapped[int] = mapped_column(BigInteger)
    shopify_fulfillment_id: Mapped[int | None] = mapped_column(BigInteger)  # the parcel that completed the order
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    order_name: Mapped[str | None] = mapped_column(String(64))
    # What the answer is keyed to: the carrier, the lane (origin -> destination) and the products.
    carrier: Mapped[str | None] = mapped_column(String(255))
    origin_country: Mapped[str | None] = mapped_column(String(64))
    destination_country: Mapped[str | None] = mapped_column(String(2))
    destination_province: Mapped[str | None] = mapped_column(String(64))
    product_ids: Mapped[list[int] | None] = mapped_column(JSON)
    question: Mapped[str] = mapped_column(String(8))  # csat | nps | both, as the shop asked when it was planned
    locale: Mapped[str] = mapped_column(String(8), default="en")
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    reason: Mapped[str | None] = mapped_column(String(255))  # why it was skipped
    delivered_at: Mapped[datetime | None]
    due_at: Mapped[datetime]
    asked_at: Mapped[datetime | None]
    csat_score: Mapped[int | None] = mapped_column(Integer)
    nps_score: Mapped[int | None] = mapped_column(Integer)
    reasons: Mapped[list[str] | None] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_via: Mapped[str | None] = mapped_column(String(16))  # message | tracking_page
    answered_at: Mapped[datetime | None]
    changed_at: Mapped[datetime | None]
    # A detractor (NPS <= 6 or CSAT <= 2): open from `detractor_at` until handled; `detractor_cycle` numbers each
    # time it opened (a shopper who changes their score back and forth is a new item each time).
    detractor_at: Mapped[datetime | None]
    detractor_handled_at: Mapped[datetime | None]
    detractor_handled_by: Mapped[str | None] = mapped_column(String(255))
    detractor_cycle: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def detractor_open(self) -> bool:
        return self.detractor_at is not None and self.detractor_handled_at is None


class SurveySettings(ShopScoped, db.Model):
    __tablename__ = "survey_settings"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    question: Mapped[str] = mapped_column(String(8), default="csat")
    delay_days: Mapped[int] = mapped_column(Integer, default=2)
    channels: Mapped[list[str] | None] = mapped_column(JSON)  # None: every channel the shopper may be reached on
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {
            "is_enabled": self.is_enabled,
            "question": self.question,
            "delay_days": self.delay_days,
            "channels": list(self.channels) if self.channels is not None else list(CHANNELS),
        }
