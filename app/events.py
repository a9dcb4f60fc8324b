"""Domain events: the record of meaningful changes (a shipment out for delivery, a delay) that
notifications and analytics consume. Unique on a dedupe key, so a change is recorded once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import BigIntPK, ShopScoped, insert_unless_present, utcnow
from app.extensions import db

# Session.info key under which `app.subscribers.collecting_domain_events` gathers new event ids.
COLLECTED_EVENTS_KEY = "aftercart_collected_domain_events"


class DomainEvent(ShopScoped, db.Model):
    __tablename__ = "domain_events"
    __table_args__ = (UniqueConstraint("shop_id", "dedupe_key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(255))
    shopify_order_id: Mapped[int | None] = mapped_column(BigInteger)
    shopify_fulfillment_id: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
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
) -> bool:
    """Record a domain event once per (shop, dedupe_key); returns True when it is new.

    A new event is handed to its subscribers by `dispatch_domain_event`: enqueued after commit, or, inside
    `app.subscribers.collecting_domain_events`, run by the caller right after its own commit.
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
        },
        ["shop_id", "dedupe_key"],
    )
    if event_id is None:
        return False
    collected = session.info.get(COLLECTED_EVENTS_KEY)
    if collected is not None:
        collected.append(event_id)
        return True
    from app.jobs import enqueue_after_commit, job_id
    from app.subscribers import dispatch_domain_event

    enqueue_after_commit(
        session, dispatch_domain_event, event_id, queue="default", job_id=job_id("event", event_id), unique=True
    )
    return True


def events_for(session: Session, shop_id: int, kind: str | None = None) -> list[DomainEvent]:
    query = select(DomainEvent).where(DomainEvent.shop_id == shop_id)
    if kind:
        query = query.where(DomainEvent.kind == kind)
    return list(session.execute(query.order_by(DomainEvent.id)).scalars())
