"""The webhook inbox: store a verified delivery durably, process it in a job, sweep what was stranded."""

from __future__ import annotations

import atexit
import functools
import logging
import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import psycopg
import redis
from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from app.db import dialect_insert, utcnow
from app.events import collecting_domain_events, dispatch_collected_events
from app.extensions import db
from app.jobs import enqueue, enqueue_new, job_id, job_is_alive, with_app_context
from app.orders.cleaning import collecting_payload_notes, strip_controls
from app.orders.services import PayloadError
from app.registry import registry
from app.shopify.models import Shop, WebhookEvent
from app.shopify.shops import shop_id_for_domain

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
STRANDED_AFTER = timedelta(seconds=60)
PAYLOAD_RETENTION = timedelta(days=7)
# The reason a merchant reads for a failed delivery: one line, never a statement dump.
MAX_REASON = 200
# SQLSTATEs of integrity errors the data itself causes (NOT NULL, CHECK). A unique or foreign-key violation
# can be a race with a concurrent job, which a retry resolves, so those stay transient.
_DATA_INTEGRITY_STATES = frozenset({"23502", "23514"})


@dataclass(frozen=True)
class Delivery:
    shop_domain: str
    topic: str
    webhook_id: str
    api_version: str
    event_id: str | None
    triggered_at: datetime | None
    body: bytes


@dataclass(frozen=True)
class StoreResult:
    event_id: int | None  # None: a duplicate of a delivery we already hold
    parse_error: str | None = None

    @property
    def duplicate(self) -> bool:
        return self.event_id is None


def store_delivery(session: Session, delivery: Delivery, known_topics: Collection[str]) -> StoreResult:
    """Insert the delivery into the inbox (unique on shop + webhook id) and commit.

    A body we cannot parse, or a topic we have no handler for, is kept as `failed` with the
    reason, so the merchant sees it and Shopify is not made to resend the same bytes.
    """
    # PostgreSQL text cannot hold NUL; a body with one is malformed anyway and is kept, readable.
    text = delivery.body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    parse_error = None
    try:
        parsed = orjson.loads(delivery.body)
        if not isinstance(parsed, dict):
            parse_error = "payload is not a JSON object"
    except orjson.JSONDecodeError as exc:
        parse_error = f"malformed JSON: {exc}"
    if parse_error is None and delivery.topic not in known_topics:
        parse_error = f"no handler for topic {delivery.topic!r}"
    shop_id = shop_id_for_domain(session, delivery.shop_domain)
    if session.get_bind().dialect.name == "postgresql":
        new_id = _insert_postgres(session, shop_id, delivery, text, parse_error)
        return StoreResult(event_id=new_id, parse_error=parse_error)
    stmt = (
        dialect_insert(session, WebhookEvent.__table__)
        .values(
            shop_id=shop_id,
            webhook_id=delivery.webhook_id,
            topic=delivery.topic,
            api_version=delivery.api_version,
            event_id=delivery.event_id,
            triggered_at=delivery.triggered_at,
            payload=text,
            status="failed" if parse_error else "received",
            error=parse_error,
            attempts=0,
            received_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["shop_id", "webhook_id"])
        .returning(WebhookEvent.__table__.c.id)
    )
    new_id = session.execute(stmt).scalar()
    session.commit()
    return StoreResult(event_id=new_id, parse_error=parse_error)


_INSERT_EVENT = (
    "INSERT INTO webhook_events (shop_id, webhook_id, topic, api_version, event_id, triggered_at, payload,"
    " status, error, attempts, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 0, now())"
    " ON CONFLICT (shop_id, webhook_id) DO NOTHING RETURNING id"
)
_writer = threading.local()
_writer_connections: list[psycopg.Connection] = []


@atexit.register
def close_writer_connections() -> None:
    """Close the intake connections this process opened (at exit, or when a test app is torn down)."""
    while _writer_connections:
        _writer_connections.pop().close()


