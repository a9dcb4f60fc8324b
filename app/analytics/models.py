"""Analytics: the shop's settings, daily rollups (the only thing the dashboard reads), the tracking-page view
counters, the days waiting for a rebuild, and the progress of a history backfill."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigIntPK, ShopScoped, utcnow
from app.extensions import db
from app.notifications.models import LinkClick, Notification
from app.orders.models import Fulfillment
from app.recommendations.models import Attribution
from app.returns.models import ReturnRequest
from app.reviews.models import Review, ReviewRequest

DEFAULT_COST_PER_CONTACT = Decimal("5.00")
# The share of tracking lookups that would otherwise have been a "where is my order?" contact.
DEFAULT_CONTACT_SHARE = Decimal("0.20")


class AnalyticsSettings(ShopScoped, db.Model):
    __tablename__ = "analytics_settings"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    cost_per_contact: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=DEFAULT_COST_PER_CONTACT)
    contact_share: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=DEFAULT_CONTACT_SHARE)
    is_weekly_summary_on: Mapped[bool] = mapped_column(Boolean, default=False)
    weekly_summary_to: Mapped[str | None] = mapped_column(String(320))
    weekly_summary_locale: Mapped[str] = mapped_column(String(8), default="en")
    last_weekly_summary_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DailyRollup(ShopScoped, db.Model):
    """One figure of one shop's local day, for one breakdown (`dim`, "" for the whole shop).

    `count` and `amount` add up across days; `hist` is a histogram {whole days: parcels} that merges across
    days, so P50/P90 of any range are exact without reading a single parcel."""

    __tablename__ = "analytics_daily"
    __table_args__ = (
        UniqueConstraint("shop_id", "day", "metric", "dim"),
        db.Index("ix_analytics_daily_shop_id_metric_day", "shop_id", "metric", "day"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    metric: Mapped[str] = mapped_column(String(40))
    dim: Mapped[str] = mapped_column(String(200), default="")
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal("0"))
    hist: Mapped[dict[str, int] | None] = mapped_column(JSON)


class MonthlyRollup(ShopScoped, db.Model):
    """The same figures summed over one local calendar month (`month` is its first day): always equal to the sum
    of that month's `analytics_daily` rows (rebuilt from them whenever a day of the month is), so a long range
    reads whole months here and only its partial months at the edges from the daily rows."""

    __tablename__ = "analytics_monthly"
    __table_args__ = (
        UniqueConstraint("shop_id", "month", "metric", "dim"),
        db.Index("ix_analytics_monthly_shop_id_metric_month", "shop_id", "metric", "month"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    metric: Mapped[str] = mapped_column(String(40))
    dim: Mapped[str] = mapped_column(String(200), default="")
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal("0"))
    hist: Mapped[dict[str, int] | None] = mapped_column(JSON)


class TrackingViewCount(ShopScoped, db.Model):
    """Tracking page and widget opens, and lookups that found an order, counted per local day and surface."""

    __tablename__ = "analytics_tracking_views"
    __table_args__ = (UniqueConstraint("shop_id", "day", "surface"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    surface: Mapped[str] = mapped_column(String(16))  # page | widget | link
    views: Mapped[int] = mapped_column(Integer, default=0)
    lookups: Mapped[int] = mapped_column(Integer, default=0)


class DirtyDay(ShopScoped, db.Model):
    """A shop's local day whose rollups are stale: written by the sweep of domain events, removed by the rebuild.
    A row, not a queue entry, so a refresh survives Redis being down."""

    __tablename__ = "analytics_dirty_days"
    __table_args__ = (UniqueConstraint("shop_id", "day"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)


class SweepCursor(db.Model):
    """How far the sweep has read the domain events (one row, name "events")."""

    __tablename__ = "analytics_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Backfill(ShopScoped, db.Model):
    """A shop's history being rolled up, oldest day first: the admin's progress bar reads it."""

    __tablename__ = "analytics_backfills"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    done_through: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    def progress(self) -> dict[str, Any]:
        total = (self.last_day - self.first_day).days + 1
        done = 0 if self.done_through is None else (self.done_through - self.first_day).days + 1
        return {
            "total": total,
            "done": done,
            "percent": round(100 * done / total) if total else 100,
            "status": self.status,
        }


# The rollups read each source by shop and time range; these indexes make that a range scan, not a scan of
# the shop's whole history (declared here, with the one reader that needs them).
db.Index("ix_fulfillments_shop_id_delivered_at", Fulfillment.shop_id, Fulfillment.delivered_at)
db.Index("ix_notifications_shop_id_created_at", Notification.shop_id, Notification.created_at)
db.Index("ix_link_clicks_shop_id_clicked_at", LinkClick.shop_id, LinkClick.clicked_at)
db.Index("ix_return_requests_shop_id_requested_at", ReturnRequest.shop_id, ReturnRequest.requested_at)
db.Index("ix_reviews_shop_id_created_at", Review.shop_id, Review.created_at)
db.Index("ix_review_requests_shop_id_sent_at", ReviewRequest.shop_id, ReviewRequest.sent_at)
db.Index("ix_rec_attributions_shop_id_attributed_at", Attribution.shop_id, Attribution.attributed_at)
