"""Carrier status polling: an adapter interface and a registry, one module per carrier API.

Polling is optional. A shop works from Shopify's fulfilment events alone; an adapter is active
only when its credentials are configured (CARRIER_<CODE>_TOKEN). Polled scans become tracking
events with source `carrier:<code>` and go through the same derivation as Shopify's.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from flask import current_app
from sqlalchemy import select

from app.db import dialect_insert, utcnow, wrote_row
from app.extensions import db
from app.jobs import enqueue, job_id, with_app_context
from app.orders.models import Fulfillment, TrackingEvent
from app.orders.status import MOVING_STATES, Status
from app.tracking.services import refresh_shipment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CarrierScan:
    tracking_number: str
    status: Status | None  # None when the carrier's value is unknown to us; raw_status keeps it
    raw_status: str
    message: str | None
    location: str | None
    happened_at: datetime
    estimated_delivery_at: datetime | None = None

    def external_id(self) -> str:
        key = f"{self.tracking_number}|{self.raw_status}|{self.happened_at.isoformat()}|{self.location or ''}"
        return hashlib.sha256(key.encode()).hexdigest()[:40]


class TransientCarrierError(RuntimeError):
    """The carrier API failed in a way worth retrying (network, 5xx, rate limit)."""


class CarrierTracker(Protocol):
    carrier_code: str

    def fetch(self, tracking_numbers: list[str]) -> dict[str, list[CarrierScan]]:
        """Scans per tracking number; raises TransientCarrierError to be retried."""
        ...


TrackerFactory = type[CarrierTracker]
_FACTORIES: dict[str, type] = {}


def register(cls: type) -> type:
    _FACTORIES[cls.carrier_code] = cls
    return cls


def _load_modules() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def configured_trackers(extra: Mapping[str, str] | None = None) -> dict[str, CarrierTracker]:
    """The adapters whose credentials are set, built with those credentials."""
    _load_modules()
    extra = extra if extra is not None else current_app.config["SETTINGS"].extra
    trackers: dict[str, CarrierTracker] = {}
    for code, cls in _FACTORIES.items():
        prefix = f"CARRIER_{code.upper()}_"
        credentials = {k[len(prefix) :].lower(): v for k, v in extra.items() if k.startswith(prefix)}
        if credentials.get("token"):
            trackers[code] = cls(**credentials)
    return trackers


def store_scans(shop_id: int, fulfillment: Fulfillment, source: str, scans: list[CarrierScan]) -> int:
    """Insert new scans once each (unique on source + external id); returns how many were new."""
    new = 0
    for scan in scans:
        stmt = (
            dialect_insert(db.session, TrackingEvent.__table__)
            .values(
                shop_id=shop_id,
                shopify_fulfillment_id=fulfillment.shopify_fulfillment_id,
                shopify_order_id=fulfillment.shopify_order_id,
                source=source,
                external_id=scan.external_id(),
                status=scan.status.value if scan.status else None,
                raw_status=scan.raw_status[:120],
                message=scan.message,
                city=scan.location,
                happened_at=scan.happened_at,
                estimated_delivery_at=scan.estimated_delivery_at,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["shop_id", "source", "external_id"])
        )
        new += wrote_row(db.session, stmt, TrackingEvent.__table__)
    return new


BATCH = 50


@with_app_context
def poll_carriers() -> dict[str, int]:
    """Periodic job: for each configured carrier, queue polls of its live shipments in batches."""
    trackers = configured_trackers()
    queued: dict[str, int] = {}
    for code in trackers:
        rows = (
            db.session.execute(
                select(Fulfillment.id)
                .where(
                    Fulfillment.carrier_code == code,
                    Fulfillment.shipment_state.in_([s.value for s in MOVING_STATES | {Status.LABEL_CREATED}]),
                )
                .order_by(Fulfillment.id)
            )
            .scalars()
            .all()
        )
        enqueue_poll_batches(poll_carrier_batch, "poll", code, rows)
        queued[code] = len(rows)
    return queued


def enqueue_poll_batches(job: Callable[[str, list[int]], int], kind: str, carrier_code: str, ids: list[int]) -> None:
    """Queue `job(carrier_code, batch)` on the bulk queue for each BATCH of ids, once per first id."""
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        enqueue(job, carrier_code, batch, queue="bulk", job_id=job_id(kind, carrier_code, batch[0]), unique=True)


@with_app_context
def poll_carrier_batch(carrier_code: str, fulfillment_ids: list[int]) -> int:
    """Fetch scans for a batch of shipments of one carrier and re-derive each shipment.

    Idempotent: scans are unique per (shop, source, external id). TransientCarrierError propagates
    so RQ retries with backoff.
    """
    tracker = configured_trackers().get(carrier_code)
    if tracker is None:
        return 0
    fulfillments = db.session.execute(select(Fulfillment).where(Fulfillment.id.in_(fulfillment_ids))).scalars().all()
    by_number = {f.tracking_numbers[0]: f for f in fulfillments if f.tracking_numbers}
    if not by_number:
        return 0
    results = tracker.fetch(list(by_number))
    new = 0
    for number, scans in results.items():
        fulfillment = by_number.get(number)
        if fulfillment is None:
            continue
        added = store_scans(fulfillment.shop_id, fulfillment, f"carrier:{carrier_code}", scans)
        if added:
            refresh_shipment(db.session, fulfillment.shop_id, fulfillment.shopify_fulfillment_id)
        new += added
    db.session.commit()
    return new
