"""What the merchant ticked in the setup guide (a step the app cannot check for itself), with who and when; and
what was done on an order from the admin (one-click actions, internal notes), with who and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db


class SetupTick(ShopScoped, db.Model):
    __tablename__ = "setup_ticks"
    __table_args__ = (UniqueConstraint("shop_id", "step"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    step: Mapped[str] = mapped_column(String(40))
    ticked_by: Mapped[str | None] = mapped_column(String(255))
    ticked_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderActivity(ShopScoped, db.Model):
    """The order page's audit trail: one row per action a merchant user took on an order (resend, tracking link,
    parcel marked lost or reshipped, messages paused or resumed) or an internal note. Never shown to shoppers."""

    __tablename__ = "order_activity"
    __table_args__ = (db.Index("ix_order_activity_shop_id_order", "shop_id", "shopify_order_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_order_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # channel, tracking number, outcome: no contact data
    note: Mapped[str | None] = mapped_column(Text)  # an internal note's text (may name the customer: privacy)
    actor: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
