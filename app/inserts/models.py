"""Each shop's insert settings, the scans of an insert's QR codes, batch prints and the metafield outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db
from app.i18n import N_

SIZES = ("a6", "a5", "letter")
CODES = ("track", "returns")  # a QR code's kind; the review page joins when a reviews feature exists
LABEL_KEYS = (
    N_("inserts.size.a6"),
    N_("inserts.size.a5"),
    N_("inserts.size.letter"),
    N_("inserts.code.track"),
    N_("inserts.code.returns"),
    N_("inserts.batch.queued"),
    N_("inserts.batch.running"),
    N_("inserts.batch.done"),
    N_("inserts.batch.failed"),
)


class InsertSettings(ShopScoped, db.Model):
    """The shop's insert: paper size, its own note per language (a sandboxed template), which QR codes."""

    __tablename__ = "insert_settings"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    size: Mapped[str] = mapped_column(String(8), default="a6")
    note_en: Mapped[str | None] = mapped_column(Text)
    note_th: Mapped[str | None] = mapped_column(Text)
    codes: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(CODES))
    # Keep the order metafield the packing-slip snippet reads filled: one Admin API write per order, so only
    # for a merchant who uses the snippet.
    packing_slip: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InsertScan(ShopScoped, db.Model):
    """How often one order's QR code of one kind was scanned (unique per shop, order and code)."""

    __tablename__ = "insert_scans"
    __table_args__ = (UniqueConstraint("shop_id", "order_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger)  # orders.id
    code: Mapped[str] = mapped_column(String(16))
    scans: Mapped[int] = mapped_column(Integer, default=0)
    first_scanned_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_scanned_at: Mapped[datetime] = mapped_column(default=utcnow)


class InsertBatch(ShopScoped, db.Model):
    """One "print all unfulfilled orders" run: its progress, then the PDF (kept until the next batch replaces it,
    or a customer's erasure removes it: it carries first names)."""

    __tablename__ = "insert_batches"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # read only to download
    error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class InsertLinkSync(ShopScoped, db.Model):
    """The outbox for the order metafield `aftercart.insert_links` (the packing-slip snippet's QR links):
    one row per order, `pending` until `metafieldsSet` took it."""

    __tablename__ = "insert_link_syncs"
    __table_args__ = (UniqueConstraint("shop_id", "order_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger)  # orders.id
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    synced_at: Mapped[datetime | None]
