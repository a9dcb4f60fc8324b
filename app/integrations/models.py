"""Where a shop sends its events (a webhook, Klaviyo) and every event owed to each destination."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db

DESTINATIONS = ("webhook", "klaviyo", "shopify_flow")
STATUSES = ("pending", "delivered", "failed", "skipped")


class IntegrationSettings(ShopScoped, db.Model):
    __tablename__ = "integration_settings"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2048))
    webhook_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    klaviyo_key_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    klaviyo_key_hint: Mapped[str | None] = mapped_column(String(8))
    events: Mapped[list[str] | None] = mapped_column(JSON)  # None: every event in the catalogue
    # Per destination: consecutive events that could not be delivered, and when (and why) it was switched off.
    failures: Mapped[dict[str, int] | None] = mapped_column(JSON)
    disabled: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # destination -> {"at": iso, "reason": str}
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutgoingEvent(ShopScoped, db.Model):
    """One event owed to one destination; unique on its dedupe key, so it is sent at most once."""

    __tablename__ = "outgoing_events"
    __table_args__ = (
        UniqueConstraint("shop_id", "destination", "dedupe_key"),
        db.Index("ix_outgoing_events_status_next_attempt_at", "status", "next_attempt_at"),
        db.Index("ix_outgoing_events_shop_id_email", "shop_id", "email"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    destination: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(255))
    shopify_order_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(320))  # the shopper the event is about (Klaviyo's profile)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class FlowTriggerUse(ShopScoped, db.Model):
    """Whether the shop has a Shopify Flow workflow that uses one of our triggers, as Flow's lifecycle callback
    last said (the newest `timestamp` wins): events go to Flow only for triggers in use."""

    __tablename__ = "flow_trigger_uses"
    __table_args__ = (UniqueConstraint("shop_id", "handle"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    handle: Mapped[str] = mapped_column(String(64))
    has_enabled_flow: Mapped[bool] = mapped_column(Boolean, default=False)
    told_at: Mapped[datetime]  # the callback's own timestamp
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
