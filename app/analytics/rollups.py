"""Daily rollups: every figure of one shop's local day, rebuilt from the features' own tables.

`rebuild_days(session, shop, first, last)` deletes the range's rows and writes them again from the source rows
(idempotent: a rebuild of a day gives the same rows however often it runs). Each source is read once for the
whole range, with the range's UTC bounds, so a two-year backfill reads each table a handful of times per chunk,
never once per day. What happens on a local day is decided in the shop's time zone (a parcel delivered at 23:30
in Bangkok belongs to that Bangkok day).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, and_, bindparam, delete, func, literal, select, update
from sqlalchemy.orm import Session

from app.analytics import metrics
from app.analytics.models import DailyRollup, MonthlyRollup, TrackingViewCount
from app.i18n import zone
from app.notifications.models import LinkClick, Notification
from app.orders.models import Fulfillment, Order, Refund, TrackingEvent
from app.recommendations.models import Attribution
from app.returns.models import ReturnLine, ReturnRequest
from app.reviews.models import Review, ReviewRequest
from app.shopify.models import Shop
from app.surveys.models import Survey
from app.tracking.models import DeliveryEstimate, TrackingSettings

# An order placed within this many days after the shopper clicked a link in one of our messages is credited
# to the messages (content/flow-attributed revenue); a refund counts against attributed revenue only when it
# is made within REFUND_WINDOW_DAYS of the order.
FLOW_ATTRIBUTION_DAYS = 7
REFUND_WINDOW_DAYS = 30
HIST_METRICS = (
    "time_total_cal",
    "time_total_bus",
    "time_processing_cal",
    "time_processing_bus",
    "time_pickup_cal",
    "time_pickup_bus",
    "time_transit_cal",
    "time_transit_bus",
    "return_resolve_cal",
)
DELIVERED_STATUSES = ("sent", "delivered")


class _Rows:
    """The figures being built: (day, metric, dim) -> [count, amount, hist]."""

    def __init__(self) -> None:
        self.rows: dict[tuple[date, str, str], list[Any]] = {}

    def add(self, day: date, metric: str, dim: str = "", count: int = 1, amount: Decimal | int = 0) -> None:
        row = self.rows.setdefault((day, metric, dim[:200]), [0, Decimal("0"), None])
        row[0] += count
        row[1] += Decimal(amount)

    def add_days(self, day: date, metric: str, dims: Iterable[str], days: int) -> None:
        for dim in dims:
            row = self.rows.setdefault((day, metric, dim[:200]), [0, Decimal("0"), {}])
            row[0] += 1
            row[1] += days
            metrics.add_to_histogram(row[2], days)


def utc_bounds(tz: ZoneInfo, first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC moments where local day `first` starts and local day `last` ends."""
    start = datetime.combine(first, time.min, tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tz).astimezone(UTC)
    return start, end


def local_day(moment: datetime | None, tz: ZoneInfo) -> date | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).date()


def lane_of(origin: str | None, country: str | None, province: str | None) -> str:
    destination = (country or "?") + (f"-{province}" if province else "")
    return f"{origin or '?'}→{destination}"


def rebuild_days(session: Session, shop: Shop, first: date, last: date) -> int:
    """Replace the shop's rollups of local days first..last with figures computed from the source tables.
    Returns how many rows were written. The caller commits."""
    tz = zone(shop.iana_timezone)
    start, end = utc_bounds(tz, first, last)
    rows = _Rows()
    _orders(session, shop.id, tz, start, end, rows)
    _deliveries(session, shop.id, tz, start, end, rows)
    _messages(session, shop.id, tz, start, end, rows)
    _views(session, shop.id, first, last, rows)
    _returns(session, shop.id, tz, start, end, rows)
    _satisfaction(session, shop.id, tz, start, end, rows)
    _recommendations(session, shop.id, tz, start, end, rows)
    session.execute(
        delete(DailyRollup).where(DailyRollup.shop_id == shop.id, DailyRollup.day >= first, DailyRollup.day <= last)
    )
    values = [
        {"shop_id": shop.id, "day": day, "metric": metric, "dim": dim, "count": c, "amount": a, "hist": h or None}
        for (day, metric, dim), (c, a, h) in rows.rows.items()
        if first <= day <= last
    ]
    if values:
        session.execute(DailyRollup.__table__.insert(), values)
    rebuild_months(session, shop.id, first, last)
    return len(values)