def _insert_postgres(
    session: Session, shop_id: int, delivery: Delivery, text: str, parse_error: str | None
) -> int | None:
    """The hot path of intake: one prepared INSERT on a per-thread autocommit connection.

    A single-statement INSERT commits on its own, so there is no BEGIN/COMMIT round trip, and the
    prepared statement skips SQL compilation (measured: benchmarks/webhook_ingest.py). Any session
    work done before (a first-seen shop row) is committed first so the row it references exists.
    """
    # A scoped session hides in_transaction(); the first-seen shop row must be committed before we refer to it.
    real_session = session() if callable(session) else session
    if real_session.in_transaction():
        real_session.commit()
    url = _libpq_url(session.get_bind())
    params = (
        shop_id,
        delivery.webhook_id,
        delivery.topic,
        delivery.api_version,
        delivery.event_id,
        delivery.triggered_at,
        text,
        "failed" if parse_error else "received",
        parse_error,
    )
    conn = getattr(_writer, "conn", None)
    try:
        if conn is None or conn.closed or getattr(_writer, "url", None) != url:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=2, prepare_threshold=0)
            _writer.conn, _writer.url = conn, url
            _writer_connections.append(conn)
        row = conn.execute(_INSERT_EVENT, params).fetchone()
    except psycopg.Error as exc:
        if conn is not None:
            conn.close()
        raise StorageUnavailable(str(exc)) from exc
    return row[0] if row else None


@functools.cache
def _libpq_url(engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class StorageUnavailable(RuntimeError):
    """The inbox could not be written: answer 5xx so Shopify retries."""


def enqueue_new_event(event_id: int) -> None:
    """Queue processing of an event just inserted: one Redis round trip, no uniqueness check (the id is
    brand new, and the job skips events that are no longer `received`)."""
    if current_app.config["SETTINGS"].jobs_inline:
        enqueue_processing(event_id)
        return
    enqueue_new(process_webhook_event, event_id, queue="webhooks", job_id=job_id("webhook", event_id))


def enqueue_processing(event_id: int) -> None:
    """Queue the processing job; the job id is derived from the event, so it is never queued twice."""
    enqueue(process_webhook_event, event_id, queue="webhooks", job_id=job_id("webhook", event_id), unique=True)


# Built once (the event id is bound per job): building and keying it anew cost a third of running it.
_LOCK_EVENT_WITH_SHOP = (
    select(WebhookEvent, Shop)
    .outerjoin(Shop, Shop.id == WebhookEvent.shop_id)
    .where(WebhookEvent.id == bindparam("event_id"))
    .with_for_update(of=WebhookEvent, skip_locked=True)
)


@with_app_context
def process_webhook_event(event_id: int) -> str:
    """Run the topic's handler for one stored delivery, exactly once.

    Idempotency: the event row is locked and skipped unless still `received`; handlers are
    upserts keyed by Shopify ids. Fields that cannot be stored as sent are cleaned (control characters
    removed, text cut to its column, wrong types dropped) and what was changed is kept as the event's
    notes. Transient errors (the database or Redis unreachable) are re-raised so RQ retries; a payload
    we cannot use (`is_permanent`) fails the event at once, and so does anything after MAX_ATTEMPTS,
    with a one-line reason (`one_line_reason`).
    """
    session = db.session
    found = session.execute(_LOCK_EVENT_WITH_SHOP, {"event_id": event_id}).first()
    event, shop = found if found is not None else (None, None)
    if event is None or event.status != "received":
        session.rollback()
        return "skipped"
    handler = registry().all_handlers.get(event.topic)
    with (
        collecting_domain_events(session, happened_at=event.triggered_at) as new_events,
        collecting_payload_notes(session) as notes,
    ):
        try:
            if handler is None:
                raise PayloadError(f"no handler for topic {event.topic!r}")
            if event.payload is None:
                raise PayloadError("payload was erased before processing")
            handler(shop, strip_controls(orjson.loads(event.payload), "", notes))
        except Exception as exc:
            session.rollback()
            permanent = is_permanent(exc)
            final = _record_failure(event_id, one_line_reason(exc), final=permanent, notes=notes)
            if final:
                if not permanent:
                    log.error("webhook event %s failed for good", event_id, exc_info=exc)
                return "failed"
            raise
        event.status = "processed"
        event.error = None
        event.notes = list(notes) or None  # what the handler had to clean or leave out, for the merchant
        event.attempts += 1
        event.processed_at = utcnow()
        session.commit()
    dispatch_collected_events(new_events)
    return "processed"


def is_permanent(exc: BaseException) -> bool:
    """Whether retrying cannot help: the payload itself is unusable.

    PayloadError; a database refusal of a value (DataError: too long, bad encoding, out of range; a NOT NULL
    or CHECK violation); and ValueError, TypeError, LookupError and AttributeError raised while reading the
    payload. A lost connection, a unique-key race or Redis being down is transient.
    """
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return False
        if isinstance(exc, DataError):
            return True
        return isinstance(exc, IntegrityError) and _sqlstate(exc) in _DATA_INTEGRITY_STATES
    return isinstance(exc, PayloadError | ValueError | TypeError | LookupError | AttributeError)


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None) or getattr(getattr(exc.orig, "diag", None), "sqlstate", None)


