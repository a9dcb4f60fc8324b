"""The attention queue's rows and each shop's alert settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db
from app.i18n import N_

KINDS = (
    "exception",
    "attempted_delivery",
    "returned_to_sender",
    "delayed",
    "stalled",
    "overdue",
    "detractor",
    "integration_off",
)
MODES = ("instant", "digest", "off")
LABEL_KEYS = (  # how each kind and mode is shown (`alerts.kind.<kind>`, `alerts.mode.<mode>`)
    N_("alerts.kind.exception"),
    N_("alerts.kind.attempted_delivery"),
    N_("alerts.kind.returned_to_sender"),
    N_("alerts.kind.delayed"),
    N_("alerts.kind.stalled"),
    N_("alerts.kind.overdue"),
    N_("alerts.kind.integration_off"),
    N_("alerts.kind.detractor"),
    N_("alerts.mode.instant"),
    N_("alerts.mode.digest"),
    N_("alerts.mode.off"),
)


class MerchantAlert(ShopScoped, db.Model):
    """One problem with one parcel (or one unshipped order), from the domain event that found it.

    Unique per (shop, dedupe key): the event's own key, so a redelivered or re-dispatched event is one alert.
    Open until the problem clears (`resolved_at`) or the merchant marks it handled (`handled_at`, `handled_by`).
    """

    __tablename__ = "merchant_alerts"
    __table_args__ = (
        UniqueConstraint("shop_id", "dedupe_key"),
        db.Index("ix_merchant_alerts_shop_id_open", "shop_id", "resolved_at", "handled_at", "created_at"),
        db.Index("ix_merchant_alerts_shop_id_fulfillment", "shop_id", "shopify_fulfillment_id"),
        db.Index("ix_merchant_alerts_shop_id_order", "shop_id", "shopify_order_id"),
        # The queue's "recently handled": newest first, read from the index end without sorting the shop's alerts.
        db.Index("ix_merchant_alerts_shop_id_handled_at", "shop_id", "handled_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    shopify_order_id: Mapped[int | None] = mapped_column(BigInteger)
    shopify_fulfillment_id: Mapped[int | None] = mapped_column(BigInteger)
    domain_event_id: Mapped[int | None] = mapped_column(BigInteger)
    # order name, carrier, tracking number (a detractor: the survey answer, e.g. "CSAT 2/5"): no contact data
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    emailed_at: Mapped[datetime | None]
    webhook_sent_at: Mapped[datetime | None]
    delivery_error: Mapped[str | None] = mapped_column(String(255))
    resolved_at: Mapped[datetime | None]
    handled_at: Mapped[datetime | None]
    handled_by: Mapped[str | None] = mapped_column(String(255))


class AlertSettings(ShopScoped, db.Model):
    __tablename__ = "alert_settings"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    mode: Mapped[str] = mapped_column(String(16), default="instant")
    notify_to: Mapped[str | None] = mapped_column(String(320))  # the merchant's own inbox, not a shopper's
    webhook_url: Mapped[str | None] = mapped_column(String(2048))
    webhook_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    kinds: Mapped[list[str] | None] = mapped_column(JSON)  # None: every kind
    locale: Mapped[str] = mapped_column(String(8), default="en")  # the language the merchant reads alerts in
    last_digest_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
