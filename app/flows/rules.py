"""The flows' pure rules: who a flow is for (segments), when a step is due, the learned repeat interval, and
what a merchant's edit must look like. No Flask, no database."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from app.flows.defaults import STARTS_ON

CHANNELS = ("email", "sms", "line")
LOCALES = ("en", "th")
MAX_STEPS = 5
MAX_WAIT_DAYS = 365
MAX_SUBJECT = 200
MAX_BODY = 5000
# A product's repeat interval is trusted once this many shoppers have bought it again; until then the flow's
# own wait applies.
MIN_REPEAT_SAMPLES = 3
MAX_REPEAT_SAMPLES = 50
# A replenishment message goes this long before the product is likely used up.
REPLENISH_LEAD_DAYS = 3


@dataclass(frozen=True)
class ShopperFacts:
    orders_count: int
    amount_spent: Decimal
    tags: tuple[str, ...] = ()
    product_ids: tuple[int, ...] = ()
    locale: str = "en"
    tier: str | None = None


@dataclass(frozen=True)
class Segment:
    min_orders: int | None = None
    max_orders: int | None = None
    min_spent: Decimal | None = None
    tags: tuple[str, ...] = ()
    products: tuple[int, ...] = ()
    locales: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Segment:
        data = data or {}
        spent = data.get("min_spent")
        return cls(
            min_orders=data.get("min_orders"),
            max_orders=data.get("max_orders"),
            min_spent=Decimal(str(spent)) if spent not in (None, "") else None,
            tags=tuple(data.get("tags") or ()),
            products=tuple(int(p) for p in data.get("products") or ()),
            locales=tuple(data.get("locales") or ()),
            tiers=tuple(data.get("tiers") or ()),
        )

    @property
    def needs_tier(self) -> bool:
        return bool(self.tiers)


def segment_matches(segment: Segment, facts: ShopperFacts) -> bool:
    """Every condition the merchant set holds (an empty segment is everyone)."""
    if segment.min_orders is not None and facts.orders_count < segment.min_orders:
        return False
    if segment.max_orders is not None and facts.orders_count > segment.max_orders:
        return False
    if segment.min_spent is not None and facts.amount_spent < segment.min_spent:
        return False
    if segment.tags and not {t.lower() for t in segment.tags} & {t.lower() for t in facts.tags}:
        return False
    if segment.products and not set(segment.products) & set(facts.product_ids):
        return False
    if segment.locales and facts.locale not in segment.locales:
        return False
    return not (segment.tiers and facts.tier not in segment.tiers)


def step_due_at(
    anchored_at: datetime, steps: list[dict[str, Any]], index: int, first_wait_days: float | None = None
) -> datetime:
    """When step `index` is due: its wait counted from the event. A learned first wait (replenishment) moves the
    whole sequence, keeping the gaps the merchant set between steps."""
    wait = float(steps[index]["wait_days"])
    if first_wait_days is not None:
        wait = first_wait_days + wait - float(steps[0]["wait_days"])
    return anchored_at + timedelta(days=wait)


def median_interval(samples: Iterable[float]) -> float | None:
    values = list(samples)
    return float(statistics.median(values)) if len(values) >= MIN_REPEAT_SAMPLES else None


def replenish_wait(intervals: Iterable[float | None], days_from_order_to_event: float) -> float | None:
    """Days from the event (the delivery) to the replenishment message: the soonest learned interval among the
    products bought, less the days already gone since the order and a few days' lead; None when none is learned."""
    known = [days for days in intervals if days is not None]
    if not known:
        return None
    return max(min(known) - days_from_order_to_event - REPLENISH_LEAD_DAYS, 1.0)


# --- what a merchant's edit must look like ---------------------------------------------------------------------


def _whole(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise ValueError
    number = int(str(value).strip())
    if not low <= number <= high:
        raise ValueError
    return number


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return [str(v).strip() for v in value if str(v).strip()]
    raise ValueError


def validate_flow(form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(clean values, field -> catalog key of its problem) for a flow's edit: starts_on, the segment's fields
    (`segment.min_orders` ...) and the steps (`steps.<i>.wait_days`, `steps.<i>.channel`,
    `steps.<i>.<locale>.subject|body`)."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    starts_on = form.get("starts_on")
    if starts_on not in STARTS_ON:
        errors["starts_on"] = "flows.error.starts_on"
    else:
        clean["starts_on"] = starts_on
    segment: dict[str, Any] = {}
    raw = form.get("segment") or {}
    if not isinstance(raw, Mapping):
        errors["segment"] = "flows.error.segment"
        raw = {}
    for name in ("min_orders", "max_orders"):
        value = raw.get(name)
        if value in (None, ""):
            continue
        try:
            segment[name] = _whole(value, 0, 100_000)
        except ValueError:
            errors[f"segment.{name}"] = "flows.error.whole_number"
    spent = raw.get("min_spent")
    if spent not in (None, ""):
        try:
            amount = Decimal(str(spent).strip())
            if not amount.is_finite() or amount < 0 or amount > 10**9:
                raise InvalidOperation
            segment["min_spent"] = str(amount)
        except (InvalidOperation, ValueError):
            errors["segment.min_spent"] = "flows.error.amount"
    for name in ("tags", "locales", "tiers", "products"):
        try:
            values = _list(raw.get(name))
        except ValueError:
            errors[f"segment.{name}"] = "flows.error.list"
            continue
        if name == "locales" and any(v not in LOCALES for v in values):
            errors["segment.locales"] = "flows.error.locales"
        elif name == "products":
            if not all(v.isdigit() for v in values):
                errors["segment.products"] = "flows.error.products"
            else:
                segment[name] = [int(v) for v in values]
        elif values:
            segment[name] = [v[:64] for v in values[:20]]
    if "min_orders" in segment and "max_orders" in segment and segment["min_orders"] > segment["max_orders"]:
        errors["segment.max_orders"] = "flows.error.order_range"
    clean["segment"] = segment
    steps = form.get("steps")
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        errors["steps"] = "flows.error.steps"
        return clean, errors
    clean_steps = []
    previous = -1
    for index, step in enumerate(steps):
        if not isinstance(step, Mapping):
            errors[f"steps.{index}"] = "flows.error.steps"
            continue
        try:
            wait = _whole(step.get("wait_days"), 0, MAX_WAIT_DAYS)
            if wait < previous:
                errors[f"steps.{index}.wait_days"] = "flows.error.wait_order"
            previous = wait
        except ValueError:
            errors[f"steps.{index}.wait_days"] = "flows.error.wait_days"
            wait = 0
        channel = step.get("channel")
        if channel not in CHANNELS:
            errors[f"steps.{index}.channel"] = "flows.error.channel"
        texts: dict[str, dict[str, str]] = {}
        raw_texts = step.get("texts") if isinstance(step.get("texts"), Mapping) else {}
        for locale in LOCALES:
            text = raw_texts.get(locale) if isinstance(raw_texts.get(locale), Mapping) else {}
            subject, body = text.get("subject"), text.get("body")
            if not isinstance(subject, str) or not subject.strip() or len(subject) > MAX_SUBJECT:
                errors[f"steps.{index}.{locale}.subject"] = "flows.error.subject"
                subject = ""
            if not isinstance(body, str) or not body.strip() or len(body) > MAX_BODY:
                errors[f"steps.{index}.{locale}.body"] = "flows.error.body"
                body = ""
            texts[locale] = {"subject": subject, "body": body}
        clean_steps.append({"wait_days": wait, "channel": channel, "texts": texts})
    clean["steps"] = clean_steps
    return clean, errors
