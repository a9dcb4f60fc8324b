"""What the merchant ticked in the setup guide (a step the app cannot check for itself), with who and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
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
