"""The dashboard's figures for a range of local days, read from the daily rollups only (never a raw table), with
the previous period of the same length for comparison. Formulas: app/analytics/metrics.py, docs/metrics.md."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select, text, union_all
from sqlalchemy.orm import Session

from app.analytics import metrics
from app.analytics.models import DailyRollup, MonthlyRollup
from app.analytics.rollups import FLOW_ATTRIBUTION_DAYS, HIST_METRICS, REFUND_WINDOW_DAYS, month_end, month_of

SERIES_METRICS = (
    "orders",
    "tracking_views",
    "tracking_lookups",
    "parcels_delivered",
    "punctuality_early",
    "punctuality_on_time",
    "punctuality_late",
    "estimates",
    "estimates_hit",
    "returns",
    "nps_promoter",
    "nps_passive",
    "nps_detractor",
    "csat",
)


@dataclass
class Period:
    first: date
    last: date
    totals: dict[tuple[str, str], tuple[int, Decimal]] = field(default_factory=dict)
    hists: dict[tuple[str, str], dict[int, int]] = field(default_factory=dict)

    def count(self, metric: str, dim: str = "") -> int:
        return self.totals.get((metric, dim), (0, Decimal(0)))[0]

    def amount(self, metric: str, dim: str = "") -> Decimal:
        return self.totals.get((metric, dim), (0, Decimal(0)))[1]

    def dims(self, metric: str, prefix: str = "") -> list[str]:
        return sorted(d for m, d in self.totals if m == metric and d and d.startswith(prefix))

    def hist(self, metric: str, dim: str = "") -> dict[int, int]:
        return self.hists.get((metric, dim), {})


def previous_range(first: date, last: date) -> tuple[date, date]:
    length = (last - first).days + 1
    return first - timedelta(days=length), first - timedelta(days=1)


def split_range(first: date, last: date) -> tuple[list[tuple[date, date]], tuple[date, date] | None]:
    """The range as whole months (first..last month, read from the monthly rows) and the days at its edges that
    do not fill a month (read from the daily rows)."""
    start_full = first if first.day == 1 else month_end(first) + timedelta(days=1)
    end_full = last if last == month_end(last) else month_of(last) - timedelta(days=1)
    if start_full > end_full:
        return [(first, last)], None
    edges = []
    if first < start_full:
        edges.append((first, start_full - timedelta(days=1)))
    if last > end_full:
        edges.append((end_full + timedelta(days=1), last))
    return edges, (start_full, month_of(end_full))


def read_period(session: Session, shop_id: int, first: date, last: date) -> Period:
    period = Period(first, last)
    edges, months = split_range(first, last)
    parts = []
    if edges:
        parts.append(
            select(DailyRollup.metric, DailyRollup.dim, DailyRollup.count, DailyRollup.amount).where(
                DailyRollup.shop_id == shop_id,
                or_(*(and_(DailyRollup.day >= a, DailyRollup.day <= b) for a, b in edges)),
            )
        )
    if months:
        parts.append(
            select(MonthlyRollup.metric, MonthlyRollup.dim, MonthlyRollup.count, MonthlyRollup.amount).where(
                MonthlyRollup.shop_id == shop_id, MonthlyRollup.month >= months[0], MonthlyRollup.month <= months[1]
            )
        )
    rows = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    for metric, dim, count, amount in session.execute(
        select(rows.c.metric, rows.c.dim, func.sum(rows.c.count), func.sum(rows.c.amount)).group_by(
            rows.c.metric, rows.c.dim
        )
    ):
        period.totals[(metric, dim)] = (int(count or 0), Decimal(amount or 0))
    merged: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    # The histograms are added up by the database (one row per metric, breakdown and value), not in Python.
    for metric, dim, key, count in session.execute(
        *_hist_sums(session.get_bind().dialect.name, shop_id, edges, months)
    ):
        merged[(metric, dim)][int(key)] = int(count)
    period.hists = dict(merged)
    return period


_HIST_METRIC_LIST = ", ".join(f"'{m}'" for m in HIST_METRICS)
_EACH = {"postgresql": "json_each_text(u.hist) h", "sqlite": "json_each(u.hist) h"}
_VALUE = {"postgresql": "h.value::int", "sqlite": "h.value"}


def _hist_sums(
    dialect: str, shop_id: int, edges: list[tuple[date, date]], months: tuple[date, date] | None
) -> tuple[Any, dict[str, Any]]:
    values: dict[str, Any] = {"shop_id": shop_id}
    parts = []
    if edges:
        spans = []
        for index, (a, b) in enumerate(edges):
            spans.append(f"(d.day >= :a{index} AND d.day <= :b{index})")
            values[f"a{index}"], values[f"b{index}"] = a, b
        parts.append(
            "SELECT d.metric, d.dim, d.hist FROM analytics_daily d WHERE d.shop_id = :shop_id"
            f" AND d.metric IN ({_HIST_METRIC_LIST}) AND d.hist IS NOT NULL AND ({' OR '.join(spans)})"
        )
    if months:
        values["m0"], values["m1"] = months
        parts.append(
            "SELECT m.metric, m.dim, m.hist FROM analytics_monthly m WHERE m.shop_id = :shop_id"
            f" AND m.metric IN ({_HIST_METRIC_LIST}) AND m.hist IS NOT NULL AND m.month >= :m0 AND m.month <= :m1"
        )
    sql = (
        f"SELECT u.metric, u.dim, h.key, sum({_VALUE[dialect]}) FROM ({' UNION ALL '.join(parts)}) u, {_EACH[dialect]}"
        " GROUP BY u.metric, u.dim, h.key"
    )
    return text(sql), values


def bucket_of(day: date, first: date, last: date) -> date:
    """Days for up to a month, weeks (from Monday) up to a year and a half, months beyond."""
    span = (last - first).days + 1
    if span <= 31:
        return day
    if span <= 550:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def read_series(session: Session, shop_id: int, first: date, last: date) -> dict[date, dict[str, tuple[int, Decimal]]]:
    series: dict[date, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(lambda: [0, Decimal(0)]))
    by_month = (last - first).days + 1 > 550
    edges, months = split_range(first, last) if by_month else ([(first, last)], None)
    rows = []
    if edges:
        rows.append(
            session.execute(
                select(DailyRollup.day, DailyRollup.metric, DailyRollup.count, DailyRollup.amount).where(
                    DailyRollup.shop_id == shop_id,
                    DailyRollup.metric.in_(SERIES_METRICS),
                    DailyRollup.dim == "",
                    or_(*(and_(DailyRollup.day >= a, DailyRollup.day <= b) for a, b in edges)),
                )
            )
        )
    if months:
        # whole months when the buckets are months: a row a month instead of thirty
        rows.append(
            session.execute(
                select(MonthlyRollup.month, MonthlyRollup.metric, MonthlyRollup.count, MonthlyRollup.amount).where(
                    MonthlyRollup.shop_id == shop_id,
                    MonthlyRollup.metric.in_(SERIES_METRICS),
                    MonthlyRollup.dim == "",
                    MonthlyRollup.month >= months[0],
                    MonthlyRollup.month <= months[1],
                )
            )
        )
    for result in rows:
        for day, metric, count, amount in result:
            cell = series[bucket_of(day, first, last)][metric]
            cell[0] += int(count or 0)
            cell[1] += Decimal(amount or 0)
    return {day: {m: (c[0], c[1]) for m, c in values.items()} for day, values in sorted(series.items())}


def headline(period: Period, share: Decimal, cost: Decimal) -> dict[str, Any]:
    """Every headline figure of one period, as numbers (None where there is nothing to divide by)."""
    p = period
    orders = p.count("orders")
    lookups = p.count("tracking_lookups")
    judged = sum(p.count(f"punctuality_{k}") for k in (metrics.EARLY, metrics.ON_TIME, metrics.LATE))
    parcels = p.count("parcels_delivered")
    estimates = p.count("estimates")
    reviews = p.count("reviews")
    csat = p.count("csat")
    kept = p.amount("return_resolution", "exchange") + p.amount("return_resolution", "credit")
    return {
        "orders": orders,
        "tracking_views": p.count("tracking_views"),
        "tracking_lookups": lookups,
        "views_per_order": None if not orders else p.count("tracking_views") / orders,
        "lookups_per_order": None if not orders else lookups / orders,
        "message_clicks": p.count("message_clicks"),
        "contacts_avoided": metrics.contacts_avoided(lookups, share),
        "money_saved": metrics.money_saved(lookups, share, cost),
        "parcels_delivered": parcels,
        "p50_days": metrics.percentile(p.hist("time_total_cal"), 50),
        "p90_days": metrics.percentile(p.hist("time_total_cal"), 90),
        "p50_business_days": metrics.percentile(p.hist("time_total_bus"), 50),
        "p90_business_days": metrics.percentile(p.hist("time_total_bus"), 90),
        "on_time_rate": metrics.rate(p.count("punctuality_on_time"), judged),
        "early_rate": metrics.rate(p.count("punctuality_early"), judged),
        "late_rate": metrics.rate(p.count("punctuality_late"), judged),
        "exceptions_per_1000": metrics.per_thousand(p.count("parcels_exception"), parcels),
        "failed_attempts_per_1000": metrics.per_thousand(p.count("failed_attempts"), parcels),
        "estimate_hit_rate": metrics.rate(p.count("estimates_hit"), estimates),
        "estimate_mae_days": None if not estimates else float(p.amount("estimates")) / estimates,
        "messages_sent": sum(p.count("msg_sent", d) for d in p.dims("msg_sent")),
        "returns": p.count("returns"),
        "return_rate": metrics.rate(p.count("items_returned"), p.count("items_sold")),
        "revenue_kept": kept,
        "refunded": p.amount("return_resolution", "refund"),
        "resolve_p50_days": metrics.percentile(p.hist("return_resolve_cal"), 50),
        "nps": metrics.nps(p.count("nps_promoter"), p.count("nps_passive"), p.count("nps_detractor")),
        "csat": None if not csat else float(p.amount("csat")) / csat,
        "reviews": reviews,
        "average_rating": None if not reviews else float(p.amount("reviews")) / reviews,
        "review_rate": metrics.rate(reviews, p.count("review_requests")),
        "rec_revenue": p.amount("rec_revenue") - p.amount("rec_refunded"),
        "flow_revenue": p.amount("flow_revenue") - p.amount("flow_refunded"),
    }


def breakdown(period: Period, prefix: str) -> list[dict[str, Any]]:
    """Delivery and estimate figures per carrier (`carrier:`), lane (`lane:`) or shipping service (`service:`)."""
    rows = []
    for dim in period.dims("parcels_delivered", prefix):
        parcels = period.count("parcels_delivered", dim)
        judged = sum(period.count(f"punctuality_{k}", dim) for k in (metrics.EARLY, metrics.ON_TIME, metrics.LATE))
        estimates = period.count("estimates", dim)
        rows.append(
            {
                "name": dim[len(prefix) :],
                "parcels": parcels,
                "p50": metrics.percentile(period.hist("time_total_cal", dim), 50),
                "p90": metrics.percentile(period.hist("time_total_cal", dim), 90),
                "p50_bus": metrics.percentile(period.hist("time_total_bus", dim), 50),
                "p90_bus": metrics.percentile(period.hist("time_total_bus", dim), 90),
                "early": period.count("punctuality_early", dim),
                "on_time": period.count("punctuality_on_time", dim),
                "late": period.count("punctuality_late", dim),
                "on_time_rate": metrics.rate(period.count("punctuality_on_time", dim), judged),
                "exceptions_per_1000": metrics.per_thousand(period.count("parcels_exception", dim), parcels),
                "failed_attempts_per_1000": metrics.per_thousand(period.count("failed_attempts", dim), parcels),
                "estimates": estimates,
                "hit_rate": metrics.rate(period.count("estimates_hit", dim), estimates),
                "mae": None if not estimates else float(period.amount("estimates", dim)) / estimates,
            }
        )
    return sorted(rows, key=lambda r: -r["parcels"])


def stage_percentiles(period: Period) -> list[dict[str, Any]]:
    rows = []
    for stage in ("processing", "pickup", "transit", "total"):
        cal, bus = period.hist(f"time_{stage}_cal"), period.hist(f"time_{stage}_bus")
        rows.append(
            {
                "stage": stage,
                "p50": metrics.percentile(cal, 50),
                "p90": metrics.percentile(cal, 90),
                "p50_bus": metrics.percentile(bus, 50),
                "p90_bus": metrics.percentile(bus, 90),
            }
        )
    return rows


def message_rows(period: Period) -> list[dict[str, Any]]:
    dims = set()
    for metric in ("msg_sent", "msg_delivered", "msg_clicked", "msg_suppressed", "msg_failed"):
        dims.update(period.dims(metric))
    rows = []
    for dim in sorted(dims):
        trigger, _, channel = dim.partition("|")
        rows.append(
            {
                "trigger": trigger,
                "channel": channel,
                "sent": period.count("msg_sent", dim),
                "delivered": period.count("msg_delivered", dim),
                "clicked": period.count("msg_clicked", dim),
                "suppressed": period.count("msg_suppressed", dim),
                "failed": period.count("msg_failed", dim),
            }
        )
    return rows


def suppressed_reasons(period: Period) -> list[dict[str, Any]]:
    return sorted(
        (
            {"reason": d, "count": period.count("msg_suppressed_reason", d)}
            for d in period.dims("msg_suppressed_reason")
        ),
        key=lambda r: -r["count"],
    )


def return_products(period: Period) -> list[dict[str, Any]]:
    rows = []
    for dim in period.dims("items_returned", "product:"):
        sold = period.count("items_sold", dim)
        returned = period.count("items_returned", dim)
        rows.append({"product": dim[8:], "sold": sold, "returned": returned, "rate": metrics.rate(returned, sold)})
    return sorted(rows, key=lambda r: -r["returned"])


def return_reasons(period: Period) -> list[dict[str, Any]]:
    return sorted(
        (
            {
                "reason": d,
                "returns": period.count("return_reason", d),
                "items": period.count("items_returned", f"reason:{d}"),
            }
            for d in period.dims("return_reason")
        ),
        key=lambda r: -r["returns"],
    )


def resolution_mix(period: Period) -> list[dict[str, Any]]:
    total = sum(period.count("return_resolution", k) for k in period.dims("return_resolution"))
    return [
        {
            "resolution": kind,
            "count": period.count("return_resolution", kind),
            "share": metrics.rate(period.count("return_resolution", kind), total),
            "amount": period.amount("return_resolution", kind),
        }
        for kind in ("refund", "credit", "exchange", "keep")
    ]


def satisfaction_by_carrier(period: Period) -> list[dict[str, Any]]:
    dims = set(period.dims("csat", "carrier:"))
    for group in ("promoter", "passive", "detractor"):
        dims.update(period.dims(f"nps_{group}", "carrier:"))
    rows = []
    for dim in sorted(dims):
        csat = period.count("csat", dim)
        answers = sum(period.count(f"nps_{g}", dim) for g in ("promoter", "passive", "detractor"))
        rows.append(
            {
                "carrier": dim[8:],
                "nps": metrics.nps(
                    period.count("nps_promoter", dim),
                    period.count("nps_passive", dim),
                    period.count("nps_detractor", dim),
                ),
                "nps_answers": answers,
                "csat": None if not csat else float(period.amount("csat", dim)) / csat,
                "csat_answers": csat,
            }
        )
    return rows


WINDOWS = {"flow_days": FLOW_ATTRIBUTION_DAYS, "refund_days": REFUND_WINDOW_DAYS}
