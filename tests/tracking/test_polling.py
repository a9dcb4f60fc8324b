"""Carrier polling through the adapter interface, against a local server speaking Thailand Post's API."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.orders.models import Fulfillment, TrackingEvent
from app.tracking.polling import TransientCarrierError, configured_trackers, poll_carrier_batch, poll_carriers
from app.tracking.polling.thailand_post import map_status, parse_status_date
from tests.fakes.thailand_post import FakeThailandPost
from tests.tracking.test_timeline import T0, fulfillment_payload, order_payload

NUMBER = "EF582568151TH"


def test_status_codes_and_buddhist_era_dates():
    assert map_status("103") == "shipped" and map_status("201") == "in_transit"
    assert map_status("203") == "returned_to_sender" and map_status("302") == "ready_for_pickup"
    assert map_status("501") == "delivered" and map_status("999") is None and map_status("abc") is None
    assert parse_status_date("19/11/2569 14:05:00+07:00") == datetime(2026, 11, 19, 7, 5, tzinfo=UTC)
    assert parse_status_date("19/11/2026 14:05") == datetime(2026, 11, 19, 7, 5, tzinfo=UTC)


@pytest.fixture()
def carrier_app(app, post_webhook, run_jobs):
    with FakeThailandPost() as fake:
        settings = app.config["SETTINGS"]
        app.config["SETTINGS"] = replace(
            settings,
            extra={"CARRIER_THAILAND_POST_TOKEN": fake.API_TOKEN, "CARRIER_THAILAND_POST_URL": fake.url},
        )
        try:
            post_webhook("orders/create", order_payload(T0))
            post_webhook(
                "fulfillments/create",
                fulfillment_payload(501, [(11, 2), (12, 1)], T0, T0, NUMBER, company="Thailand Post"),
            )
            run_jobs()
            yield fake
        finally:
            app.config["SETTINGS"] = settings


def test_no_credentials_no_polling(ctx):
    assert configured_trackers({}) == {}


def test_polled_scans_move_the_shipment_once(ctx, carrier_app, run_jobs):
    carrier_app.items[NUMBER] = [
        {
            "barcode": NUMBER,
            "status": "103",
            "status_description": "Accepted",
            "status_date": "16/11/2569 11:00:00+07:00",
            "location": "Bang Rak",
        },
        {
            "barcode": NUMBER,
            "status": "201",
            "status_description": "In transit",
            "status_date": "17/11/2569 08:00:00+07:00",
            "location": "Lak Si",
        },
    ]
    shipment = db.session.execute(select(Fulfillment)).scalar_one()
    assert shipment.carrier_code == "thailand_post"
    assert poll_carriers() == {"thailand_post": 1}
    run_jobs()
    db.session.expire_all()
    shipment = db.session.execute(select(Fulfillment)).scalar_one()
    assert shipment.shipment_state == "in_transit"
    assert poll_carrier_batch("thailand_post", [shipment.id]) == 0  # same scans again: nothing new
    events = db.session.execute(select(TrackingEvent).order_by(TrackingEvent.happened_at)).scalars().all()
    assert [(e.source, e.status, e.city) for e in events] == [
        ("carrier:thailand_post", "shipped", "Bang Rak"),
        ("carrier:thailand_post", "in_transit", "Lak Si"),
    ]
    carrier_app.items[NUMBER].append(
        {
            "barcode": NUMBER,
            "status": "501",
            "status_description": "Delivered",
            "status_date": "18/11/2569 15:30:00+07:00",
            "location": "Chatuchak",
        }
    )
    assert poll_carrier_batch("thailand_post", [shipment.id]) == 1
    db.session.expire_all()
    assert db.session.execute(select(Fulfillment.shipment_state)).scalar_one() == "delivered"


def test_carrier_outage_is_transient_so_rq_retries(ctx, carrier_app):
    shipment = db.session.execute(select(Fulfillment)).scalar_one()
    carrier_app.fail_next = [503]
    with pytest.raises(TransientCarrierError):
        poll_carrier_batch("thailand_post", [shipment.id])
    assert db.session.execute(select(TrackingEvent)).first() is None
