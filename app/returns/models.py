"""Returns as the app keeps them: the shop's policy, return requests with their lines, recorded steps and
uploads, the outbox of Shopify mutations, and the product and customer facts the rules engine reads."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db

# The workflow, in order; declined, closed and canceled end it early.
STATUSES = (
    "requested",
    "approved",
    "declined",
    "awaiting_shipment",
    "in_transit",
    "received",
    "inspected",
    "resolved",
    "closed",
    "canceled",
)
OPEN_STATUSES = ("requested", "approved", "awaiting_shipment", "in_transit", "received", "inspected")


class ReturnPolicy(ShopScoped, db.Model):
    """The shop's published policy (rules + tiers, app/returns/rules.py form), a draft being edited, and
    the reasons shoppers pick from."""

    __tablename__ = "return_policies"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    published: Mapped[dict[str, Any]] = mapped_column(JSON)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # How to send items back, per locale (the built-in label adapter shows it).
    instructions: Mapped[dict[str, str] | None] = mapped_column(JSON)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReturnRequest(ShopScoped, db.Model):
    __tablename__ = "return_requests"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_return_id"),
        UniqueConstraint("shop_id", "idempotency_key"),
        db.Index("ix_return_requests_shop_id_status", "shop_id", "status"),
        db.Index("ix_return_requests_shop_id_shopify_order_id", "shop_id", "shopify_order_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_order_id: Mapped[int] = mapped_column(BigInteger)
    # Our orders.id when the order is known; no foreign key: like fulfilments, a return links to its order by
    # Shopify id and may arrive (by webhook) before the order does.
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    shopify_return_id: Mapped[int | None] = mapped_column(BigInteger)
    shopify_return_gid: Mapped[str | None] = mapped_column(String(100))
    # Reverse fulfilment order ids Shopify gives once a return is open (needed for reverse deliveries).
    reverse_fulfillment_order_gids: Mapped[list[str] | None] = mapped_column(JSON)
    name: Mapped[str | None] = mapped_column(String(64))
    # "portal:<hash of the order and lines>" for the portal, "shopify:<return id>" for returns made in Shopify.
    idempotency_key: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))  # portal | shopify | admin
    status: Mapped[str] = mapped_column(String(24), default="requested")
    resolution: Mapped[str | None] = mapped_column(String(24))
    reason_code: Mapped[str | None] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    tier_code: Mapped[str | None] = mapped_column(String(40))
    # The engine's decision when requested: matched rules, window, perks, so the merchant sees why.
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    is_auto_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    is_free_shipping: Mapped[bool] = mapped_column(Boolean, default=False)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    restocking_fee: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    shipping_fee: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    credit_bonus: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    refund_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    credit_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    # Exchange: new item price minus returned value; positive = the shopper pays, negative = refunded.
    price_difference: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    decline_reason: Mapped[str | None] = mapped_column(String(40))
    decline_note: Mapped[str | None] = mapped_column(Text)
    label_adapter: Mapped[str | None] = mapped_column(String(40))
    tracking_company: Mapped[str | None] = mapped_column(String(255))
    tracking_number: Mapped[str | None] = mapped_column(String(120))
    carrier_code: Mapped[str | None] = mapped_column(String(40))  # detected, for carrier status polling
    tracking_url: Mapped[str | None] = mapped_column(Text)
    shopify_reverse_delivery_gid: Mapped[str | None] = mapped_column(String(100))
    shopify_credit_gid: Mapped[str | None] = mapped_column(String(100))
    # Set when an outcome at Shopify is unknown (the answer was lost); the merchant checks before a retry.
    needs_attention: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lines: Mapped[list[ReturnLine]] = relationship(
        back_populates="return_request", order_by="ReturnLine.id", cascade="all, delete-orphan"
    )
    steps: Mapped[list[ReturnStep]] = relationship(order_by="ReturnStep.id", cascade="all, delete-orphan")


class ReturnLine(ShopScoped, db.Model):
    __tablename__ = "return_lines"
    __table_args__ = (UniqueConstraint("return_request_id", "shopify_line_item_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    return_request_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("return_requests.id", ondelete="CASCADE"), index=True
    )
    shopify_line_item_id: Mapped[int] = mapped_column(BigInteger)
    fulfillment_line_item_gid: Mapped[str | None] = mapped_column(String(100))
    shopify_return_line_item_gid: Mapped[str | None] = mapped_column(String(100))
    shopify_product_id: Mapped[int | None] = mapped_column(BigInteger)
    shopify_variant_id: Mapped[int | None] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(String(255))
    variant_title: Mapped[str | None] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    exchange_variant_id: Mapped[int | None] = mapped_column(BigInteger)
    exchange_title: Mapped[str | None] = mapped_column(String(255))
    exchange_unit_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    shopify_exchange_line_item_gid: Mapped[str | None] = mapped_column(String(100))

    return_request: Mapped[ReturnRequest] = relationship(back_populates="lines")


class ReturnStep(ShopScoped, db.Model):
    """One step of a return's workflow: what, who (shopper, merchant:<user>, shopify, system) and when."""

    __tablename__ = "return_steps"
    __table_args__ = (UniqueConstraint("shop_id", "dedupe_key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    return_request_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("return_requests.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReturnScan(ShopScoped, db.Model):
    """A carrier scan of the parcel on its way back, polled like an outbound shipment's (app/tracking/polling)."""

    __tablename__ = "return_scans"
    __table_args__ = (UniqueConstraint("return_request_id", "external_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    return_request_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("return_requests.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32))  # our normalised status; None when unknown
    raw_status: Mapped[str] = mapped_column(String(120))
    message: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(255))
    happened_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReturnFile(ShopScoped, db.Model):
    """A shopper's photo or a merchant-uploaded return label; type and size checked before storing."""

    __tablename__ = "return_files"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    return_request_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("return_requests.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # photo | label
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReturnSyncOp(ShopScoped, db.Model):
    """One Admin API mutation a return needs (create, approve, decline, reverse_delivery, process, credit):
    the outbox that makes Shopify sync durable, unique per return and operation so it is never done twice."""

    __tablename__ = "return_sync_ops"
    __table_args__ = (UniqueConstraint("return_request_id", "operation"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    return_request_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("return_requests.id", ondelete="CASCADE"), index=True
    )
    operation: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReturnProductFacts(ShopScoped, db.Model):
    """What the rules and the exchange step need to know about a product (tags, type, collections, variants)."""

    __tablename__ = "return_product_facts"
    __table_args__ = (UniqueConstraint("shop_id", "shopify_product_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_product_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str | None] = mapped_column(String(255))
    product_type: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list[str] | None] = mapped_column(JSON)
    collections: Mapped[list[str] | None] = mapped_column(JSON)
    # [{"id": <variant id>, "title": "M / Blue", "price": "490.00", "available": true}]
    variants: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    image_url: Mapped[str | None] = mapped_column(Text)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerLoyalty(ShopScoped, db.Model):
    """Shopify's own lifetime figures for a customer (numberOfOrders, amountSpent, tags) for tiering."""

    __tablename__ = "customer_loyalty"
    __table_args__ = (UniqueConstraint("shop_id", "shopify_customer_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_customer_id: Mapped[int] = mapped_column(BigInteger)
    orders_count: Mapped[int] = mapped_column(Integer, default=0)
    amount_spent: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    currency: Mapped[str | None] = mapped_column(String(3))
    tags: Mapped[list[str] | None] = mapped_column(JSON)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)