def one_line_reason(exc: BaseException) -> str:
    """What went wrong in one line of at most MAX_REASON characters: the database's own primary message
    (never the statement or its parameters), else the exception's first line."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        diag = getattr(exc.orig, "diag", None)
        primary = getattr(diag, "message_primary", None) or (str(exc.orig).strip().splitlines() or [""])[0]
        column = getattr(diag, "column_name", None)
        table = getattr(diag, "table_name", None)
        where = f" ({table}.{column})" if table and column else ""
        text = f"database refused the data: {primary}{where}"
    else:
        first = (str(exc).strip().splitlines() or [""])[0]
        text = first if isinstance(exc, PayloadError) else f"{type(exc).__name__}: {first}".rstrip(": ")
        if is_permanent(exc) and not isinstance(exc, PayloadError):
            text = f"payload not usable: {text}"
    text = " ".join(strip_controls(text, "", []).split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def _record_failure(event_id: int, reason: str, final: bool, notes: list[str] | None = None) -> bool:
    event = db.session.get(WebhookEvent, event_id)
    if event is None:
        return True
    event.attempts += 1
    event.error = reason
    event.notes = list(notes) if notes else None
    final = final or event.attempts >= MAX_ATTEMPTS
    if final:
        event.status = "failed"
        log.error("webhook event %s (%s) failed for good: %s", event_id, event.topic, reason)
    db.session.commit()
    return final


@with_app_context
def requeue_stranded_webhook_events() -> int:
    """Re-enqueue events still `received` a while after arrival whose job is gone or dead.

    This is the outbox sweeper: it heals Redis outages during intake and workers killed mid-job.
    """
    cutoff = utcnow() - STRANDED_AFTER
    ids = (
        db.session.execute(
            select(WebhookEvent.id)
            .where(WebhookEvent.status == "received", WebhookEvent.received_at < cutoff)
            .order_by(WebhookEvent.id)
            .limit(5000)
        )
        .scalars()
        .all()
    )
    db.session.rollback()
    requeued = 0
    for event_id in ids:
        if job_is_alive(job_id("webhook", event_id)):
            continue
        enqueue_processing(event_id)
        requeued += 1
    if requeued:
        log.info("re-enqueued %d stranded webhook events", requeued)
    return requeued


def retry_failed_event(session: Session, shop_id: int, event_id: int) -> bool:
    """Merchant action: put a failed event back in line (e.g. after a fix). Scoped by shop."""
    result = session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == event_id, WebhookEvent.shop_id == shop_id, WebhookEvent.status == "failed")
        .where(WebhookEvent.payload.is_not(None))
        .values(status="received", error=None, notes=None, attempts=0)
    )
    session.commit()
    if result.rowcount:
        try:
            enqueue_processing(event_id)
        except redis.RedisError:
            log.warning("retry of event %s queued for the sweeper", event_id)
        return True
    return False


@with_app_context
def purge_processed_payloads() -> int:
    """Drop raw bodies of processed events past retention: personal data is not kept longer than needed."""
    result = db.session.execute(
        update(WebhookEvent)
        .where(
            WebhookEvent.status == "processed",
            WebhookEvent.processed_at < utcnow() - PAYLOAD_RETENTION,
            WebhookEvent.payload.is_not(None),
        )
        .values(payload=None)
    )
    db.session.commit()
    return result.rowcount or 0


def describe(event: WebhookEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "topic": event.topic,
        "status": event.status,
        "error": event.error,
        "notes": event.notes or [],
        "attempts": event.attempts,
        "received_at": event.received_at.isoformat(),
    }