def month_of(day: date) -> date:
    return day.replace(day=1)


def month_end(month: date) -> date:
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def months_between(first: date, last: date) -> list[date]:
    months, month = [], month_of(first)
    while month <= last:
        months.append(month)
        month = month_end(month) + timedelta(days=1)
    return months


_monthly = MonthlyRollup.__table__
_MONTH_HIST = (
    update(_monthly)
    .where(
        _monthly.c.shop_id == bindparam("s_id"),
        _monthly.c.month == bindparam("s_month"),
        _monthly.c.metric == bindparam("s_metric"),
        _monthly.c.dim == bindparam("s_dim"),
    )
    .values(hist=bindparam("s_hist"))
)


def rebuild_months(session: Session, shop_id: int, first: date, last: date) -> None:
    """Rewrite the monthly rows of every month that days first..last fall in, from that month's daily rows
    (sums in the database; histograms merged here, a few rows a month). Idempotent, like the days."""
    for month in months_between(first, last):
        end = month_end(month)
        session.execute(delete(MonthlyRollup).where(MonthlyRollup.shop_id == shop_id, MonthlyRollup.month == month))
        in_month = (DailyRollup.shop_id == shop_id, DailyRollup.day >= month, DailyRollup.day <= end)
        session.execute(
            MonthlyRollup.__table__.insert().from_select(
                ["shop_id", "month", "metric", "dim", "count", "amount"],
                select(
                    DailyRollup.shop_id,
                    literal(month, Date),
                    DailyRollup.metric,
                    DailyRollup.dim,
                    func.sum(DailyRollup.count),
                    func.sum(DailyRollup.amount),
                )
                .where(*in_month)
                .group_by(DailyRollup.shop_id, DailyRollup.metric, DailyRollup.dim),
            )
        )
        merged: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        for metric, dim, hist in session.execute(
            select(DailyRollup.metric, DailyRollup.dim, DailyRollup.hist).where(
                *in_month, DailyRollup.metric.in_(HIST_METRICS), DailyRollup.hist.is_not(None)
            )
        ):
            target = merged[(metric, dim)]
            for key, count in (hist or {}).items():
                target[str(key)] = target.get(str(key), 0) + int(count)
        if merged:
            session.execute(
                _MONTH_HIST,
                [
                    {"s_id": shop_id, "s_month": month, "s_metric": metric, "s_dim": dim, "s_hist": hist}
                    for (metric, dim), hist in merged.items()
                ],
            )


def _refunds_within_window(session: Session, shop_id: int, order_created: dict[int, datetime]) -> dict[int, Decimal]:
    if not order_created:
        return {}
    refunded: dict[int, Decimal] = defaultdict(Decimal)
    ids = list(order_created)
    for chunk in range(0, len(ids), 5000):
        for order_id, amount, refunded_at in session.execute(
            select(Refund.shopify_order_id, Refund.amount, func.coalesce(Refund.refunded_at, Refund.created_at)).where(
                Refund.shop_id == shop_id, Refund.shopify_order_id.in_(ids[chunk : chunk + 5000])
            )
        ):
            placed = order_created[order_id]
            if refunded_at is not None and refunded_at - placed <= timedelta(days=REFUND_WINDOW_DAYS):
                refunded[order_id] += amount or 0
    return refunded


