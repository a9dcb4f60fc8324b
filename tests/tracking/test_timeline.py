"""A true timeline: shuffled, duplicated and late webhooks converge on one final state."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.events import DomainEvent
from app.extensions import db
from app.orders.models import Fulfillment, Order, Refund, TrackingEvent
from tests.conftest import load_fixture

ORDER_ID = 820982911946154508


def _recent_morning() -> datetime:
    """03:00 UTC (10:00 in Bangkok) two days before now: recent enough that a message about it is news within
    the shops' 72-hour horizon (app/notifications/policy.py), on whatever day the suite runs."""
    return datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=2)


T0 = _recent_morning()


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def order_payload(updated: datetime, **changes) -> dict:
    payload = load_fixture("orders_create.json")
    payload.update(
        id=ORDER_ID,
        name="#1001",
        order_number=1001,
        email="jon@example.com",
        financial_status="paid",
        cancelled_at=None,
        fulfillment_status=None,
        created_at=iso(T0),
        updated_at=iso(updated),
    )
    payload["line_items"] = [
        {"id": 11, "title": "Cotton tee", "quantity": 2, "price": "390.00"},
        {"id": 12, "title": "Canvas tote", "quantity": 1, "price": "590.00"},
    ]
    payload["shipping_address"] = {"country_code": "TH", "province_code": "TH-10"}
    payload.update(changes)
    return payload


def fulfillment_payload(
    fid: int,
    items: list[tuple[int, int]],
    created: datetime,
    updated: datetime,
    number: str,
    company: str = "Kerry Express",
    **changes,
) -> dict:
    payload = load_fixture("fulfillments_create.json")
    payload.update(
        id=fid,
        order_id=ORDER_ID,
        status="success",
        shipment_status=None,
        tracking_company=company,
        tracking_number=number,
        tracking_numbers=[number],
        tracking_url=None,
        tracking_urls=[],
        name=f"#1001.{fid}",
        created_at=iso(created),
        updated_at=iso(updated),
    )
    payload["destination"] = dict(payload["destination"], country_code="TH")
    payload["line_items"] = [{"id": item, "title": "x", "quantity": qty} for item, qty in items]
    payload.update(changes)
    return payload


def event_payload(eid: int, fid: int, status: str, happened: datetime, **changes) -> dict:
    payload = load_fixture("fulfillment_events_create.json")
    payload.update(
        id=eid,
        fulfillment_id=fid,
        order_id=ORDER_ID,
        status=status,
        happened_at=iso(happened),
        created_at=iso(happened),
        updated_at=iso(happened),
        message=f"{status} scan",
        estimated_delivery_at=None,
    )
    payload.update(changes)
    return payload


def split_order_deliveries() -> list[tuple[str, dict]]:
    f1, f2 = 501, 502
    return [
        ("orders/create", order_payload(T0)),
        ("orders/updated", order_payload(T0 + timedelta(hours=1), fulfillment_status="partial")),
        (
            "fulfillments/create",
            fulfillment_payload(f1, [(11, 2)], T0 + timedelta(hours=2), T0 + timedelta(hours=2), "SHP5012345678"),
        ),
        (
            "fulfillments/create",
            fulfillment_payload(f2, [(12, 1)], T0 + timedelta(days=1), T0 + timedelta(days=1), "SHP5012345679"),
        ),
        (
            "fulfillments/update",
            fulfillment_payload(
                f1,
                [(11, 2)],
                T0 + timedelta(hours=2),
                T0 + timedelta(days=2),
                "SHP5012345678",
                shipment_status="delivered",
            ),
        ),
        ("orders/updated", order_payload(T0 + timedelta(days=1, hours=1), fulfillment_status="fulfilled")),
        ("fulfillment_events/create", event_payload(1, f1, "carrier_picked_up", T0 + timedelta(hours=5))),
        ("fulfillment_events/create", event_payload(2, f1, "in_transit", T0 + timedelta(hours=20))),
        (
            "fulfillment_events/create",
            event_payload(3, f1, "out_for_delivery", T0 + timedelta(days=2, hours=1)),
        ),
        ("fulfillment_events/create", event_payload(4, f1, "delivered", T0 + timedelta(days=2, hours=6))),
        ("fulfillment_events/create", event_payload(5, f2, "in_transit", T0 + timedelta(days=1, hours=8))),
        (
            "fulfillment_events/create",
            event_payload(6, f2, "some_new_carrier_status", T0 + timedelta(days=2, hours=9)),
        ),
        ("refunds/create", dict(load_fixture("refunds_create.json"), order_id=ORDER_ID)),
    ]


