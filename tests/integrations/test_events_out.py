"""Events other tools can use: a parcel's news reaches the merchant's signed webhook and Klaviyo once each,
through outages (retried with backoff), and a destination that keeps refusing is switched off with an alert."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select

from app.alerts.models import MerchantAlert
from app.db import utcnow
from app.extensions import db
from app.integrations.models import IntegrationSettings, OutgoingEvent
from app.integrations.services import DISABLE_AFTER, new_webhook_secret, set_klaviyo_key, webhook_secret
from app.jobs import QUEUES
from app.orders.privacy import CustomerRef
from app.outbound import sign
from app.shopify.models import Shop
from tests.alerts.conftest import WebhookReceiver
from tests.conftest import SHOP
from tests.fakes.klaviyo import KEY, FakeKlaviyo
from tests.notifications.conftest import release_scheduled_jobs
from tests.shopify.conftest import fake_shopify  # noqa: F401  (fixture)
from tests.tracking.test_timeline import ORDER_ID, event_payload, fulfillment_payload, order_payload

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture()
def receiver():
    with WebhookReceiver() as server:
        yield server


@pytest.fixture()
def klaviyo():
    with FakeKlaviyo() as server:
        yield server


@pytest.fixture()
def events_app(make_app, fake_shopify, klaviyo):  # noqa: F811
    return make_app(
        shopify_admin_origin=fake_shopify.origin,
        extra={"INTEGRATIONS_ALLOW_PRIVATE": "1", "KLAVIYO_API_ORIGIN": klaviyo.url},
    )


@pytest.fixture()
def work(events_app, redis_conn):
    def run() -> None:
        with events_app.app_context():
            SimpleWorker([Queue(q, connection=redis_conn) for q in QUEUES], connection=redis_conn).work(burst=True)
            db.session.remove()

    return run


@pytest.fixture()
def deliver(events_app, post_webhook):
    client = events_app.test_client()

    def send(topic, payload):
        assert post_webhook(topic, payload, via=client).status_code == 200

    return send


def _set_up(app, *, webhook_url=None, klaviyo_key=None, events=None) -> str | None:
    with app.app_context():
        shop_id = db.session.execute(select(Shop.id).where(Shop.domain == SHOP)).scalar()
        if shop_id is None:
            shop = Shop(domain=SHOP, is_installed=True)
            db.session.add(shop)
            db.session.flush()
            shop_id = shop.id
        settings = IntegrationSettings(shop_id=shop_id, webhook_url=webhook_url, events=events)
        if webhook_url:
            new_webhook_secret(settings)
        set_klaviyo_key(settings, klaviyo_key)
        db.session.add(settings)
        db.session.commit()
        return webhook_secret(settings)


def _rows(app) -> list[OutgoingEvent]:
    with app.app_context():
        rows = db.session.execute(select(OutgoingEvent).order_by(OutgoingEvent.id)).scalars().all()
        db.session.expunge_all()
        return rows


def _delivered_parcel(deliver, start, fid=501) -> None:
    deliver("orders/create", order_payload(start))
    deliver("fulfillments/create", fulfillment_payload(fid, [(11, 2)], start, start, "SHP5012345678"))
    deliver(
        "fulfillment_events/create", event_payload(fid * 10 + 1, fid, "out_for_delivery", start + timedelta(hours=2))
    )
    deliver("fulfillment_events/create", event_payload(fid * 10 + 2, fid, "delivered", start + timedelta(hours=5)))


def test_a_delivered_parcel_reaches_the_webhook_signed_and_once(events_app, deliver, work, receiver):
    secret = _set_up(events_app, webhook_url=receiver.url + "/events")
    start = utcnow() - timedelta(hours=8)
    _delivered_parcel(deliver, start)
    work()
    deliver("fulfillment_events/create", event_payload(5012, 501, "delivered", start + timedelta(hours=5)))  # again
    work()
    names = [json.loads(body)["event"] for _, body in receiver.requests]
    assert sorted(names) == ["shipment.delivered", "shipment.out_for_delivery"], names
    headers, body = next((h, b) for h, b in receiver.requests if json.loads(b)["event"] == "shipment.delivered")
    assert headers["x-aftercart-signature"] == sign(secret, headers["x-aftercart-timestamp"], body)
    payload = json.loads(body)
    assert (
        payload["version"] == "2026-12" and payload["shop"] == SHOP and payload["id"] == headers["x-aftercart-event-id"]
    )
    assert payload["order"]["id"] == ORDER_ID and payload["order"]["email"]
    assert payload["shipment"]["tracking_number"] == "SHP5012345678" and payload["shipment"]["status"] == "delivered"
    assert {row.status for row in _rows(events_app)} == {"delivered"}


def test_an_outage_is_retried_with_backoff_and_the_event_keeps_its_id(events_app, deliver, work, receiver, redis_conn):
    _set_up(events_app, webhook_url=receiver.url + "/events", events=["shipment.delivered"])
    receiver.status = 503
    _delivered_parcel(deliver, utcnow() - timedelta(hours=8))
    work()
    (row,) = _rows(events_app)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "webhook answered 503")
    assert row.next_attempt_at > utcnow() + timedelta(seconds=20)  # the first wait of the backoff
    receiver.status = 200
    assert release_scheduled_jobs(redis_conn) >= 1  # time passes (a survey may be scheduled too)
    work()
    (row,) = _rows(events_app)
    assert (row.status, row.attempts) == ("delivered", 2)
    ids = {headers["x-aftercart-event-id"] for headers, _ in receiver.requests}
    assert len(receiver.requests) == 2 and len(ids) == 1  # the same event twice: the receiver can drop it


def test_a_lost_job_is_sent_by_the_sweeper(events_app, deliver, work, receiver, redis_conn):
    """Redis lost the job (its queue emptied, as a restart without persistence does): the row is the record, and
    the periodic sweep sends it once."""
    _set_up(events_app, webhook_url=receiver.url + "/events", events=["shipment.delivered"])
    _delivered_parcel(deliver, utcnow() - timedelta(hours=8))
    with events_app.app_context():
        intake = [Queue(q, connection=redis_conn) for q in QUEUES if q != "notifications"]
        SimpleWorker(intake, connection=redis_conn).work(burst=True)
        db.session.remove()
    assert Queue("notifications", connection=redis_conn).empty() >= 1  # the event's job, lost
    work()
    assert receiver.requests == []
    from app.integrations.services import requeue_pending_outgoing_events

    with events_app.app_context():
        assert requeue_pending_outgoing_events(now=utcnow()) == 0  # not stale yet: its job may still run
        assert requeue_pending_outgoing_events(now=utcnow() + timedelta(minutes=5)) == 1
    work()
    with events_app.app_context():
        assert requeue_pending_outgoing_events(now=utcnow() + timedelta(minutes=5)) == 0
    assert len(receiver.requests) == 1 and _rows(events_app)[0].status == "delivered"


def test_a_destination_that_keeps_refusing_is_switched_off_and_the_merchant_alerted(
    events_app, deliver, work, receiver
):
    _set_up(events_app, webhook_url=receiver.url + "/events", events=["shipment.delivered"])
    receiver.status = 410  # gone: permanent, no retry
    start = utcnow() - timedelta(days=2)
    deliver("orders/create", order_payload(start))
    for n in range(DISABLE_AFTER + 1):
        fid = 600 + n
        deliver("fulfillments/create", fulfillment_payload(fid, [(11, 1)], start, start, f"SHP50123456{n:02d}"))
        deliver("fulfillment_events/create", event_payload(fid * 10, fid, "delivered", start + timedelta(hours=n + 1)))
        work()
    rows = _rows(events_app)
    assert [row.status for row in rows] == ["failed"] * DISABLE_AFTER  # the sixth was never planned
    assert len(receiver.requests) == DISABLE_AFTER
    with events_app.app_context():
        settings = db.session.execute(select(IntegrationSettings)).scalar_one()
        assert settings.disabled["webhook"]["reason"] == "webhook answered 410"
        alert = db.session.execute(select(MerchantAlert).where(MerchantAlert.kind == "integration_off")).scalar_one()
        assert "webhook answered 410" in alert.detail["note"]


def test_klaviyo_gets_each_event_once_on_the_shoppers_profile_through_throttling(
    events_app, deliver, work, klaviyo, redis_conn
):
    _set_up(events_app, klaviyo_key=KEY)
    klaviyo.throttle = 1
    _delivered_parcel(deliver, utcnow() - timedelta(hours=8))
    work()
    release_scheduled_jobs(redis_conn)
    work()
    names = sorted(e["attributes"]["metric"]["data"]["attributes"]["name"] for e in klaviyo.events)
    assert names == ["Aftercart Shipment Delivered", "Aftercart Shipment Out For Delivery"]
    delivered = next(
        e for e in klaviyo.events if "Delivered" in e["attributes"]["metric"]["data"]["attributes"]["name"]
    )
    assert delivered["attributes"]["profile"]["data"]["attributes"]["email"]
    assert (
        delivered["attributes"]["unique_id"] and delivered["attributes"]["properties"]["event"] == "shipment.delivered"
    )
    assert klaviyo.requests == 3  # one throttled, then each once
    assert {row.status for row in _rows(events_app)} == {"delivered"}


def test_a_wrong_klaviyo_key_fails_at_once_with_klaviyos_reason(events_app, deliver, work, klaviyo):
    _set_up(events_app, klaviyo_key="pk_wrong", events=["shipment.delivered"])
    _delivered_parcel(deliver, utcnow() - timedelta(hours=8))
    work()
    (row,) = _rows(events_app)
    assert row.status == "failed" and row.last_error == "Klaviyo answered 401 Missing or invalid private key."
    assert klaviyo.events == []


def test_no_destination_means_no_rows_and_no_cost(events_app, deliver, work):
    _delivered_parcel(deliver, utcnow() - timedelta(hours=8))
    work()
    assert _rows(events_app) == []


def test_a_customers_events_are_exported_and_erased(events_app, deliver, work, receiver):
    _set_up(events_app, webhook_url=receiver.url + "/events")
    _delivered_parcel(deliver, utcnow() - timedelta(hours=8))
    work()
    from app.integrations.privacy import erase_customer_events, export_customer_events

    with events_app.app_context():
        shop_id = db.session.execute(select(Shop.id).where(Shop.domain == SHOP)).scalar_one()
        customer = CustomerRef(shopify_order_ids=[ORDER_ID])
        exported = export_customer_events(db.session, shop_id, customer)["events_sent_to_the_shops_tools"]
        assert {e["event"] for e in exported} == {"shipment.delivered", "shipment.out_for_delivery"}
        assert erase_customer_events(db.session, shop_id, customer) == 2
        assert erase_customer_events(db.session, shop_id, customer) == 0
        db.session.commit()
    assert _rows(events_app) == []