def _orders(session: Session, shop_id: int, tz: ZoneInfo, start: datetime, end: datetime, rows: _Rows) -> None:
    placed = session.execute(
        select(
            Order.shopify_order_id,
            Order.shopify_created_at,
            Order.cancelled_at,
            Order.total_price,
            Order.email,
            Order.line_items,
        ).where(Order.shop_id == shop_id, Order.shopify_created_at >= start, Order.shopify_created_at < end)
    ).all()
    kept = [o for o in placed if o.cancelled_at is None]
    for order in placed:
        day = local_day(order.shopify_created_at, tz)
        if order.cancelled_at is not None:
            rows.add(day, "orders_cancelled")
            continue
        rows.add(day, "orders", amount=order.total_price or 0)
        for item in order.line_items or []:
            quantity = int(item.get("quantity") or 0)
            rows.add(day, "items_sold", count=quantity)
            rows.add(day, "items_sold", f"product:{item.get('title') or '?'}", count=quantity)
    # Content/flow attribution: the order's email clicked a message link in the window before the order.
    emails = {o.email.lower() for o in kept if o.email}
    if not emails:
        return
    clicks: dict[str, list[datetime]] = defaultdict(list)
    for recipient, clicked_at in session.execute(
        select(func.lower(Notification.recipient), LinkClick.clicked_at)
        .join(Notification, and_(Notification.id == LinkClick.notification_id, Notification.shop_id == shop_id))
        .where(
            LinkClick.shop_id == shop_id,
            LinkClick.clicked_at >= start - timedelta(days=FLOW_ATTRIBUTION_DAYS),
            LinkClick.clicked_at < end,
            Notification.channel == "email",
        )
    ):
        if recipient in emails:
            clicks[recipient].append(clicked_at)
    credited = {}
    for order in kept:
        moments = clicks.get((order.email or "").lower(), ())
        if any(timedelta(0) <= order.shopify_created_at - c <= timedelta(days=FLOW_ATTRIBUTION_DAYS) for c in moments):
            credited[order.shopify_order_id] = order
    refunds = _refunds_within_window(
        session, shop_id, {o.shopify_order_id: o.shopify_created_at for o in credited.values()}
    )
    for order_id, order in credited.items():
        day = local_day(order.shopify_created_at, tz)
        rows.add(day, "flow_revenue", amount=order.total_price or 0)
        if refunds.get(order_id):
            rows.add(day, "flow_refunded", amount=refunds[order_id])


def _deliveries(session: Session, shop_id: int, tz: ZoneInfo, start: datetime, end: datetime, rows: _Rows) -> None:
    settings = session.execute(
        select(TrackingSettings.weekend_days, TrackingSettings.holidays).where(TrackingSettings.shop_id == shop_id)
    ).first()
    weekend = tuple(settings.weekend_days) if settings and settings.weekend_days is not None else (6, 7)
    holidays = []
    for raw in (settings.holidays if settings else None) or []:
        try:
            holidays.append(date.fromisoformat(str(raw)))
        except ValueError:
            continue
    parcels = session.execute(
        select(
            Fulfillment.shopify_fulfillment_id,
            Fulfillment.carrier_code,
            Fulfillment.carrier_name,
            Fulfillment.shopify_created_at,
            Fulfillment.created_at,
            Fulfillment.shipped_at,
            Fulfillment.delivered_at,
            Order.shopify_created_at.label("ordered_at"),
            Order.shipping_country,
            Order.shipping_province,
            Order.shipping_service,
            Order.cancelled_at,
        )
        .join(Order, and_(Order.shop_id == shop_id, Order.shopify_order_id == Fulfillment.shopify_order_id))
        .where(Fulfillment.shop_id == shop_id, Fulfillment.delivered_at >= start, Fulfillment.delivered_at < end)
    ).all()
    parcels = [p for p in parcels if p.cancelled_at is None]
    if not parcels:
        return
    ids = [p.shopify_fulfillment_id for p in parcels]
    estimates: dict[int, list[Any]] = defaultdict(list)
    problems: dict[int, list[str]] = defaultdict(list)
    origin: dict[int, str | None] = {}
    for chunk in range(0, len(ids), 5000):
        part = ids[chunk : chunk + 5000]
        for estimate in session.execute(
            select(
                DeliveryEstimate.shopify_fulfillment_id,
                DeliveryEstimate.estimate_from,
                DeliveryEstimate.estimate_to,
                DeliveryEstimate.destination_country,
            )
            .where(DeliveryEstimate.shop_id == shop_id, DeliveryEstimate.shopify_fulfillment_id.in_(part))
            .order_by(DeliveryEstimate.id)
        ):
            estimates[estimate.shopify_fulfillment_id].append(estimate)
        for fulfillment_id, status, country in session.execute(
            select(TrackingEvent.shopify_fulfillment_id, TrackingEvent.status, TrackingEvent.country)
            .where(TrackingEvent.shop_id == shop_id, TrackingEvent.shopify_fulfillment_id.in_(part))
            .order_by(TrackingEvent.happened_at)
        ):
            problems[fulfillment_id].append(status)
            origin.setdefault(fulfillment_id, country)
    for parcel in parcels:
        delivered_on = local_day(parcel.delivered_at, tz)
        ordered_on = local_day(parcel.ordered_at, tz) or delivered_on
        fulfilled_on = local_day(parcel.shopify_created_at or parcel.created_at, tz) or ordered_on
        shipped_on = local_day(parcel.shipped_at, tz) or fulfilled_on
        carrier = parcel.carrier_name or parcel.carrier_code or "other"
        lane = lane_of(
            _country_code(origin.get(parcel.shopify_fulfillment_id)), parcel.shipping_country, parcel.shipping_province
        )
        service = parcel.shipping_service or "other"
        dims = ("", f"carrier:{carrier}", f"lane:{lane}", f"service:{service}")
        for dim in dims:
            rows.add(delivered_on, "parcels_delivered", dim)
        spans = {
            "total": (ordered_on, delivered_on),
            "processing": (ordered_on, fulfilled_on),
            "pickup": (fulfilled_on, shipped_on),
            "transit": (shipped_on, delivered_on),
        }
        for name, (a, b) in spans.items():
            # the stages overall; order to delivery also by carrier, lane and service (the breakdown tables)
            kept = dims if name == "total" else ("",)
            rows.add_days(delivered_on, f"time_{name}_cal", kept, max(0, metrics.calendar_days(a, b)))
            rows.add_days(delivered_on, f"time_{name}_bus", kept, metrics.business_days(a, b, weekend, holidays))
        statuses = problems.get(parcel.shopify_fulfillment_id, [])
        if "exception" in statuses:
            for dim in dims:
                rows.add(delivered_on, "parcels_exception", dim)
        attempts = statuses.count("attempted_delivery")
        if attempts:
            for dim in dims:
                rows.add(delivered_on, "failed_attempts", dim, attempts)
        shown = estimates.get(parcel.shopify_fulfillment_id, [])
        if shown:
            verdict = metrics.punctuality(delivered_on, shown[0].estimate_from, shown[0].estimate_to)
            for dim in dims:
                rows.add(delivered_on, f"punctuality_{verdict}", dim)
        for estimate in shown:
            error = metrics.estimate_error_days(delivered_on, estimate.estimate_from, estimate.estimate_to)
            for dim in dims:
                rows.add(delivered_on, "estimates", dim, amount=error)
                if error == 0:
                    rows.add(delivered_on, "estimates_hit", dim)


