"""Who hears about domain events: the one map from event kinds to subscribers, and the dispatch job."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from app.db import in_ids, utcnow
from app.events import COLLECTED_EVENTS_KEY, DomainEvent
from app.extensions import db
from app.jobs import enqueue, job_id, job_is_alive, with_app_context

log = logging.getLogger(__name__)


def _subscribers() -> list[Callable[[DomainEvent], None]]:
    from app.notifications.triggers import plan_notifications

    return [plan_notifications]


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
    for subscriber in _subscribers():
        subscriber(event)
    event.dispatched_at = utcnow()
    db.session.commit()
    return "dispatched"


@contextmanager
def collecting_domain_events(session: Session) -> Iterator[list[int]]:
    """Inside, `record_event` only collects the ids of new events; the caller commits, then gives them to
    `dispatch_collected_events`. A webhook job does this so a status change reaches its subscribers in
    the same job instead of one more RQ job per event (a crash in between is healed by the sweeper)."""
    collected: list[int] = []
    session.info[COLLECTED_EVENTS_KEY] = collected
    try:
        yield collected
    finally:
        session.info.pop(COLLECTED_EVENTS_KEY, None)


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
        for subscriber in _subscribers():
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
