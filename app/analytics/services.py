"""Keeping the rollups true: the sweep of domain events into dirty days, their rebuild, the hourly refresh of
today, the nightly rebuild of recent history, a shop's backfill, and the merchant's settings.

Nothing here runs inside a webhook or a send job: the sweep reads the domain events after the fact (by id,
from a cursor), so intake and messages pay nothing for analytics. A dirty day is a row, so a refresh is never
lost when Redis is down; the periodic jobs pick the rows up whenever they run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.analytics.models import (
    DEFAULT_CONTACT_SHARE,
    DEFAULT_COST_PER_CONTACT,
    AnalyticsSettings,
    Backfill,
    DirtyDay,
    SweepCursor,
)
from app.analytics.rollups import local_day, rebuild_days
from app.db import dialect_insert, utcnow
from app.events import DomainEvent
from app.extensions import db
from app.i18n import zone
from app.jobs import enqueue, job_id, job_is_alive, with_app_context
from app.orders.models import Order
from app.shopify.models import Shop
from app.validation import email_address

log = logging.getLogger(__name__)

SWEEP_BATCH = 5000
BACKFILL_CHUNK_DAYS = 61  # two months a transaction: few round trips, memory of two months' rows
NIGHTLY_DAYS = 35  # covers refunds inside the attribution windows and late clicks and answers
HISTORY_DAYS = 730


def today_for(shop: Shop, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(zone(shop.iana_timezone)).date()


def mark_dirty(session: Session, shop_id: int, days: set[date]) -> None:
    """Mark a shop's days stale, in one statement (idempotent: a day already marked keeps its row, its time moves
    on, so a rebuild running meanwhile leaves the newer mark)."""
    if not days:
        return
    table = DirtyDay.__table__
    now = utcnow()
    stmt = dialect_insert(session, table).values([{"shop_id": shop_id, "day": day, "marked_at": now} for day in days])
    session.execute(stmt.on_conflict_do_update(index_elements=["shop_id", "day"], set_={"marked_at": now}))


def sweep_domain_events(session: Session, limit: int = SWEEP_BATCH) -> int:
    """Read the domain events recorded since the last sweep and mark the local days they touch: the day the
    change happened and the day its order was placed. Returns how many events were read. The caller commits."""
    cursor = session.get(SweepCursor, "events", with_for_update=True)
    if cursor is None:
        cursor = SweepCursor(name="events", last_id=0)
        session.add(cursor)
        session.flush()
    events = session.execute(
        select(
            DomainEvent.id,
            DomainEvent.shop_id,
            DomainEvent.shopify_order_id,
            DomainEvent.happened_at,
            DomainEvent.occurred_at,
        )
        .where(DomainEvent.id > cursor.last_id)
        .order_by(DomainEvent.id)
        .limit(limit)
    ).all()
    if not events:
        return 0
    shops = {s.id: s for s in session.execute(select(Shop).where(Shop.id.in_({e.shop_id for e in events}))).scalars()}
    by_shop: dict[int, set[date]] = defaultdict(set)
    orders_wanted: dict[int, set[int]] = defaultdict(set)
    for event in events:
        shop = shops.get(event.shop_id)
        if shop is None:
            continue
        by_shop[shop.id].add(local_day(event.happened_at or event.occurred_at, zone(shop.iana_timezone)))
        if event.shopify_order_id:
            orders_wanted[shop.id].add(event.shopify_order_id)
    for shop_id, order_ids in orders_wanted.items():
        tz = zone(shops[shop_id].iana_timezone)
        for (placed,) in session.execute(
            select(Order.shopify_created_at).where(Order.shop_id == shop_id, Order.shopify_order_id.in_(order_ids))
        ):
            if placed is not None:
                by_shop[shop_id].add(local_day(placed, tz))
    for shop_id, days in by_shop.items():
        mark_dirty(session, shop_id, days)
    cursor.last_id = events[-1].id
    return len(events)


def rebuild_dirty_days(session: Session, limit: int = 500) -> int:
    """Rebuild every marked day (each shop's marked days in runs of consecutive days) and clear the marks that
    were not renewed meanwhile. Returns how many days were rebuilt; commits per shop."""
    marks = session.execute(
        select(DirtyDay.id, DirtyDay.shop_id, DirtyDay.day, DirtyDay.marked_at)
        .order_by(DirtyDay.shop_id, DirtyDay.day)
        .limit(limit)
    ).all()
    session.rollback()
    by_shop: dict[int, list[Any]] = defaultdict(list)
    for mark in marks:
        by_shop[mark.shop_id].append(mark)
    for shop_id, shop_marks in by_shop.items():
        shop = session.get(Shop, shop_id)
        if shop is not None:
            for first, last in _runs([m.day for m in shop_marks]):
                rebuild_days(session, shop, first, last)
        for mark in shop_marks:
            session.execute(delete(DirtyDay).where(DirtyDay.id == mark.id, DirtyDay.marked_at == mark.marked_at))
        session.commit()
    return len(marks)


def _runs(days: list[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def installed_shops(session: Session) -> list[Shop]:
    return list(session.execute(select(Shop).where(Shop.is_installed.is_(True)).order_by(Shop.id)).scalars())


@with_app_context
def refresh_rollups() -> int:
    """Periodic: sweep new domain events into dirty days, then rebuild them. Also re-queues a backfill whose
    job was lost (its progress row says where it stopped)."""
    session = db.session
    while sweep_domain_events(session):
        session.commit()
    session.commit()
    rebuilt = 0
    while True:
        done = rebuild_dirty_days(session)
        rebuilt += done
        if done == 0:
            break
    for backfill in session.execute(select(Backfill).where(Backfill.status == "running")).scalars().all():
        rq_id = job_id("analytics-backfill", backfill.shop_id)
        if not job_is_alive(rq_id):
            enqueue(run_backfill, backfill.shop_id, queue="bulk", job_id=rq_id, unique=True)
    session.commit()
    return rebuilt


@with_app_context
def refresh_today() -> int:
    """Periodic (hourly): today and yesterday of every installed shop, for what records no domain event
    (messages' outcomes, link clicks, tracking views)."""
    session = db.session
    shops = installed_shops(session)
    for shop in shops:
        today = today_for(shop)
        rebuild_days(session, shop, today - timedelta(days=1), today)
        session.commit()
    return len(shops)


@with_app_context
def rebuild_recent_history() -> int:
    """Nightly: the last NIGHTLY_DAYS local days of every installed shop, rebuilt from the sources (a rebuild
    is idempotent, so this only corrects what an incremental refresh missed)."""
    session = db.session
    shops = installed_shops(session)
    for shop in shops:
        today = today_for(shop)
        for first, last in _chunks(today - timedelta(days=NIGHTLY_DAYS), today):
            rebuild_days(session, shop, first, last)
            session.commit()
    return len(shops)


def _chunks(first: date, last: date, size: int = BACKFILL_CHUNK_DAYS) -> list[tuple[date, date]]:
    chunks = []
    while first <= last:
        end = min(last, first + timedelta(days=size - 1))
        chunks.append((first, end))
        first = end + timedelta(days=1)
    return chunks


def plan_backfill(session: Session, shop: Shop, days: int = HISTORY_DAYS) -> Backfill:
    """Plan the shop's history: from its first order (at most `days` back) through today, nothing built yet. A
    backfill already running is left as it is. Commits."""
    backfill = session.execute(select(Backfill).where(Backfill.shop_id == shop.id)).scalar_one_or_none()
    if backfill is not None and backfill.status == "running":
        return backfill
    today = today_for(shop)
    oldest = session.execute(select(func.min(Order.shopify_created_at)).where(Order.shop_id == shop.id)).scalar()
    first = max(today - timedelta(days=days), local_day(oldest, zone(shop.iana_timezone)) if oldest else today)
    if backfill is None:
        backfill = Backfill(shop_id=shop.id, first_day=first, last_day=today)
        session.add(backfill)
    backfill.first_day, backfill.last_day, backfill.done_through = first, today, None
    backfill.status, backfill.started_at, backfill.finished_at = "running", utcnow(), None
    session.commit()
    return backfill


def start_backfill(session: Session, shop: Shop, days: int = HISTORY_DAYS) -> Backfill:
    """Plan the shop's history and queue the job that builds it (job id `analytics-backfill-<shop>`, unique; a
    job lost with Redis is queued again by `refresh_rollups`)."""
    backfill = plan_backfill(session, shop, days)
    enqueue(run_backfill, shop.id, queue="bulk", job_id=job_id("analytics-backfill", shop.id), unique=True)
    session.refresh(backfill)
    return backfill


@with_app_context
def run_backfill(shop_id: int) -> int:
    """Roll up the shop's planned history, oldest chunk first, committing the progress after each chunk, so a
    job killed midway resumes where it stopped. Returns how many days were built."""
    session = db.session
    backfill = session.execute(select(Backfill).where(Backfill.shop_id == shop_id)).scalar_one_or_none()
    shop = session.get(Shop, shop_id)
    if backfill is None or shop is None or backfill.status != "running":
        return 0
    start = backfill.first_day if backfill.done_through is None else backfill.done_through + timedelta(days=1)
    built = 0
    for first, last in _chunks(start, backfill.last_day):
        rebuild_days(session, shop, first, last)
        session.execute(update(Backfill).where(Backfill.id == backfill.id).values(done_through=last))
        session.commit()
        built += (last - first).days + 1
    session.execute(update(Backfill).where(Backfill.id == backfill.id).values(status="done", finished_at=utcnow()))
    session.commit()
    return built


# --- the merchant's settings -------------------------------------------------------------------------------


def analytics_settings(session: Session, shop_id: int) -> AnalyticsSettings:
    settings = session.execute(
        select(AnalyticsSettings).where(AnalyticsSettings.shop_id == shop_id)
    ).scalar_one_or_none()
    if settings is None:
        settings = AnalyticsSettings(
            shop_id=shop_id,
            cost_per_contact=DEFAULT_COST_PER_CONTACT,
            contact_share=DEFAULT_CONTACT_SHARE,
            is_weekly_summary_on=False,
            weekly_summary_locale="en",
        )
    return settings


def validate_settings(form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings form: cost per contact (0-1000, the shop's currency), share of lookups that would have been
    a contact (0-100 %), the weekly email (on, to one address, in English or Thai). Problems by field, as keys."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    try:
        cost = Decimal(str(form.get("cost_per_contact", "")).strip())
        if not (0 <= cost <= 1000):
            raise InvalidOperation
        clean["cost_per_contact"] = cost.quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        errors["cost_per_contact"] = "analytics.error.cost"
    try:
        share = Decimal(str(form.get("contact_share_percent", "")).strip())
        if not (0 <= share <= 100):
            raise InvalidOperation
        clean["contact_share"] = (share / 100).quantize(Decimal("0.0001"))
    except (InvalidOperation, ValueError):
        errors["contact_share_percent"] = "analytics.error.share"
    clean["is_weekly_summary_on"] = str(form.get("is_weekly_summary_on", "")).lower() in ("1", "on", "true", "yes")
    address = str(form.get("weekly_summary_to") or "").strip()
    if address:
        checked = email_address(address)
        if checked is None:
            errors["weekly_summary_to"] = "analytics.error.email"
        clean["weekly_summary_to"] = checked
    elif clean["is_weekly_summary_on"]:
        errors["weekly_summary_to"] = "analytics.error.email"
    else:
        clean["weekly_summary_to"] = None
    locale = str(form.get("weekly_summary_locale") or "en")
    if locale not in ("en", "th"):
        errors["weekly_summary_locale"] = "analytics.error.locale"
    clean["weekly_summary_locale"] = locale
    return clean, errors


def save_settings(session: Session, shop_id: int, clean: dict[str, Any]) -> AnalyticsSettings:
    settings = analytics_settings(session, shop_id)
    if settings.id is None:
        session.add(settings)
    for key, value in clean.items():
        setattr(settings, key, value)
    session.flush()
    return settings
