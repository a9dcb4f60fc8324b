"""POST /webhooks: signatures, headers, the durable inbox, duplicates, outages (DESIGN.md §2)."""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.db import utcnow
from app.extensions import db
from app.orders.models import Fulfillment, Order
from app.shopify.inbox import requeue_stranded_webhook_events
from app.shopify.models import Shop, WebhookEvent
from app.shopify.signatures import webhook_hmac
from tests.conftest import SHOP, RedisServer, free_port, load_fixture, webhook_headers


def _events(ctx) -> list[WebhookEvent]:
    return db.session.execute(select(WebhookEvent).order_by(WebhookEvent.id)).scalars().all()


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_signed_order_webhook_is_stored_queued_and_processed(ctx, post_webhook, run_jobs):
    payload = load_fixture("orders_create.json")
    response = post_webhook("orders/create", payload)
    assert response.status_code == 200
    assert response.json["status"] == "queued"
    [event] = _events(ctx)
    assert event.status == "received" and event.topic == "orders/create"
    assert run_jobs() == 1
    db.session.expire_all()
    [event] = _events(ctx)
    assert event.status == "processed"
    order = db.session.execute(select(Order)).scalar_one()
    assert order.shopify_order_id == 820982911946154508  # above 2**53: kept exact
    assert order.name == "#9999" and order.email == "jon@example.com"
    assert str(order.total_price) == "414.95" and order.currency == "USD"
    assert order.shop_id == db.session.execute(select(Shop.id).where(Shop.domain == SHOP)).scalar_one()


def test_forged_signature_is_refused_and_nothing_is_stored(ctx, client):
    body = json.dumps(load_fixture("orders_create.json")).encode()
    headers = webhook_headers("orders/create", body, secret="not-the-secret")
    response = client.post("/webhooks", data=body, headers=headers)
    assert response.status_code == 401
    assert _count(WebhookEvent) == 0 and _count(Shop) == 0


def test_missing_signature_is_refused(ctx, client):
    body = b'{"id": 1}'
    headers = webhook_headers("orders/create", body)
    del headers["X-Shopify-Hmac-Sha256"]
    assert client.post("/webhooks", data=body, headers=headers).status_code == 401
    assert _count(WebhookEvent) == 0


def test_body_tampered_after_signing_is_refused(ctx, client):
    body = json.dumps(load_fixture("orders_create.json")).encode()
    headers = webhook_headers("orders/create", body)
    tampered = body.replace(b"jon@example.com", b"eve@example.com")
    assert client.post("/webhooks", data=tampered, headers=headers).status_code == 401
    assert _count(WebhookEvent) == 0


def test_previous_secret_is_accepted_during_rotation(make_app, redis_conn):
    rotated = make_app(shopify_api_secret="new-secret", shopify_api_secret_previous="test-secret")
    body = json.dumps(load_fixture("orders_create.json")).encode()
    client = rotated.test_client()
    assert client.post("/webhooks", data=body, headers=webhook_headers("orders/create", body)).status_code == 200
    new = webhook_headers("orders/create", body, secret="new-secret")
    assert client.post("/webhooks", data=body, headers=new).status_code == 200
    stale = webhook_headers("orders/create", body, secret="older-secret")
    assert client.post("/webhooks", data=body, headers=stale).status_code == 401


def test_missing_headers_are_all_named(ctx, client):
    body = b'{"id": 1}'
    headers = {"X-Shopify-Hmac-Sha256": webhook_hmac("test-secret", body), "Content-Type": "application/json"}
    response = client.post("/webhooks", data=body, headers=headers)
    assert response.status_code == 400
    assert set(response.json["missing"]) == {
        "X-Shopify-Topic",
        "X-Shopify-Shop-Domain",
        "X-Shopify-Webhook-Id",
        "X-Shopify-API-Version",
    }
    assert _count(WebhookEvent) == 0


def test_shop_domain_must_be_a_myshopify_domain(ctx, client):
    body = b'{"id": 1}'
    for bad in (
        "evil.com",
        "shop.myshopify.com.evil.com",
        "https://x.myshopify.com/../",
        "a b.myshopify.com",
    ):
        headers = webhook_headers("orders/create", body, shop=bad)
        assert client.post("/webhooks", data=body, headers=headers).status_code == 400, bad
    assert _count(WebhookEvent) == 0


