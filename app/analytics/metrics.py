"""The dashboard's formulas, pure (no Flask, no database), as docs/metrics.md states them.

- Durations are whole days between two local dates in the shop's time zone: calendar days are the difference
  of the dates; business days count the business days after the first date up to and including the second
  (the shop's weekend and holidays never count), so Friday -> Monday is 1 business day.
- Percentiles are nearest-rank over a histogram {days: parcels}: the smallest value whose cumulative count
  reaches ceil(p/100 * N). Histograms of days add up, so a range's P50/P90 come from daily rollups exactly.
- A delivery is early / on time / late against the first estimate the shopper was shown: before its first
  day, inside [first, last] (inclusive), after its last day. An estimate's error is 0 inside its range, else
  the days to the nearer end.
- Contacts avoided = tracking lookups x the share of lookups that would have been a contact; money saved =
  contacts avoided x the cost of one contact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

EARLY, ON_TIME, LATE = "early", "on_time", "late"


def calendar_days(start: date, end: date) -> int:
    return (end - start).days


def business_days(start: date, end: date, weekend: Iterable[int] = (6, 7), holidays: Iterable[date] = ()) -> int:
    """Business days after `start` up to and including `end` (0 when `end` is not after `start`)."""
    if end <= start:
        return 0
    weekend = frozenset(weekend)
    holidays = frozenset(holidays)
    total = (end - start).days
    full_weeks, rest = divmod(total, 7)
    count = full_weeks * (7 - len(weekend))
    day = start + timedelta(days=full_weeks * 7)
    for _ in range(rest):
        day += timedelta(days=1)
        if day.isoweekday() not in weekend:
            count += 1
    count -= sum(1 for h in holidays if start < h <= end and h.isoweekday() not in weekend)
    return max(0, count)


def add_to_histogram(hist: dict[str, int], days: int, count: int = 1) -> None:
    key = str(max(0, days))
    hist[key] = hist.get(key, 0) + count


def merge_histograms(hists: Iterable[Mapping[str, int] | None]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for hist in hists:
        for key, count in (hist or {}).items():
            merged[int(key)] = merged.get(int(key), 0) + int(count)
    return merged


def percentile(hist: Mapping[int, int], p: float) -> int | None:
    """Nearest-rank percentile of a histogram {value: count}; None when it is empty."""
    total = sum(hist.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(p / 100 * total))
    running = 0
    for value in sorted(hist):
        running += hist[value]
        if running >= rank:
            return value
    return max(hist)  # pragma: no cover - rank never exceeds total


def punctuality(delivered_on: date, estimate_from: date, estimate_to: date) -> str:
    if delivered_on < estimate_from:
        return EARLY
    if delivered_on > estimate_to:
        return LATE
    return ON_TIME


def estimate_error_days(delivered_on: date, estimate_from: date, estimate_to: date) -> int:
    if delivered_on < estimate_from:
        return (estimate_from - delivered_on).days
    if delivered_on > estimate_to:
        return (delivered_on - estimate_to).days
    return 0


def rate(numerator: float, denominator: float) -> float | None:
    """A share in percent, None when there is nothing to divide by."""
    return None if not denominator else 100 * numerator / denominator


def per_thousand(numerator: float, denominator: float) -> float | None:
    return None if not denominator else 1000 * numerator / denominator


def contacts_avoided(lookups: int, share: Decimal) -> Decimal:
    return (Decimal(lookups) * share).quantize(Decimal("0.1"), ROUND_HALF_UP)


def money_saved(lookups: int, share: Decimal, cost_per_contact: Decimal) -> Decimal:
    return (Decimal(lookups) * share * cost_per_contact).quantize(Decimal("0.01"), ROUND_HALF_UP)


def nps(promoters: int, passives: int, detractors: int) -> int | None:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), rounded; None without answers."""
    total = promoters + passives + detractors
    if not total:
        return None
    return round(100 * (promoters - detractors) / total)


def nps_group(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def change(current: float | None, previous: float | None) -> float | None:
    """Change against the previous period in percent of the previous value; None when there is no base."""
    if current is None or previous in (None, 0):
        return None
    return 100 * (current - previous) / abs(previous)