def snapshot() -> dict:
    order = db.session.execute(select(Order)).scalar_one()
    shipments = {
        f.shopify_fulfillment_id: (
            f.shipment_state,
            f.carrier_name,
            f.tracking_url,
            f.delivered_at,
            f.last_scan_at,
            f.estimate_from,
            f.estimate_to,
            f.estimate_source,
        )
        for f in db.session.execute(select(Fulfillment)).scalars()
    }
    events = sorted(
        (e.external_id, e.status, e.raw_status) for e in db.session.execute(select(TrackingEvent)).scalars()
    )
    refunds = [(r.shopify_refund_id, str(r.amount)) for r in db.session.execute(select(Refund)).scalars()]
    return {
        "order": (order.status, order.fulfillment_status, order.shopify_updated_at),
        "shipments": shipments,
        "events": events,
        "refunds": refunds,
    }


def _reset() -> None:
    for table in reversed(db.metadata.sorted_tables):
        if table.name not in ("shops",):
            db.session.execute(table.delete())
    db.session.commit()


@pytest.mark.parametrize("seed", range(6))
def test_shuffled_duplicated_late_deliveries_end_in_one_timeline(ctx, post_webhook, run_jobs, seed):
    deliveries = split_order_deliveries()
    post_in_order = list(deliveries)
    for topic, payload in post_in_order:
        post_webhook(topic, payload)
    run_jobs()
    expected = snapshot()
    _reset()

    rng = random.Random(seed)
    shuffled = copy.deepcopy(deliveries)
    rng.shuffle(shuffled)
    shuffled += rng.sample(shuffled, 4)  # redeliveries (fresh webhook ids), late
    batches, start = [], 0
    while start < len(shuffled):
        size = rng.randint(1, 5)
        batches.append(shuffled[start : start + size])
        start += size
    for batch in batches:  # processed in several rounds, like a real worker falling behind
        for topic, payload in batch:
            post_webhook(topic, payload)
        run_jobs()
    assert snapshot() == expected


def test_split_order_state_and_unknown_status_kept_verbatim(ctx, post_webhook, run_jobs):
    for topic, payload in split_order_deliveries():
        post_webhook(topic, payload)
    run_jobs()
    state = snapshot()
    assert state["shipments"][501][0] == "delivered"
    assert state["shipments"][502][0] == "in_transit"  # the unknown scan did not move it
    unknown = db.session.execute(select(TrackingEvent).where(TrackingEvent.external_id == "6")).scalar_one()
    assert unknown.status is None and unknown.raw_status == "some_new_carrier_status"
    order = db.session.execute(select(Order)).scalar_one()
    assert order.status == "in_transit"  # one parcel delivered, one still travelling
    assert "Kerry Express" in state["shipments"][501][1]
    assert state["refunds"] == [(890088186047892319, "85.00")]  # both refund transactions
    kinds = [e.kind for e in db.session.execute(select(DomainEvent).order_by(DomainEvent.id)).scalars()]
    assert "shipment.status_changed" in kinds and "order.status_changed" in kinds


def test_status_changes_are_recorded_once(ctx, post_webhook, run_jobs):
    deliveries = split_order_deliveries()
    for _ in range(3):
        for topic, payload in deliveries:
            post_webhook(topic, payload)
        run_jobs()
    keys = [e.dedupe_key for e in db.session.execute(select(DomainEvent)).scalars()]
    assert len(keys) == len(set(keys))
    assert "shipment:501:status:delivered" in keys


def test_cancelled_order_is_cancelled_everywhere(ctx, post_webhook, run_jobs):
    post_webhook("orders/create", order_payload(T0))
    post_webhook(
        "orders/cancelled",
        order_payload(T0 + timedelta(hours=3), cancelled_at=iso(T0 + timedelta(hours=3)), financial_status="voided"),
    )
    post_webhook("orders/updated", order_payload(T0 + timedelta(hours=1)))  # late, older
    run_jobs()
    order = db.session.execute(select(Order)).scalar_one()
    assert order.status == "cancelled" and order.cancelled_at is not None
