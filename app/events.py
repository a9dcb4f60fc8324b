"""Domain events: the record of meaningful changes (a shipment out for delivery, a delay) that
notifications and analytics consume, and how they reach their subscribers.

Two kinds, both listed in the wiring's `app/subscribers.py`:
- durable domain events: a `domain_events` row, unique on a dedupe key (a change is recorded once), given to
  every event subscriber after its transaction commits, and re-dispatched by a sweeper if that is lost;
- in-transaction announcements (`announce`): a change the core makes inside a webhook's transaction (an order
  upserted, a refund stored) handed at once to the features that react to it, so their writes commit or roll
  back with the change itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, String, UniqueConstraint, bindparam, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import BigIntPK, ShopScoped, in_ids, insert_unless_present, utcnow
from app.extensions import db
from app.jobs import enqueue, enqueue_after_commit, job_id, job_is_alive, with_app_context
from app.registry import registry

if TYPE_CHECKING:
    from app.shopify.models import Shop

log = logging.getLogger(__name__)

# In-transaction announcements (see the module docstring); subscribers take (shop, payload).
ORDER_UPSERTED = "order_upserted"
REFUND_CREATED = "refund_created"

# Session.info key under which `collecting_domain_events` gathers new event ids.
COLLECTED_EVENTS_KEY = "aftercart_collected_domain_events"
# Session.info key holding when the delivery being processed was triggered (the default `happened_at`).
HAPPENED_AT_KEY = "aftercart_domain_events_happened_at"


class DomainEvent(ShopScoped, db.Model):
    __tablename__ = "domain_events"
    __table_args__ = (
        UniqueConstraint("shop_id", "dedupe_key"),
        # An order's events (the admin's order page: when a parcel was flagged delayed or stalled).
        db.Index("ix_domain_events_shop_id_shopify_order_id", "shop_id", "shopify_order_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(255))
    shopify_order_id: Mapped[int | None] = mapped_column(BigInteger)
    shopify_fulfillment_id: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)  # when we recorded it
    # When it happened, by its source's own clock (the scan's time, the fulfilment's update, when Shopify
    # triggered the webhook); NULL when that is when we recorded it. Shopper messages about an event older
    # than the shop's horizon are suppressed (app/notifications/policy.py).
    happened_at: Mapped[datetime | None]
    # Set once subscribers (notifications) have been given the event; NULL rows are swept.
    dispatched_at: Mapped[datetime | None]


def record_event(
    session: Session,
    shop_id: int,
    kind: str,
    dedupe_key: str,
    *,
    shopify_order_id: int | None = None,
    shopify_fulfillment_id: int | None = None,
    data: dict[str, Any] | None = None,
    happened_at: datetime | None = None,
) -> bool:
    """Record a domain event once per (shop, dedupe_key); returns True when it is new.

    `happened_at` is when the change happened by its source's clock; without it, inside a webhook job, the
    time Shopify triggered the webhook (a late redelivery or a replay is about the past), else now.

    A new event is handed to its subscribers by `dispatch_domain_event`: enqueued after commit, or, inside
    `collecting_domain_events`, run by the caller right after its own commit.
    """
    event_id = insert_unless_present(
        session,
        DomainEvent.__table__,
        {
            "shop_id": shop_id,
            "kind": kind,
            "dedupe_key": dedupe_key[:255],
            "shopify_order_id": shopify_order_id,
            "shopify_fulfillment_id": shopify_fulfillment_id,
            "data": data,
            "occurred_at": utcnow(),
            "happened_at": happened_at or session.info.get(HAPPENED_AT_KEY),
        },
        ["shop_id", "dedupe_key"],
    )
    if event_id is None:
        return False
    collected = session.info.get(COLLECTED_EVENTS_KEY)
    if collected is not None:
        collected.append(event_id)
        return True
    enqueue_after_commit(
        session, dispatch_domain_event, event_id, queue="default", job_id=job_id("event", event_id), unique=True
    )
    return True


def events_for(session: Session, shop_id: int, kind: str | None = None) -> list[DomainEvent]:
    query = select(DomainEvent).where(DomainEvent.shop_id == shop_id)
    if kind:
        query = query.where(DomainEvent.kind == kind)
    return list(session.execute(query.order_by(DomainEvent.id)).scalars())


def announce(kind: str, shop: Shop, payload: dict[str, Any]) -> None:
    """Hand a change made in this transaction to the features that react to it (in the wiring's order).

    Subscribers run inside the caller's transaction: what they write commits or rolls back with the change,
    and what they raise fails the webhook job like the change itself would (RQ retries it)."""
    for subscriber in registry().in_transaction_subscribers.get(kind, ()):
        subscriber(shop, payload)


@with_app_context
def dispatch_domain_event(event_id: int) -> str:
    """Give one domain event to every subscriber, once (the row is locked; dispatched_at is the mark).

    Subscribers are idempotent themselves (notifications dedupe on their own keys), so a retry
    after a crash between a subscriber and the mark is harmless.
    """
    event = db.session.execute(
        select(DomainEvent).where(DomainEvent.id == event_id).with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if event is None or event.dispatched_at is not None:
        db.session.rollback()
        return "skipped"
    for subscriber in registry().event_subscribers:
        subscriber(event)
    event.dispatched_at = utcnow()
    db.session.commit()
    return "dispatched"


@contextmanager
def collecting_domain_events(session: Session, happened_at: datetime | None = None) -> Iterator[list[int]]:
    """Inside, `record_event` only collects the ids of new events; the caller commits, then gives them to
    `dispatch_collected_events`. A webhook job does this so a status change reaches its subscribers in
    the same job instead of one more RQ job per event (a crash in between is healed by the sweeper).
    `happened_at` (when the webhook was triggered) is the time of events recorded without their own."""
    collected: list[int] = []
    session.info[COLLECTED_EVENTS_KEY] = collected
    session.info[HAPPENED_AT_KEY] = happened_at
    try:
        yield collected
    finally:
        session.info.pop(COLLECTED_EVENTS_KEY, None)
        session.info.pop(HAPPENED_AT_KEY, None)


# Built once, ids bound per call (this runs for every webhook that changed something).
_LOCK_UNDISPATCHED = (
    select(DomainEvent)
    .where(in_ids(DomainEvent.id, "ids"), DomainEvent.dispatched_at.is_(None))
    .order_by(DomainEvent.id)
    .with_for_update(skip_locked=True)
)
_MARK_DISPATCHED = (
    update(DomainEvent.__table__).where(in_ids(DomainEvent.__table__.c.id, "ids")).values(dispatched_at=bindparam("at"))
)


def dispatch_domain_events(event_ids: list[int]) -> int:
    """`dispatch_domain_event` for several events in one transaction: one locking read, one mark, one
    commit, however many events a webhook recorded. Returns how many were dispatched; raises (after
    nothing is committed) if a subscriber does."""
    events = db.session.execute(_LOCK_UNDISPATCHED, {"ids": event_ids}).scalars().all()
    if not events:
        db.session.rollback()
        return 0
    for event in events:
        for subscriber in registry().event_subscribers:
            subscriber(event)
    db.session.execute(_MARK_DISPATCHED, {"ids": [e.id for e in events], "at": utcnow()})
    db.session.commit()
    return len(events)


def dispatch_collected_events(event_ids: list[int]) -> None:
    """Dispatch events whose rows are committed, together; if that fails, each on its own, and one that
    fails again is handed to a job (RQ retries it)."""
    if not event_ids:
        return
    try:
        dispatch_domain_events(event_ids)
        return
    except Exception:
        db.session.rollback()
        log.warning("domain events %s: dispatch together failed; dispatching one by one", event_ids, exc_info=True)
    for event_id in event_ids:
        try:
            dispatch_domain_event(event_id)
        except Exception:
            db.session.rollback()
            log.exception("domain event %s: dispatch failed in line; queued as a job", event_id)
            try:
                enqueue(dispatch_domain_event, event_id, queue="default", job_id=job_id("event", event_id), unique=True)
            except Exception:
                log.warning("domain event %s left for the sweeper", event_id)


@with_app_context
def requeue_undispatched_events() -> int:
    """Sweeper: events whose dispatch job never reached Redis, or died, are dispatched again."""
    cutoff = utcnow() - timedelta(seconds=60)
    ids = (
        db.session.execute(
            select(DomainEvent.id)
            .where(DomainEvent.dispatched_at.is_(None), DomainEvent.occurred_at < cutoff)
            .order_by(DomainEvent.id)
            .limit(5000)
        )
        .scalars()
        .all()
    )
    db.session.rollback()
    count = 0
    for event_id in ids:
        rq_id = job_id("event", event_id)
        if job_is_alive(rq_id):
            continue
        enqueue(dispatch_domain_event, event_id, queue="default", job_id=rq_id, unique=True)
        count += 1
    return count
