"""Redis down at the moment a delivery or a detractor answer reaches reviews: the planning row is in the database
first, and the sweeper queues its job once Redis is back; applied once, never twice. The survey of the same
delivery needs no such row: the survey itself is written first and `ask_due_surveys` asks it when due."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from app.events import DomainEvent, dispatch_domain_event, record_event
from app.extensions import db
from app.jobs import QUEUES
from app.reviews.models import ReviewHold, ReviewPlan, ReviewRequest
from app.reviews.services import plan_from_event, requeue_pending_review_plans
from app.shopify.inbox import process_webhook_event
from app.shopify.models import WebhookEvent
from app.surveys.models import Survey
from app.surveys.services import ask_due_surveys
from tests.conftest import RedisServer
from tests.returns.conftest import fulfillment_payload, post
from tests.reviews.conftest import CUSTOMER_ID, two_product_order

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture()
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def fake_app(make_app, fake_shopify, private_redis) -> Iterator[Flask]:
    application = make_app(shopify_admin_origin=fake_shopify.origin, redis_url=private_redis.url)
    with application.app_context():
        yield application
        db.session.remove()


@pytest.fixture()
def work(fake_app, private_redis) -> Callable[[], None]:
    def run() -> None:
        conn = Redis.from_url(private_redis.url)
        SimpleWorker([Queue(q, connection=conn) for q in QUEUES], connection=conn).work(burst=True)
        conn.close()
        db.session.rollback()

    return run


def _count(model) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar()


def _process_stored_webhooks() -> None:
    """What the worker does with each stored webhook (their jobs never reached Redis)."""
    ids = db.session.execute(select(WebhookEvent.id).where(WebhookEvent.status == "received")).scalars().all()
    db.session.rollback()
    for event_id in ids:
        assert process_webhook_event(event_id) == "processed"


def test_a_delivery_handed_to_reviews_while_redis_is_down_still_makes_its_request(
    fake_app, shop_id, shop_domain, work, private_redis
):
    order_id = 7_700_000_000_301
    assert post(fake_app, "orders/create", two_product_order(order_id, 1301), shop=shop_domain).status_code == 200
    work()
    delivered = datetime.now(UTC) - timedelta(hours=2)
    fulfillment = fulfillment_payload(order_id, 4_400_000_000_301, delivered)
    fulfillment["line_items"] = [{"id": i["id"], "quantity": 1} for i in two_product_order(order_id, 0)["line_items"]]

    private_redis.stop()
    assert post(fake_app, "fulfillments/create", fulfillment, shop=shop_domain).status_code == 200
    _process_stored_webhooks()  # the parcel and its survey are stored; the planning job could not be queued
    assert _count(ReviewRequest) == 0
    assert _count(ReviewPlan) >= 1
    (survey,) = db.session.execute(select(Survey)).scalars().all()
    assert survey.status == "scheduled"  # the survey row itself is the record: nothing to lose

    private_redis.start()
    later = datetime.now(UTC) + timedelta(minutes=2)
    queued = requeue_pending_review_plans(later)
    assert queued == _count(ReviewPlan) >= 1
    assert requeue_pending_review_plans(later) == 0  # queued already: not twice
    work()
    (request,) = db.session.execute(select(ReviewRequest)).scalars().all()
    assert request.status == "waiting" and request.delivered_at is not None
    assert abs((request.due_at - (delivered + timedelta(days=7))).total_seconds()) < 5
    assert _count(ReviewPlan) == 0 and requeue_pending_review_plans(later) == 0
    # A late duplicate of the job (a worker lost after its commit) finds no row and changes nothing.
    event_id = (
        db.session.execute(
            select(DomainEvent.id).where(DomainEvent.kind == "shipment.status_changed").order_by(DomainEvent.id)
        )
        .scalars()
        .first()
    )
    assert plan_from_event(event_id) == "skipped"
    assert _count(ReviewRequest) == 1

    # The survey's ask job was lost with Redis too: the periodic ask finds the survey when it is due.
    assert ask_due_surveys(datetime.now(UTC) + timedelta(days=2, hours=1)) == 1
    assert ask_due_surveys(datetime.now(UTC) + timedelta(days=3)) == 0


def test_a_detractor_answer_handed_to_reviews_while_redis_is_down_still_holds_the_shopper(
    fake_app, shop_id, work, private_redis
):
    who = {"email": "mali@example.com", "shopify_customer_id": CUSTOMER_ID, "shopify_order_id": 7_700_000_000_302}
    private_redis.stop()
    record_event(db.session, shop_id, "survey.detractor", "survey:1:detractor:1", data=who)
    db.session.commit()  # its dispatch job is not queued either
    event_id = db.session.execute(select(DomainEvent.id)).scalar_one()
    db.session.rollback()
    assert dispatch_domain_event(event_id) == "dispatched"  # as the events' sweeper does
    assert _count(ReviewHold) == 0 and _count(ReviewPlan) == 1

    private_redis.start()
    assert requeue_pending_review_plans(datetime.now(UTC) + timedelta(minutes=2)) == 1
    work()
    (hold,) = db.session.execute(select(ReviewHold)).scalars().all()
    assert hold.email == "mali@example.com" and hold.released_at is None
    assert _count(ReviewPlan) == 0