def _country_code(value: str | None) -> str | None:
    """A scan's country as a code when it is one ("TH"); a country named in words is left as it is."""
    if not value:
        return None
    return value.strip().upper() if len(value.strip()) == 2 else value.strip()


def _messages(session: Session, shop_id: int, tz: ZoneInfo, start: datetime, end: datetime, rows: _Rows) -> None:
    messages = session.execute(
        select(
            Notification.id,
            Notification.trigger,
            Notification.channel,
            Notification.status,
            Notification.reason,
            Notification.created_at,
        ).where(Notification.shop_id == shop_id, Notification.created_at >= start, Notification.created_at < end)
    ).all()
    if not messages:
        clicked_ids: set[int] = set()
    else:
        clicked_ids = set(
            session.execute(
                select(LinkClick.notification_id)
                .distinct()
                .where(
                    LinkClick.shop_id == shop_id,
                    LinkClick.clicked_at >= start,
                    LinkClick.notification_id.is_not(None),
                )
            ).scalars()
        )
    for message in messages:
        day = local_day(message.created_at, tz)
        dim = f"{message.trigger}|{message.channel}"
        if message.status in DELIVERED_STATUSES:
            rows.add(day, "msg_sent", dim)
        if message.status == "delivered":
            rows.add(day, "msg_delivered", dim)
        if message.status == "failed":
            rows.add(day, "msg_failed", dim)
        if message.status == "suppressed":
            rows.add(day, "msg_suppressed", dim)
            rows.add(day, "msg_suppressed_reason", (message.reason or "?").split(":")[0][:120])
        if message.id in clicked_ids:
            rows.add(day, "msg_clicked", dim)
    for (clicked_at,) in session.execute(
        select(LinkClick.clicked_at).where(
            LinkClick.shop_id == shop_id, LinkClick.clicked_at >= start, LinkClick.clicked_at < end
        )
    ):
        rows.add(local_day(clicked_at, tz), "message_clicks")


