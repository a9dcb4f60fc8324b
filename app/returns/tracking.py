"""Parcels on their way back, tracked like outbound shipments: the same carrier adapters (app/tracking/polling)
poll their scans, which the status page and the admin show; the carrier's "delivered" marks the return received.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from app.db import dialect_insert, utcnow, wrote_row
from app.extensions import db
from app.jobs import with_app_context
from app.orders.status import Status
from app.returns.models import ReturnRequest, ReturnScan
from app.tracking.polling import CarrierScan, configured_trackers, enqueue_poll_batches

log = logging.getLogger(__name__)


@with_app_context
def poll_return_parcels() -> dict[str, int]:
    """Periodic job: queue scan polls, in batches per carrier, of every return parcel still in transit."""
    queued: dict[str, int] = {}
    for code in configured_trackers():
        ids = (
            db.session.execute(
                select(ReturnRequest.id)
                .where(
                    ReturnRequest.status == "in_transit",
                    ReturnRequest.carrier_code == code,
                    ReturnRequest.tracking_number.is_not(None),
                )
                .order_by(ReturnRequest.id)
            )
            .scalars()
            .all()
        )
        enqueue_poll_batches(poll_return_batch, "poll-returns", code, ids)
        queued[code] = len(ids)
    return queued


@with_app_context
def poll_return_batch(carrier_code: str, return_ids: list[int]) -> int:
    """Store new scans once each; a delivered scan marks the return received (by the carrier). Returns how many
    scans were new. TransientCarrierError propagates so RQ retries with backoff."""
    from app.returns.services import TransitionError, mark_received

    tracker = configured_trackers().get(carrier_code)
    if tracker is None:
        return 0
    returns = db.session.execute(select(ReturnRequest).where(ReturnRequest.id.in_(return_ids))).scalars().all()
    by_number = {r.tracking_number: r for r in returns if r.tracking_number and r.status == "in_transit"}
    if not by_number:
        return 0
    new = 0
    for number, scans in tracker.fetch(list(by_number)).items():
        request = by_number.get(number)
        if request is None:
            continue
        new += sum(_store_scan(request, scan) for scan in scans)
        if any(scan.status == Status.DELIVERED for scan in scans):
            try:
                mark_received(db.session, request, f"carrier:{carrier_code}")
            except TransitionError:
                log.info("return %s delivered by %s but already %s", request.id, carrier_code, request.status)
    db.session.commit()
    return new


def _store_scan(request: ReturnRequest, scan: CarrierScan) -> int:
    stmt = (
        dialect_insert(db.session, ReturnScan.__table__)
        .values(
            shop_id=request.shop_id,
            return_request_id=request.id,
            external_id=scan.external_id(),
            status=scan.status.value if scan.status else None,
            raw_status=scan.raw_status[:120],
            message=scan.message,
            location=scan.location,
            happened_at=scan.happened_at,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["return_request_id", "external_id"])
    )
    return wrote_row(db.session, stmt, ReturnScan.__table__)


def scans_for(request: ReturnRequest) -> list[ReturnScan]:
    """The parcel's scans, newest first."""
    return list(
        db.session.execute(
            select(ReturnScan)
            .where(ReturnScan.shop_id == request.shop_id, ReturnScan.return_request_id == request.id)
            .order_by(ReturnScan.happened_at.desc(), ReturnScan.id.desc())
        ).scalars()
    )
