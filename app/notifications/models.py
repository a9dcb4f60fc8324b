"""The delivery log, per-shop notification settings and templates, contact preferences and link clicks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db

STATUSES = ("queued", "deferred", "sent", "delivered", "failed", "suppressed")


class Notification(ShopScoped, db.Model):
    """One message to one recipient on one channel. The dedupe key makes it exist at most once."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("shop_id", "dedupe_key"),
        db.Index("ix_notifications_shop_id_shopify_order_id", "shop_id", "shopify_order_id"),
        db.Index("ix_notifications_status_scheduled_for", "status", "scheduled_for"),
        db.Index("ix_notifications_channel_provider_message_id", "channel", "provider_message_id"),
        db.Index("ix_notifications_channel_recipient", "channel", "recipient"),
        db.Index(
            "ix_notifications_shop_id_shopper_key_sent_at",
            "shop_id",
            "shopper_key",
            "sent_at",
            postgresql_where=db.text("shopper_key IS NOT NULL"),
            sqlite_where=db.text("shopper_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255))
    trigger: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str | None] = mapped_column(String(320))  # erased on customers/redact
    locale: Mapped[str] = mapped_column(String(8), default="en")
    shopify_order_id: Mapped[int | None] = mapped_column(BigInteger)
    shopify_fulfillment_id: Mapped[int | None] = mapped_column(BigInteger)
    domain_event_id: Mapped[int | None] = mapped_column(BigInteger)
    subject: Mapped[str | None] = mapped_column(Text)
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    # Set just before handing the message to the provider: a crash after this point is "maybe sent".
    sending_started_at: Mapped[datetime | None]
    scheduled_for: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    resend_of_id: Mapped[int | None] = mapped_column(BigInteger)
    # When the news happened (the triggering domain event's own time): a message about something older than
    # the shop's horizon is suppressed, so history, reconciliation and late redeliveries never reach a shopper.
    event_at: Mapped[datetime | None]
    # The shopper a marketing or content message goes to, whatever the channel (policy.shopper_key): the
    # per-shopper marketing cap counts these. None for transactional messages.
    shopper_key: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationSettings(ShopScoped, db.Model):
    __tablename__ = "notification_settings"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    sender_name: Mapped[str | None] = mapped_column(String(120))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    # {"shipped": {"email": true, "sms": false, "line": true}, ...}; missing entries use the defaults.
    triggers: Mapped[dict[str, dict[str, bool]] | None] = mapped_column(JSON)
    quiet_hours_start: Mapped[int] = mapped_column(Integer, default=21)  # no SMS/LINE from 21:00 ...
    quiet_hours_end: Mapped[int] = mapped_column(Integer, default=8)  # ... until 08:00, recipient's time
    max_per_order_per_day: Mapped[int] = mapped_column(Integer, default=4)
    fallback_to_email: Mapped[bool] = mapped_column(Boolean, default=True)
    # Never message a shopper about an event older than this (hours).
    message_horizon_hours: Mapped[int] = mapped_column(Integer, default=72, server_default="72")
    # The per-shopper cap on marketing and content messages, across channels (app/notifications/policy.py).
    marketing_per_day: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    marketing_per_week: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationTemplate(ShopScoped, db.Model):
    """A merchant's own subject and body for one trigger, channel and language (Jinja, sandboxed)."""

    __tablename__ = "notification_templates"
    __table_args__ = (UniqueConstraint("shop_id", "trigger", "channel", "locale"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    trigger: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ContactPreference(ShopScoped, db.Model):
    """Consent and opt-out for one address on one channel (email, a phone in E.164, a LINE user id)."""

    __tablename__ = "contact_preferences"
    __table_args__ = (
        UniqueConstraint("shop_id", "channel", "address"),
        db.Index("ix_contact_preferences_channel_address", "channel", "address"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(320))
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    email: Mapped[str | None] = mapped_column(String(320))  # the shopper a LINE id or phone belongs to
    is_opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None]
    updates_consent: Mapped[bool] = mapped_column(Boolean, default=False)  # SMS/LINE shipping updates
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Orders whose unhappy survey answer the merchant has not followed up yet: while any, no marketing goes to
    # this address (app/surveys records `survey.detractor` / `survey.detractor_handled`).
    marketing_held_for: Mapped[list[int] | None] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LinkClick(ShopScoped, db.Model):
    __tablename__ = "link_clicks"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    url: Mapped[str] = mapped_column(Text)
    clicked_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class OrderMessagePause(ShopScoped, db.Model):
    """The merchant paused automatic messages for one order (support is talking to the shopper): while the row
    exists, planned messages for the order are held back with the reason "paused by the shop"."""

    __tablename__ = "order_message_pauses"
    __table_args__ = (UniqueConstraint("shop_id", "shopify_order_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_order_id: Mapped[int] = mapped_column(BigInteger)
    paused_by: Mapped[str] = mapped_column(String(255))
    paused_at: Mapped[datetime] = mapped_column(default=utcnow)