def test_topic_may_come_from_the_path(ctx, client, run_jobs):
    body = json.dumps(load_fixture("orders_create.json")).encode()
    headers = webhook_headers("orders/create", body)
    del headers["X-Shopify-Topic"]
    assert client.post("/webhooks/orders/create", data=body, headers=headers).status_code == 200
    run_jobs()
    assert _count(Order) == 1


def test_intake_layer_answers_only_for_webhook_paths(ctx, client):
    assert client.get("/webhooks").status_code == 405
    assert client.get("/webhooks").headers["Allow"] == "POST"
    assert client.post("/webhooksx", data=b"{}").status_code == 404  # not ours: Flask's own 404
    assert client.get("/healthz").status_code in (200, 503)  # everything else still reaches Flask


def test_oversized_body_is_refused_before_it_is_read(ctx, client):
    body = b"x" * (5 * 1024 * 1024 + 1)
    response = client.post("/webhooks", data=body, headers=webhook_headers("orders/create", body))
    assert response.status_code == 413
    assert response.json == {"error": "payload too large"}
    assert _count(WebhookEvent) == 0


def test_duplicate_webhook_is_acknowledged_once(ctx, post_webhook, run_jobs, redis_conn):
    payload = load_fixture("orders_create.json")
    webhook_id = str(uuid.uuid4())
    first = post_webhook("orders/create", payload, webhook_id=webhook_id)
    second = post_webhook("orders/create", payload, webhook_id=webhook_id)
    third = post_webhook("orders/create", payload, webhook_id=webhook_id)
    assert [r.status_code for r in (first, second, third)] == [200, 200, 200]
    assert second.json["status"] == "duplicate"
    assert _count(WebhookEvent) == 1
    assert run_jobs() == 1  # one event, one job
    assert _count(Order) == 1


def test_same_webhook_id_in_two_shops_is_two_events(ctx, post_webhook, run_jobs):
    payload = load_fixture("orders_create.json")
    post_webhook("orders/create", payload, webhook_id="same-id")
    post_webhook("orders/create", payload, webhook_id="same-id", shop="other-store.myshopify.com")
    assert _count(WebhookEvent) == 2
    run_jobs()
    assert _count(Order) == 2  # one per shop: shops never share rows


def test_malformed_json_with_valid_signature_is_kept_failed_and_acknowledged(ctx, post_webhook, run_jobs):
    response = post_webhook("orders/create", b'{"id": 12, "name": ')
    assert response.status_code == 200
    assert response.json["status"] == "failed"
    [event] = _events(ctx)
    assert event.status == "failed" and event.error.startswith("malformed JSON")
    assert event.payload == '{"id": 12, "name": '
    assert run_jobs() == 0


def test_payload_without_an_id_fails_for_good_without_retries(ctx, post_webhook, run_jobs):
    assert post_webhook("orders/create", {"name": "#1"}).status_code == 200
    run_jobs()
    db.session.expire_all()
    [event] = _events(ctx)
    assert event.status == "failed" and "id" in event.error and event.attempts == 1


def test_unknown_topic_is_kept_as_failed(ctx, post_webhook):
    assert post_webhook("carts/create", {"id": 5}).status_code == 200  # a topic we never subscribe to
    [event] = _events(ctx)
    assert event.status == "failed" and "no handler" in event.error


def _orders_updated(updated_at: str, financial_status: str, **extra) -> dict:
    payload = load_fixture("orders_create.json")
    payload.update(updated_at=updated_at, financial_status=financial_status, **extra)
    return payload


def test_out_of_order_and_late_deliveries_converge(ctx, post_webhook, run_jobs):
    versions = [
        _orders_updated("2026-11-01T10:00:00Z", "pending"),
        _orders_updated("2026-11-01T11:00:00Z", "paid"),
        _orders_updated("2026-11-01T12:00:00+07:00", "partially_refunded"),  # 05:00Z: oldest
        _orders_updated("2026-11-01T12:30:00Z", "refunded"),
    ]
    final_states = set()
    for seed in range(4):
        order = random.Random(seed).sample(versions, len(versions))
        deliveries = order + order[:2]  # late duplicates (new webhook ids) too
        for payload in deliveries:
            post_webhook("orders/updated", payload)
        run_jobs()
        db.session.expire_all()
        row = db.session.execute(select(Order)).scalar_one()
        final_states.add((row.financial_status, row.shopify_updated_at.isoformat()))
        db.session.execute(Order.__table__.delete())
        db.session.commit()
    assert final_states == {("refunded", "2026-11-01T12:30:00+00:00")}