def _views(session: Session, shop_id: int, first: date, last: date, rows: _Rows) -> None:
    for day, surface, views, lookups in session.execute(
        select(
            TrackingViewCount.day, TrackingViewCount.surface, TrackingViewCount.views, TrackingViewCount.lookups
        ).where(TrackingViewCount.shop_id == shop_id, TrackingViewCount.day >= first, TrackingViewCount.day <= last)
    ):
        rows.add(day, "tracking_views", "", views)
        rows.add(day, "tracking_views", f"surface:{surface}", views)
        rows.add(day, "tracking_lookups", "", lookups)


def _returns(session: Session, shop_id: int, tz: ZoneInfo, start: datetime, end: datetime, rows: _Rows) -> None:
    returns = (
        session.execute(
            select(ReturnRequest).where(
                ReturnRequest.shop_id == shop_id,
                ReturnRequest.requested_at >= start,
                ReturnRequest.requested_at < end,
                ReturnRequest.status.notin_(("canceled", "declined")),
            )
        )
        .scalars()
        .all()
    )
    if not returns:
        return
    lines: dict[int, list[Any]] = defaultdict(list)
    for line in session.execute(
        select(ReturnLine.return_request_id, ReturnLine.title, ReturnLine.quantity).where(
            ReturnLine.shop_id == shop_id, ReturnLine.return_request_id.in_([r.id for r in returns])
        )
    ):
        lines[line.return_request_id].append(line)
    for ret in returns:
        day = local_day(ret.requested_at, tz)
        rows.add(day, "returns")
        rows.add(day, "return_reason", ret.reason_code or "other")
        for line in lines.get(ret.id, []):
            rows.add(day, "items_returned", "", line.quantity)
            rows.add(day, "items_returned", f"product:{line.title}", line.quantity)
            rows.add(day, "items_returned", f"reason:{ret.reason_code or 'other'}", line.quantity)
        if ret.resolution and ret.resolved_at is not None:
            kind = _resolution_kind(ret.resolution)
            kept = ret.subtotal if kind == "exchange" else ret.credit_amount if kind == "credit" else 0
            rows.add(day, "return_resolution", kind, amount=kept if kind != "refund" else ret.refund_amount)
            if ret.resolved_at is not None:
                rows.add_days(day, "return_resolve_cal", ("",), max(0, (ret.resolved_at - ret.requested_at).days))


def _resolution_kind(resolution: str) -> str:
    return {"store_credit": "credit", "exchange_variant": "exchange", "exchange_product": "exchange"}.get(
        resolution, resolution
    )


def _satisfaction(session: Session, shop_id: int, tz: ZoneInfo, start: datetime, end: datetime, rows: _Rows) -> None:
    for carrier, nps_score, csat_score, answered_at in session.execute(
        select(Survey.carrier, Survey.nps_score, Survey.csat_score, Survey.answered_at).where(
            Survey.shop_id == shop_id, Survey.answered_at >= start, Survey.answered_at < end
        )
    ):
        day = local_day(answered_at, tz)
        for dim in ("", f"carrier:{carrier or 'other'}"):
            if nps_score is not None:
                rows.add(day, f"nps_{metrics.nps_group(nps_score)}", dim)
            if csat_score is not None:
                rows.add(day, "csat", dim, amount=csat_score)
    for rating, created_at in session.execute(
        select(Review.rating, Review.created_at).where(
            Review.shop_id == shop_id, Review.created_at >= start, Review.created_at < end
        )
    ):
        rows.add(local_day(created_at, tz), "reviews", amount=rating)
    for (sent_at,) in session.execute(
        select(ReviewRequest.sent_at).where(
            ReviewRequest.shop_id == shop_id, ReviewRequest.sent_at >= start, ReviewRequest.sent_at < end
        )
    ):
        rows.add(local_day(sent_at, tz), "review_requests")


def _recommendations(session: Session, shop_id: int, tz: ZoneInfo, start: datetime, end: datetime, rows: _Rows) -> None:
    credited = session.execute(
        select(Attribution.shopify_order_id, Attribution.revenue, Attribution.attributed_at).where(
            Attribution.shop_id == shop_id, Attribution.attributed_at >= start, Attribution.attributed_at < end
        )
    ).all()
    refunds = _refunds_within_window(session, shop_id, {a.shopify_order_id: a.attributed_at for a in credited})
    for attribution in credited:
        day = local_day(attribution.attributed_at, tz)
        rows.add(day, "rec_revenue", amount=attribution.revenue or 0)
        if refunds.get(attribution.shopify_order_id):
            rows.add(day, "rec_refunded", amount=refunds[attribution.shopify_order_id])
