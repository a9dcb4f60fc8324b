"""Webhooks of one order processed at the same time by two workers converge like webhooks processed in turn.

Found by benchmarks/soak.py: a scan (fulfillment_events/create) processed while another worker's
fulfillments/create had inserted the fulfilment's row but not yet committed it saw no fulfilment ("events may
come first"), was stored and never applied; the fulfilment's job had read the scans before the scan committed.
The parcel stayed "out for delivery" and its shopper never heard it was delivered.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.orders.handlers import on_order_changed
from app.orders.models import Fulfillment
from app.shopify.models import Shop
from app.tracking.handlers import on_fulfillment_changed, on_fulfillment_event_created
from tests.conftest import SHOP, load_fixture

ORDER_ID, FULFILLMENT_ID = 820982911946154508, 4_500_000_000_001


def _payloads(now: datetime) -> tuple[dict, dict, dict]:
    stamp = (now - timedelta(hours=2)).isoformat()
    order = load_fixture("orders_create.json")
    order.update(id=ORDER_ID, financial_status="paid", cancelled_at=None, cancel_reason=None, updated_at=stamp)
    fulfillment = load_fixture("fulfillments_create.json")
    fulfillment.update(
        id=FULFILLMENT_ID, order_id=ORDER_ID, status="success", shipment_status=None, created_at=stamp, updated_at=stamp
    )
    scan = load_fixture("fulfillment_events_create.json")
    happened = (now - timedelta(hours=1)).isoformat()
    scan.update(
        id=9_100_000_001,
        fulfillment_id=FULFILLMENT_ID,
        order_id=ORDER_ID,
        status="delivered",
        happened_at=happened,
        created_at=happened,
        updated_at=happened,
    )
    return order, fulfillment, scan


def test_scan_processed_while_its_fulfilment_is_being_stored_is_applied(app: Flask):
    order, fulfillment, scan = _payloads(datetime.now(UTC))
    with app.app_context():
        shop = Shop(domain=SHOP, is_installed=True, name="Snow Devil")
        db.session.add(shop)
        db.session.commit()
        shop_id = shop.id
        on_order_changed(shop, order)
        db.session.commit()
        db.session.remove()

    scan_done = threading.Event()
    errors: list[BaseException] = []

    def second_worker() -> None:
        try:
            with app.app_context():
                on_fulfillment_event_created(db.session.get(Shop, shop_id), scan)
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            scan_done.set()

    with app.app_context():
        # The first worker has stored the fulfilment (and read its scans: none yet) but not committed...
        on_fulfillment_changed(db.session.get(Shop, shop_id), fulfillment)
        db.session.flush()
        thread = threading.Thread(target=second_worker, daemon=True)
        thread.start()
        # ...while the second processes the scan (it must wait for the first, or find the fulfilment after).
        scan_done.wait(1.0)
        db.session.commit()
        db.session.remove()
    thread.join(20)
    assert not thread.is_alive() and not errors, errors

    with app.app_context():
        state = db.session.execute(
            select(Fulfillment.shipment_state).where(Fulfillment.shopify_fulfillment_id == FULFILLMENT_ID)
        ).scalar_one()
        db.session.remove()
    assert state == "delivered"