def test_fulfillment_before_its_order_links_up(ctx, post_webhook, run_jobs):
    fulfillment = load_fixture("fulfillments_create.json")
    post_webhook("fulfillments/create", fulfillment)
    run_jobs()
    post_webhook("orders/create", load_fixture("orders_create.json"))
    run_jobs()
    update = dict(fulfillment, status="success", shipment_status="delivered", updated_at="2022-01-02T10:00:00Z")
    older = dict(fulfillment, status="pending", updated_at="2021-12-31T10:00:00Z")
    post_webhook("fulfillments/update", update)
    post_webhook("fulfillments/update", older)
    run_jobs()
    db.session.expire_all()
    row = db.session.execute(select(Fulfillment)).scalar_one()
    assert row.shopify_order_id == 820982911946154508
    assert (row.status, row.shipment_status) == ("success", "delivered")
    assert row.tracking_company == "UPS"


@pytest.fixture()
def private_redis():
    """A Redis server of our own, so the test can stop and restart it."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def test_redis_down_during_intake_loses_nothing(make_app, private_redis):
    import redis as redis_lib
    from rq import Queue, SimpleWorker

    from app.jobs import QUEUES

    app = make_app(redis_url=private_redis.url)
    client = app.test_client()
    private_redis.stop()
    payloads = []
    for n in range(5):
        payload = load_fixture("orders_create.json")
        payload.update(id=1000 + n, name=f"#{1000 + n}", order_number=1000 + n)
        payloads.append(payload)
        body = json.dumps(payload).encode()
        response = client.post("/webhooks", data=body, headers=webhook_headers("orders/create", body))
        assert response.status_code == 200
        assert response.json["status"] == "stored"
    with app.app_context():
        assert _count(WebhookEvent) == 5
        assert db.session.execute(select(func.count()).where(WebhookEvent.status == "received")).scalar() == 5
        # Redis is back; the sweeper (a periodic job) re-enqueues what was stranded.
        private_redis.start()
        db.session.execute(WebhookEvent.__table__.update().values(received_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        assert requeue_stranded_webhook_events() == 5
        assert requeue_stranded_webhook_events() == 0  # already queued: not twice
        conn = redis_lib.Redis.from_url(private_redis.url)
        SimpleWorker([Queue(q, connection=conn) for q in QUEUES], connection=conn).work(burst=True)
        db.session.expire_all()
        statuses = db.session.execute(select(WebhookEvent.status)).scalars().all()
        assert statuses == ["processed"] * 5
        assert sorted(db.session.execute(select(Order.order_number)).scalars()) == [
            1000,
            1001,
            1002,
            1003,
            1004,
        ]


def test_database_down_answers_5xx_so_shopify_retries(make_app):
    port = free_port()  # nothing listens here
    app = make_app(database_url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/nothing")
    body = json.dumps(load_fixture("orders_create.json")).encode()
    response = app.test_client().post("/webhooks", data=body, headers=webhook_headers("orders/create", body))
    assert response.status_code == 503
    assert "retry" in response.json["error"]


def test_healthz_reports_database_and_redis(client, make_app):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "ok"}
    broken = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0").test_client().get("/healthz")
    assert broken.status_code == 503
    assert broken.json["database"] == "ok" and broken.json["redis"].startswith("error")


def test_inbox_payloads_are_compressed_with_lz4(ctx):
    """Migration 0006: LZ4 instead of pglz for the raw bodies, cheaper for PostgreSQL on every insert."""
    from sqlalchemy import text

    compression = db.session.execute(
        text(
            "SELECT attcompression FROM pg_attribute"
            " WHERE attrelid = 'webhook_events'::regclass AND attname = 'payload'"
        )
    ).scalar_one()
    assert compression == "l"
