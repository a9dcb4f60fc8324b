"""Shopify Flow triggers: Flow's lifecycle callback (signed like a webhook) says which triggers a shop's workflows
use; catalogue events go out with `flowTriggerReceive` (handle + payload, against the fake Admin API) only for
those, once each, retried through throttling, failed on userErrors or an oversized payload, and the destination
is switched off after repeated failures, like the webhook and Klaviyo. Every catalogue event has its extension."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.integrations.catalogue import CATALOGUE, flow_handle
from app.integrations.models import FlowTriggerUse, IntegrationSettings, OutgoingEvent
from app.integrations.services import DISABLE_AFTER, deliver_outgoing_event, flow_payload
from app.jobs import QUEUES
from app.shopify.models import Shop
from app.shopify.shops import get_shop, shop_id_for_domain
from app.shopify.signatures import webhook_hmac
from app.shopify.tokens import ensure_offline_token
from tests.conftest import SHOP
from tests.fakes.shopify import make_id_token
from tests.notifications.conftest import release_scheduled_jobs
from tests.shopify.conftest import fake_shopify  # noqa: F401  (fixture)
from tests.tracking.test_timeline import ORDER_ID, event_payload, fulfillment_payload, order_payload

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

EXTENSIONS = Path(__file__).resolve().parents[2] / "extensions"
DELIVERED = flow_handle("shipment.delivered")


@pytest.fixture()
def flow_app(make_app, fake_shopify):  # noqa: F811
    return make_app(shopify_admin_origin=fake_shopify.origin)


@pytest.fixture()
def work(flow_app, redis_conn):
    def run() -> None:
        with flow_app.app_context():
            SimpleWorker([Queue(q, connection=redis_conn) for q in QUEUES], connection=redis_conn).work(burst=True)
            db.session.remove()

    return run


@pytest.fixture()
def deliver(flow_app, post_webhook):
    client = flow_app.test_client()

    def send(topic, payload):
        assert post_webhook(topic, payload, via=client).status_code == 200

    return send


@pytest.fixture()
def shop_id(flow_app) -> int:
    with flow_app.app_context():
        shop_id = shop_id_for_domain(db.session, SHOP)
        ensure_offline_token(get_shop(db.session, SHOP), make_id_token(SHOP))
        db.session.get(Shop, shop_id).is_installed = True
        db.session.commit()
        return shop_id


def lifecycle(app, handle: str, enabled: bool, *, at: datetime | None = None, secret: str | None = None, **extra):
    body = json.dumps(
        {
            "flow_trigger_definition_id": handle,
            "has_enabled_flow": enabled,
            "shop_id": 690933842,
            "shopify_domain": SHOP,
            "timestamp": (at or datetime.now(UTC)).isoformat(),
            **extra,
        }
    ).encode()
    secret = secret or app.config["SETTINGS"].shopify_api_secret
    return app.test_client().post(
        "/flow/lifecycle",
        data=body,
        headers={"X-Shopify-Hmac-Sha256": webhook_hmac(secret, body), "Content-Type": "application/json"},
    )


def _uses(app) -> dict[str, bool]:
    with app.app_context():
        return {u.handle: u.has_enabled_flow for u in db.session.execute(select(FlowTriggerUse)).scalars()}


def _rows(app) -> list[OutgoingEvent]:
    with app.app_context():
        rows = db.session.execute(select(OutgoingEvent).order_by(OutgoingEvent.id)).scalars().all()
        db.session.expunge_all()
        return rows


def _delivered_parcel(deliver, fid: int = 501, order_id: int = ORDER_ID) -> None:
    start = utcnow() - timedelta(hours=8)
    deliver("orders/create", order_payload(start, id=order_id))
    deliver(
        "fulfillments/create", fulfillment_payload(fid, [(11, 2)], start, start, f"SHP50123456{fid}", order_id=order_id)
    )
    deliver(
        "fulfillment_events/create",
        event_payload(fid * 10 + 1, fid, "out_for_delivery", start + timedelta(hours=2), order_id=order_id),
    )
    deliver(
        "fulfillment_events/create",
        event_payload(fid * 10 + 2, fid, "delivered", start + timedelta(hours=5), order_id=order_id),
    )


def test_the_lifecycle_callback_is_verified_recorded_and_the_newest_wins(flow_app, shop_id):
    now = datetime.now(UTC)
    assert lifecycle(flow_app, DELIVERED, True, secret="forged-secret").status_code == 401
    assert _uses(flow_app) == {}
    answer = lifecycle(flow_app, DELIVERED, True, at=now)
    assert answer.status_code == 200 and answer.get_json()["recorded"] is True
    assert _uses(flow_app) == {DELIVERED: True}
    stale = lifecycle(flow_app, DELIVERED, False, at=now - timedelta(minutes=5))  # an older callback, late
    assert stale.status_code == 200 and stale.get_json()["changed"] is False
    assert _uses(flow_app) == {DELIVERED: True}
    assert lifecycle(flow_app, DELIVERED, False, at=now + timedelta(minutes=1)).get_json()["changed"] is True
    assert _uses(flow_app) == {DELIVERED: False}
    with flow_app.app_context():  # the callback alone sets the shop up for events (its settings row)
        assert db.session.execute(select(IntegrationSettings.shop_id)).scalar() == shop_id


def test_malformed_or_foreign_callbacks_are_refused_with_a_reason(flow_app, shop_id):
    assert lifecycle(flow_app, "someone-elses-trigger", True).status_code == 422
    assert lifecycle(flow_app, DELIVERED, "yes").status_code == 400
    assert lifecycle(flow_app, DELIVERED, True, shopify_domain="evil.example.com").status_code == 400
    assert lifecycle(flow_app, DELIVERED, True, shopify_domain="not-installed.myshopify.com").status_code == 404
    body = b"not json"
    secret = flow_app.config["SETTINGS"].shopify_api_secret
    answer = flow_app.test_client().post(
        "/flow/lifecycle", data=body, headers={"X-Shopify-Hmac-Sha256": webhook_hmac(secret, body)}
    )
    assert answer.status_code == 400 and answer.get_json()["error"]
    assert _uses(flow_app) == {}


def test_events_go_to_flow_only_for_triggers_in_use_once_each(flow_app, shop_id, deliver, work, fake_shopify):  # noqa: F811
    assert lifecycle(flow_app, DELIVERED, True).status_code == 200
    _delivered_parcel(deliver)
    work()
    deliver("fulfillment_events/create", event_payload(5012, 501, "delivered", utcnow() - timedelta(hours=3)))  # again
    work()
    runs = fake_shopify.shop(SHOP).flow_runs
    assert [handle for handle, _ in runs] == [DELIVERED]  # out for delivery: no workflow uses it
    _, payload = runs[0]
    assert payload["order_id"] == ORDER_ID and payload["Event"] == "shipment.delivered"
    assert payload["Shipment status"] == "delivered" and payload["Tracking number"] == "SHP50123456501"
    (call,) = [r for r in fake_shopify.graphql_requests(SHOP) if "flowTriggerReceive" in r.json["query"]]
    assert call.json["variables"]["handle"] == DELIVERED and call.json["variables"]["payload"] == payload
    assert [(r.destination, r.status) for r in _rows(flow_app)] == [("shopify_flow", "delivered")]

    assert lifecycle(flow_app, DELIVERED, False).status_code == 200  # the merchant turned the workflow off
    _delivered_parcel(deliver, fid=601, order_id=ORDER_ID + 1)
    work()
    assert len(fake_shopify.shop(SHOP).flow_runs) == 1


def test_a_throttled_call_is_retried_and_delivered_once(flow_app, shop_id, deliver, work, fake_shopify, redis_conn):  # noqa: F811
    lifecycle(flow_app, DELIVERED, True)
    fake_shopify.set_bucket(SHOP, maximum=1000, available=0, restore_rate=1)
    _delivered_parcel(deliver)
    work()
    (row,) = _rows(flow_app)
    assert row.status == "pending" and row.attempts == 1 and "throttled" in (row.last_error or "").lower()
    assert fake_shopify.shop(SHOP).flow_runs == []
    fake_shopify.set_bucket(SHOP)
    assert release_scheduled_jobs(redis_conn) >= 1
    work()
    (row,) = _rows(flow_app)
    assert row.status == "delivered" and row.attempts == 2
    assert len(fake_shopify.shop(SHOP).flow_runs) == 1


def test_user_errors_fail_the_event_and_repeated_failures_switch_flow_off(
    flow_app,
    shop_id,
    deliver,
    work,
    fake_shopify,  # noqa: F811
):
    lifecycle(flow_app, DELIVERED, True)
    fake_shopify.shop(SHOP).flow_triggers = {"a-trigger-not-deployed"}  # the extension was never deployed
    for n in range(DISABLE_AFTER + 1):
        _delivered_parcel(deliver, fid=700 + n, order_id=ORDER_ID + 10 + n)
        work()
    rows = _rows(flow_app)
    assert [r.status for r in rows[:DISABLE_AFTER]] == ["failed"] * DISABLE_AFTER
    assert "Invalid handle" in rows[0].last_error and rows[0].attempts == 1
    assert len(rows) == DISABLE_AFTER  # switched off: the next event is not even planned
    with flow_app.app_context():
        settings = db.session.execute(select(IntegrationSettings)).scalar_one()
        assert "shopify_flow" in settings.disabled


def test_a_payload_over_flows_limit_fails_without_a_call(flow_app, shop_id, fake_shopify):  # noqa: F811
    lifecycle(flow_app, DELIVERED, True)
    with flow_app.app_context():
        row = OutgoingEvent(
            shop_id=shop_id,
            destination="shopify_flow",
            event="shipment.delivered",
            dedupe_key="big",
            payload={"id": "big", "event": "shipment.delivered", "order": {"id": 1}, "data": {"note": "x" * 60_000}},
            status="pending",
            attempts=0,
        )
        db.session.add(row)
        db.session.commit()
        assert deliver_outgoing_event(row.id) == "failed"
        assert "over Flow's" in db.session.get(OutgoingEvent, row.id).last_error
    assert not [r for r in fake_shopify.graphql_requests(SHOP) if "flowTriggerReceive" in r.json["query"]]


def test_the_fake_checks_flows_wire_shape(flow_app, shop_id, fake_shopify):  # noqa: F811
    from app.integrations.services import FLOW_TRIGGER_RECEIVE
    from app.shopify.graphql import AdminClient, UserErrors

    with flow_app.app_context(), AdminClient(shop_id) as client:
        assert client.mutate(
            FLOW_TRIGGER_RECEIVE, {"handle": DELIVERED, "payload": {"Event": "x"}}, "flowTriggerReceive"
        )
        with pytest.raises(UserErrors, match="50 KB"):
            client.mutate(
                FLOW_TRIGGER_RECEIVE, {"handle": DELIVERED, "payload": {"x": "y" * 51_000}}, "flowTriggerReceive"
            )
        with pytest.raises(UserErrors, match="JSON object"):
            client.mutate(FLOW_TRIGGER_RECEIVE, {"handle": DELIVERED, "payload": ["a"]}, "flowTriggerReceive")


def test_every_catalogue_event_has_a_flow_trigger_extension_that_parses():
    handle_shape = re.compile(r"\A[a-z0-9-]{1,30}\Z")
    sample = flow_payload({"id": "e", "event": "x", "order": {"id": 1}, "shipment": {}, "data": {}})
    text_keys = set(sample) - {"order_id"}
    for entry in CATALOGUE:
        handle = flow_handle(entry.name)
        toml = tomllib.loads((EXTENSIONS / handle / "shopify.extension.toml").read_text())
        (extension,) = toml["extensions"]
        assert extension["type"] == "flow_trigger" and extension["handle"] == handle, entry.name
        assert handle_shape.match(handle) and extension["name"] and extension["description"]
        fields = toml["settings"]["fields"]
        assert {"type": "order_reference"} in fields
        assert {f["key"] for f in fields if f["type"] == "single_line_text_field"} == text_keys
    flow_dirs = {p.parent.name for p in EXTENSIONS.glob("*/shopify.extension.toml") if 'flow_trigger"' in p.read_text()}
    assert flow_dirs == {flow_handle(e.name) for e in CATALOGUE}  # none left over from a removed event
    (callback,) = tomllib.loads((EXTENSIONS / "flow-lifecycle" / "shopify.extension.toml").read_text())["extensions"]
    assert callback["type"] == "flow_trigger_lifecycle_callback" and callback["url"] == "/flow/lifecycle"
