"""Estimated delivery as a range: the carrier's estimate when Shopify has one, else what this shop's
own deliveries taught us (per carrier and destination, P50 to P90 business days), else defaults."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, literal, select, union_all
from sqlalchemy.orm import Session

from app.db import utcnow
from app.orders.models import Fulfillment
from app.tracking.calendar import BusinessCalendar

MIN_SAMPLES = 5
LOOKBACK = timedelta(days=180)
DEFAULT_TRANSIT: dict[str, list[int]] = {"TH": [1, 3], "*": [4, 10]}


@dataclass(frozen=True)
class Estimate:
    start: date
    end: date
    source: str  # carrier | learned | default | revised


def percentile(values: list[int], q: float) -> int:
    """Nearest-rank percentile of whole business days."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def start_of_day(day: date, tz: ZoneInfo) -> datetime:
    """Midnight of `day` in the shop's time zone, as a UTC moment."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@functools.cache
def _recent_deliveries_statement() -> Select:
    """The latest deliveries by this carrier to the lane's country and anywhere, in one round trip (this runs
    for every shipment update). Built once per process; values are bound per call."""
    parts = [
        select(literal(scope).label("scope"), Fulfillment.shipped_at, Fulfillment.delivered_at)
        .where(
            Fulfillment.shop_id == bindparam("shop_id"),
            Fulfillment.delivered_at.is_not(None),
            Fulfillment.shipped_at.is_not(None),
            Fulfillment.delivered_at >= bindparam("since"),
            Fulfillment.carrier_code == bindparam("carrier"),
            *condition,
        )
        .order_by(Fulfillment.delivered_at.desc())
        .limit(500)
        .subquery()
        for scope, condition in (
            ("lane", [Fulfillment.destination_country.is_not_distinct_from(bindparam("country"))]),
            ("carrier", []),
        )
    ]
    return union_all(*(select(*part.c) for part in parts))


def learned_transit(
    session: Session,
    shop_id: int,
    carrier_code: str | None,
    country: str | None,
    calendar: BusinessCalendar,
    tz: ZoneInfo,
) -> tuple[int, int] | None:
    """(P50, P90) business days from shipment to delivery for this carrier and lane, if we have seen
    enough deliveries; falls back to the carrier alone across destinations."""
    if not carrier_code:
        return None
    rows = session.execute(
        _recent_deliveries_statement(),
        {"shop_id": shop_id, "carrier": carrier_code, "country": country, "since": utcnow() - LOOKBACK},
    ).all()
    for scope in ("lane", "carrier"):
        samples = [
            calendar.business_days_between(local_date(shipped, tz), local_date(delivered, tz))
            for found, shipped, delivered in rows
            if found == scope and delivered >= shipped
        ]
        if len(samples) >= MIN_SAMPLES:
            return percentile(samples, 0.5), max(percentile(samples, 0.9), percentile(samples, 0.5))
    return None


def default_transit(settings_transit: dict[str, list[int]] | None, country: str | None) -> tuple[int, int]:
    table = settings_transit or DEFAULT_TRANSIT
    low, high = table.get(country or "", table.get("*", DEFAULT_TRANSIT["*"]))
    return int(low), max(int(low), int(high))


def shipment_estimate(
    *,
    shipped_on: date,
    carrier_estimate: datetime | None,
    learned: tuple[int, int] | None,
    defaults: tuple[int, int],
    calendar: BusinessCalendar,
    tz: ZoneInfo,
) -> Estimate:
    if carrier_estimate is not None:
        day = local_date(carrier_estimate, tz)
        return Estimate(day, day, "carrier")
    low, high = learned if learned else defaults
    return Estimate(
        calendar.add_business_days(shipped_on, low),
        calendar.add_business_days(shipped_on, high),
        "learned" if learned else "default",
    )


def order_estimate(
    *, placed_on: date, handling_days: int, defaults: tuple[int, int], calendar: BusinessCalendar
) -> Estimate:
    """For an order not shipped yet: handling time plus typical transit."""
    low, high = defaults
    return Estimate(
        calendar.add_business_days(placed_on, handling_days + low),
        calendar.add_business_days(placed_on, handling_days + high),
        "default",
    )


def revised_estimate(today: date, spread: int, calendar: BusinessCalendar) -> Estimate:
    """After a missed estimate: from the next business day, over the usual spread, never in the past."""
    start = calendar.add_business_days(today, 1)
    return Estimate(start, calendar.add_business_days(start, max(1, spread)), "revised")
