"""Orders and fulfilments as the app keeps them: Shopify ids as keys, `updated_at` picks the newer."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Integer, Numeric, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db

# Shopify names the only variant of a product without options "Default Title": a placeholder, not a size.
DEFAULT_VARIANT_TITLE = "Default Title"


def shown_variant_title(title: str | None) -> str | None:
    """A line's variant as a shopper should see it: None for Shopify's placeholder of a product without options."""
    if not title or title.strip() == DEFAULT_VARIANT_TITLE:
        return None
    return title


class Order(ShopScoped, db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_order_id"),
        db.Index("ix_orders_shop_id_order_number", "shop_id", "order_number"),
        db.Index("ix_orders_shop_id_email", "shop_id", "email"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_order_id: Mapped[int] = mapped_column(BigInteger)
    admin_graphql_api_id: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(64))
    order_number: Mapped[int | None] = mapped_column(Integer)
    # Minimal customer PII: what tracking and notifications need; erased on customers/redact.
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    customer_first_name: Mapped[str | None] = mapped_column(String(255))
    # What support searches by (app/orders/queries.py): the full name, the phone's national digits.
    customer_name: Mapped[str | None] = mapped_column(String(255))
    phone_key: Mapped[str | None] = mapped_column(String(16))
    customer_locale: Mapped[str | None] = mapped_column(String(20))
    financial_status: Mapped[str | None] = mapped_column(String(40))
    fulfillment_status: Mapped[str | None] = mapped_column(String(40))
    total_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    line_items: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    shipping_country: Mapped[str | None] = mapped_column(String(2))
    shipping_province: Mapped[str | None] = mapped_column(String(64))
    # The shipping rate the shopper chose at checkout (the first shipping line's title, else its code).
    shipping_service: Mapped[str | None] = mapped_column(String(120))
    # Derived from the shipments (app/tracking/services.py); never set from a payload directly.
    status: Mapped[str] = mapped_column(String(32), default="ordered")
    is_fulfillment_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    shopify_created_at: Mapped[datetime | None]
    shopify_updated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# Shoppers find an order by its name as their confirmation shows it, in any case (app/orders/queries.py).
db.Index("ix_orders_shop_id_upper_name", Order.shop_id, func.upper(Order.name))
# The admin's order search and its newest-first pages (keyset on placed time, then id).
db.Index("ix_orders_shop_id_lower_email", Order.shop_id, func.lower(Order.email))
db.Index("ix_orders_shop_id_phone_key", Order.shop_id, Order.phone_key)
db.Index(
    "ix_orders_shop_id_lower_customer_name",
    Order.shop_id,
    func.lower(Order.customer_name).label("customer_name_lower"),
    postgresql_ops={"customer_name_lower": "varchar_pattern_ops"},  # prefix search (LIKE 'som%') uses it
)
db.Index("ix_orders_shop_id_created_id", Order.shop_id, Order.shopify_created_at, Order.id)
db.Index("ix_orders_shop_id_status_created_id", Order.shop_id, Order.status, Order.shopify_created_at, Order.id)


class Fulfillment(ShopScoped, db.Model):
    """One Shopify fulfilment. Linked to its order by Shopify id, so it may arrive before the order."""

    __tablename__ = "fulfillments"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_fulfillment_id"),
        db.Index("ix_fulfillments_shop_id_shopify_order_id", "shop_id", "shopify_order_id"),
        db.Index("ix_fulfillments_shop_id_tracking_number", "shop_id", "tracking_number"),
        db.Index("ix_fulfillments_shop_id_carrier_code", "shop_id", "carrier_code"),
        db.Index(
            "ix_fulfillments_shop_id_delayed",
            "shop_id",
            postgresql_where=text("is_delayed"),
            sqlite_where=text("is_delayed"),
        ),
        db.Index(
            "ix_fulfillments_shop_id_stalled",
            "shop_id",
            postgresql_where=text("is_stalled"),
            sqlite_where=text("is_stalled"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_fulfillment_id: Mapped[int] = mapped_column(BigInteger)
    shopify_order_id: Mapped[int] = mapped_column(BigInteger)
    admin_graphql_api_id: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(40))
    shipment_status: Mapped[str | None] = mapped_column(String(40))
    tracking_company: Mapped[str | None] = mapped_column(String(255))
    tracking_numbers: Mapped[list[str] | None] = mapped_column(JSON)
    tracking_urls: Mapped[list[str] | None] = mapped_column(JSON)
    # The first tracking number as support types it (upper case, no spaces), for the admin's search.
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    line_items: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    destination_country: Mapped[str | None] = mapped_column(String(2))
    shopify_created_at: Mapped[datetime | None]
    shopify_updated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The shipment as the shopper sees it, derived from everything above and the tracking events.
    shipment_state: Mapped[str | None] = mapped_column(String(32))
    carrier_code: Mapped[str | None] = mapped_column(String(32))
    carrier_name: Mapped[str | None] = mapped_column(String(255))
    tracking_url: Mapped[str | None] = mapped_column(Text)
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_scan_at: Mapped[datetime | None]
    carrier_estimated_delivery_at: Mapped[datetime | None]
    estimate_from: Mapped[date | None] = mapped_column(Date)
    estimate_to: Mapped[date | None] = mapped_column(Date)
    estimate_source: Mapped[str | None] = mapped_column(String(16))
    is_delayed: Mapped[bool] = mapped_column(Boolean, default=False)
    is_stalled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The merchant's word on the parcel, over the carrier's: "lost" or "reshipped" (a replacement went out).
    merchant_state: Mapped[str | None] = mapped_column(String(16))
    merchant_state_at: Mapped[datetime | None]
    replacement_tracking_number: Mapped[str | None] = mapped_column(String(255))


class TrackingEvent(ShopScoped, db.Model):
    """One scan or status update of a shipment, from Shopify's fulfilment events or a carrier adapter."""

    __tablename__ = "tracking_events"
    __table_args__ = (
        UniqueConstraint("shop_id", "source", "external_id"),
        db.Index("ix_tracking_events_shop_id_shopify_fulfillment_id", "shop_id", "shopify_fulfillment_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_fulfillment_id: Mapped[int] = mapped_column(BigInteger)
    shopify_order_id: Mapped[int | None] = mapped_column(BigInteger)
    # "shopify" (fulfillment_events/create, reconciliation) or "carrier:<code>" (polling adapters).
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(120))
    status: Mapped[str | None] = mapped_column(String(32))  # normalised; None when the raw value is unknown
    raw_status: Mapped[str | None] = mapped_column(String(120))  # kept verbatim
    message: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(String(120))
    province: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(120))
    happened_at: Mapped[datetime]
    estimated_delivery_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Refund(ShopScoped, db.Model):
    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("shop_id", "shopify_refund_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_refund_id: Mapped[int] = mapped_column(BigInteger)
    shopify_order_id: Mapped[int] = mapped_column(BigInteger, index=True)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    note: Mapped[str | None] = mapped_column(Text)
    line_items: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    shopify_return_id: Mapped[int | None] = mapped_column(BigInteger)
    refunded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Customer(ShopScoped, db.Model):
    """Only the personal data the features need (greeting, language, where to send updates)."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("shop_id", "shopify_customer_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_customer_id: Mapped[int] = mapped_column(BigInteger)
    first_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    locale: Mapped[str | None] = mapped_column(String(20))
    orders_count: Mapped[int | None] = mapped_column(Integer)
    shopify_updated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
