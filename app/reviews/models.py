"""Review requests (one per shipment), what each shopper was asked about, reviews with photos and replies, holds
while a detractor is unhandled, the shop's review settings, and the outbox of rating metafield writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db

REQUEST_STATUSES = ("waiting", "held", "sent", "skipped", "completed")
REVIEW_STATUSES = ("pending", "published", "hidden")
DEFAULT_DELAY_DAYS = 7
DEFAULT_FALLBACK_DAYS = 21
MAX_PHOTOS = 3


class ReviewSettings(ShopScoped, db.Model):
    __tablename__ = "review_settings"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    delay_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_DELAY_DAYS)  # after the delivered scan
    fallback_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_FALLBACK_DAYS)  # after fulfilment, no scan
    # A thank-you code for ANY completed review, whatever its rating (never tied to sentiment).
    thank_you_code: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReviewRequest(ShopScoped, db.Model):
    """One request per shipment: due `delay_days` after its delivered scan (or `fallback_days` after fulfilment
    when no scan comes), held while a return, a delivery problem or an unhandled detractor is open."""

    __tablename__ = "review_requests"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_fulfillment_id"),
        db.Index("ix_review_requests_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_order_id: Mapped[int] = mapped_column(BigInteger, index=True)
    shopify_fulfillment_id: Mapped[int] = mapped_column(BigInteger)
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(320))  # erased on customers/redact
    fulfilled_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    reason: Mapped[str | None] = mapped_column(Text)  # why held or skipped
    # [{"product_id": int, "title": str}] asked about in this request (the shopper was asked about nothing else).
    products: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    sent_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewAsk(ShopScoped, db.Model):
    """The guarantee of one request per product per shopper: unique on (shop, shopper, product)."""

    __tablename__ = "review_asks"
    __table_args__ = (UniqueConstraint("shop_id", "shopper_key", "shopify_product_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopper_key: Mapped[str] = mapped_column(String(340))  # "customer:<id>" or "email:<address>"
    shopify_product_id: Mapped[int] = mapped_column(BigInteger)
    review_request_id: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewHold(ShopScoped, db.Model):
    """An unhandled detractor (the surveys feature's `survey.detractor`): no review request to that shopper until
    `survey.detractor_handled` releases it."""

    __tablename__ = "review_holds"
    __table_args__ = (UniqueConstraint("shop_id", "shopify_order_id", "email"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_order_id: Mapped[int | None] = mapped_column(BigInteger)
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None]


class Review(ShopScoped, db.Model):
    """A shopper's review of one product, unique per request and product (a replayed form writes nothing)."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("review_request_id", "shopify_product_id"),
        # The product block: its count and average read from the index alone (rating included), its page of the
        # newest in index order (id breaks ties), with no sort (benchmarks/engagement.py).
        db.Index(
            "ix_reviews_product_page",
            "shop_id",
            "shopify_product_id",
            "status",
            "created_at",
            "id",
            postgresql_include=["rating"],
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    review_request_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("review_requests.id", ondelete="SET NULL")
    )
    shopify_order_id: Mapped[int | None] = mapped_column(BigInteger)
    shopify_product_id: Mapped[int] = mapped_column(BigInteger)
    product_title: Mapped[str | None] = mapped_column(String(255))
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    author_name: Mapped[str | None] = mapped_column(String(120))  # "Mali S."; an initial after a redact
    locale: Mapped[str] = mapped_column(String(8), default="en")
    rating: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    photo_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    moderation_reason: Mapped[str | None] = mapped_column(Text)
    moderated_by: Mapped[str | None] = mapped_column(String(255))
    moderated_at: Mapped[datetime | None]
    public_reply: Mapped[str | None] = mapped_column(Text)
    public_reply_at: Mapped[datetime | None]
    is_redacted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewPhoto(ShopScoped, db.Model):
    __tablename__ = "review_photos"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    review_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewReply(ShopScoped, db.Model):
    """The merchant's replies: public ones are shown under the review, private ones are emailed to the shopper."""

    __tablename__ = "review_replies"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    review_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    is_public: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewPlan(ShopScoped, db.Model):
    """The outbox of review planning: one row per domain event that times a request or opens/releases a hold,
    written in the transaction that hands the event to reviews, deleted by the job that applies it (job
    `review-plan-<event id>`). A row left behind (Redis down when the job was queued, a worker lost) is queued
    again by `requeue_pending_review_plans`; a row gone means applied, so nothing is applied twice."""

    __tablename__ = "review_plans"
    __table_args__ = (UniqueConstraint("domain_event_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    domain_event_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RatingSync(ShopScoped, db.Model):
    """The outbox of `reviews.rating` / `reviews.rating_count` writes: one row per product, marked pending whenever
    its published reviews change; the job writes the figures as they are when it runs (job `review-rating-<id>`)."""

    __tablename__ = "review_rating_syncs"
    __table_args__ = (UniqueConstraint("shop_id", "shopify_product_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shopify_product_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    written: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"rating": "4.5", "count": 12}
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
