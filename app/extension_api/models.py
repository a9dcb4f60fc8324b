"""The thank-you page's one optional question: the shop's wording, and each order's answer (for analytics)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db

ANSWER_MAX_LENGTH = 200


class ThankYouSettings(ShopScoped, db.Model):
    """What the thank-you block asks: the merchant's question per language (the catalog's default when empty)."""

    __tablename__ = "thank_you_settings"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    ask_question: Mapped[bool] = mapped_column(Boolean, default=True)
    question: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"en": "...", "th": "..."}
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ThankYouAnswer(ShopScoped, db.Model):
    """One order's answer, given once on its thank-you page; the question is kept as it was asked."""

    __tablename__ = "thank_you_answers"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_order_id"),
        db.Index("ix_thank_you_answers_shop_id_created_at", "shop_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_order_id: Mapped[int] = mapped_column(BigInteger)
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    question: Mapped[str] = mapped_column(String(300))
    answer: Mapped[str] = mapped_column(String(ANSWER_MAX_LENGTH))
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
