"""A shop's follow-up flows, the shoppers enrolled in them, and the repeat-purchase intervals learned per product."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db

ACTIVE = "active"
COMPLETED = "completed"
EXITED = "exited"


class Flow(ShopScoped, db.Model):
    """One flow of a shop (one per kind): whether it is on, the event its waits are measured from, who it is for
    (`segment`) and its steps (`steps`: wait in days from that event, channel, and the words per language)."""

    __tablename__ = "flows"
    __table_args__ = (UniqueConstraint("shop_id", "kind"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_on: Mapped[str] = mapped_column(String(32))
    segment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FlowEnrolment(ShopScoped, db.Model):
    """One shopper in one flow, from one event (unique per flow and event). The scheduler reads only the rows
    whose `next_due_at` has come (a partial index on the active ones), never the orders."""

    __tablename__ = "flow_enrolments"
    __table_args__ = (
        UniqueConstraint("shop_id", "dedupe_key"),
        db.Index(
            "ix_flow_enrolments_due",
            "next_due_at",
            postgresql_where=db.text("status = 'active'"),
            sqlite_where=db.text("status = 'active'"),
        ),
        db.Index("ix_flow_enrolments_shop_id_email", "shop_id", "email"),
        db.Index("ix_flow_enrolments_shop_id_customer", "shop_id", "shopify_customer_id"),
        db.Index("ix_flow_enrolments_flow_id_status", "flow_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    flow_id: Mapped[int] = mapped_column(BigInteger)
    dedupe_key: Mapped[str] = mapped_column(String(255))
    shopify_order_id: Mapped[int] = mapped_column(BigInteger)  # the order whose event started it
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(320))  # lower-cased; erased on customers/redact
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    exit_reason: Mapped[str | None] = mapped_column(String(255))
    step_index: Mapped[int] = mapped_column(Integer, default=0)  # the next step to send
    steps_sent: Mapped[int] = mapped_column(Integer, default=0)
    anchored_at: Mapped[datetime]  # when the event happened: every wait counts from here
    first_wait_days: Mapped[float | None] = mapped_column(Float)  # replenishment: the learned interval
    next_due_at: Mapped[datetime | None]
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProductRepeatInterval(ShopScoped, db.Model):
    """How long shoppers of this shop take to buy a product again: the days between one shopper's consecutive
    orders of it (`samples`, by the later order's id, the latest 50), and their median once there are enough."""

    __tablename__ = "product_repeat_intervals"
    __table_args__ = (UniqueConstraint("shop_id", "product_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger)
    samples: Mapped[dict[str, float]] = mapped_column(JSON)
    median_days: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
