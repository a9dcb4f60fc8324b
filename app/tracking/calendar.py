"""Business-day arithmetic: weekends and holidays never count, so nothing "stalls" over a weekend."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass(frozen=True)
class BusinessCalendar:
    weekend: frozenset[int] = frozenset({6, 7})  # ISO weekdays
    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def build(cls, weekend_days: list[int] | None, holidays: list[str] | None) -> BusinessCalendar:
        days: set[date] = set()
        for raw in holidays or []:
            try:
                days.add(date.fromisoformat(str(raw)))
            except ValueError:
                continue
        weekend = frozenset(int(d) for d in weekend_days) if weekend_days is not None else frozenset({6, 7})
        if len(weekend) >= 7:
            weekend = frozenset({7})
        return cls(weekend=weekend, holidays=frozenset(days))

    def is_business_day(self, day: date) -> bool:
        return day.isoweekday() not in self.weekend and day not in self.holidays

    def next_business_day(self, day: date) -> date:
        """`day` itself when it is a business day, else the first one after it."""
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def add_business_days(self, start: date, days: int) -> date:
        """The business day `days` business days after `start` (a parcel shipped on Friday with one
        day of transit arrives Monday)."""
        current = start
        remaining = max(0, days)
        while remaining:
            current += timedelta(days=1)
            if self.is_business_day(current):
                remaining -= 1
        return self.next_business_day(current)

    def business_days_between(self, start: date, end: date) -> int:
        """Business days after `start` up to and including `end` (0 when end <= start)."""
        if end <= start:
            return 0
        count = 0
        current = start
        while current < end:
            current += timedelta(days=1)
            if self.is_business_day(current):
                count += 1
        return count
