"""Each shop's help-desk token, kept only as its SHA-256 (the merchant sees it once, when it is made)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db


class HelpdeskToken(ShopScoped, db.Model):
    __tablename__ = "helpdesk_tokens"
    __table_args__ = (UniqueConstraint("shop_id"), UniqueConstraint("token_hash"))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    hint: Mapped[str] = mapped_column(String(8))  # the token's last characters, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
