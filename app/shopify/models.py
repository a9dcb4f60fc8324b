"""Installed shops (with encrypted tokens), the webhook inbox and privacy-request records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db


class Shop(db.Model):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    currency: Mapped[str | None] = mapped_column(String(3))
    iana_timezone: Mapped[str | None] = mapped_column(String(64))
    scopes: Mapped[str | None] = mapped_column(Text)
    # Fernet tokens (MultiFernet for key rotation); never stored in plain text.
    access_token_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    access_token_expires_at: Mapped[datetime | None]
    refresh_token_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    refresh_token_expires_at: Mapped[datetime | None]
    is_installed: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_reauth: Mapped[bool] = mapped_column(Boolean, default=False)
    installed_at: Mapped[datetime | None]
    uninstalled_at: Mapped[datetime | None]
    redacted_at: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def has_access_token(self) -> bool:
        return self.access_token_encrypted is not None

    def __repr__(self) -> str:
        return f"<Shop {self.domain}>"


class WebhookEvent(ShopScoped, db.Model):
    """The inbox (and outbox) of webhook deliveries: stored before acknowledging, processed by a job."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("shop_id", "webhook_id"),
        Index("ix_webhook_events_status_received_at", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(100))
    api_version: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str | None] = mapped_column(String(255))
    triggered_at: Mapped[datetime | None]
    # The raw body, exactly as signed; purged once processed and past retention, or on redaction.
    payload: Mapped[str | None] = mapped_column(Text)
    # received -> processed | failed | ignored
    status: Mapped[str] = mapped_column(String(20), default="received")
    error: Mapped[str | None] = mapped_column(Text)  # one line, for the merchant
    # What processing changed to store the payload (a field cut to its column, a control character removed,
    # a field of the wrong type dropped): field names only, never their values.
    notes: Mapped[list[str] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class ComplianceRequest(ShopScoped, db.Model):
    """A GDPR/CPRA request from Shopify and what we did about it (the merchant sees these)."""

    __tablename__ = "compliance_requests"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    topic: Mapped[str] = mapped_column(String(50))
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    data_request_id: Mapped[int | None] = mapped_column(BigInteger)
    # For customers/data_request: what we hold on the customer, assembled for the merchant.
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
