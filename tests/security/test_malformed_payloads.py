"""Signed webhooks whose fields we cannot store as sent: the order is kept, cleaned, and the change said;
what cannot be kept fails at once with a one-line reason the merchant can read; only outages are retried."""

from __future__ import annotations

import pytest
import redis as redis_lib
import sqlalchemy as sa
from flask import Flask
from markupsafe import escape
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from app.extensions import db
from app.jobs import QUEUES
from app.orders.models import Customer, Order
from app.shopify.inbox import MAX_REASON, is_permanent, one_line_reason
from app.shopify.models import WebhookEvent
from tests.conftest import SHOP, free_port
from tests.fakes.shopify import make_id_token
from tests.tracking.test_timeline import ORDER_ID, T0, order_payload

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _customer(**changes) -> dict:
    return {"id": 7001, "first_name": "Jon", "email": "jon@example.com", "phone": "+66812345678", **changes}


def _event() -> WebhookEvent:
    db.session.expire_all()
    [event] = db.session.execute(select(WebhookEvent)).scalars().all()
    return event


def _retries_scheduled(redis_conn) -> int:
    return sum(ScheduledJobRegistry(queue=Queue(name, connection=redis_conn)).count for name in QUEUES)


@pytest.mark.parametrize(
    ("changes", "note", "check"),
    [
        (
            {"customer": _customer(first_name="Jo\u0000hn")},
            "customer.first_name: control characters removed",
            lambda order, customer: order.customer_first_name == customer.first_name == "John",
        ),
        (
            {"name": "#" + "9" * 70},
            "order.name: cut to 64 characters",
            lambda order, customer: order.name == "#" + "9" * 63,
        ),
        (
            {"phone": "+66" + "1" * 60, "customer": _customer(phone="+66" + "2" * 60)},
            "order.phone: cut to 40 characters",
            lambda order, customer: len(order.phone) == 40 and len(customer.phone) == 40,
        ),
        (
            {"customer": "notadict"},
            "customer: not an object, dropped",
            lambda order, customer: customer is None and order.email == "jon@example.com",
        ),
        (
            {"email": {"$ne": 1}, "contact_email": "jon@example.com"},
            "email: not text, dropped",
            lambda order, customer: order.email == "jon@example.com",
        ),
    ],
    ids=["nul-in-first-name", "long-name", "long-phone", "customer-not-an-object", "email-an-object"],
)
def test_a_signed_order_with_unusable_fields_is_kept_cleaned_and_says_so(
    ctx, post_webhook, run_jobs, redis_conn, changes, note, check
):
    assert post_webhook("orders/create", order_payload(T0, **changes)).status_code == 200
    run_jobs()
    event = _event()
    assert (event.status, event.attempts, event.error) == ("processed", 1, None)
    assert note in event.notes
    assert _retries_scheduled(redis_conn) == 0
    order = db.session.execute(select(Order).where(Order.shopify_order_id == ORDER_ID)).scalar_one()
    customer = db.session.execute(select(Customer)).scalar_one_or_none()
    assert check(order, customer)
    assert not any("jon@" in n or "\u0000" in n for n in event.notes)  # field names only, never values


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"order_number": 99_999_999_999}, "integer out of range"),  # the database refuses the value
        ({"current_total_price_set": "12.00"}, "AttributeError"),  # a shape the code cannot read
    ],
    ids=["number-out-of-range", "money-not-an-object"],
)
def test_what_cannot_be_kept_fails_at_once_with_one_line_the_merchant_sees(
    fake_app: Flask, install_shop, post_webhook, run_jobs, redis_conn, changes, expected
):
    install_shop()
    client = fake_app.test_client()
    assert post_webhook("orders/create", order_payload(T0, **changes), via=client).status_code == 200
    run_jobs()
    event = _event()
    assert (event.status, event.attempts) == ("failed", 1)  # not retried as if the database were down
    assert _retries_scheduled(redis_conn) == 0
    assert expected in event.error
    assert "\n" not in event.error and len(event.error) <= MAX_REASON
    assert "INSERT" not in event.error and "[SQL" not in event.error  # no statement, no parameters
    page = client.get(f"/app?shop={SHOP}&id_token={make_id_token(SHOP)}")
    assert page.status_code == 200 and str(escape(event.error)).encode() in page.data
    api = client.get(
        "/app/api/webhook-events?status=failed", headers={"Authorization": f"Bearer {make_id_token(SHOP)}"}
    )
    assert api.json["events"][0]["error"] == event.error


def test_outages_stay_transient_and_data_errors_are_permanent(ctx):
    """Real errors, not made-up ones: a database and a Redis that do not answer, and a value PostgreSQL refuses."""
    closed = free_port()
    unreachable = sa.create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{closed}/x", connect_args={"connect_timeout": 1}
    )
    with pytest.raises(sa.exc.OperationalError) as lost:
        unreachable.connect()
    unreachable.dispose()
    with pytest.raises(redis_lib.ConnectionError) as redis_down:
        redis_lib.Redis(port=closed, socket_connect_timeout=1).ping()
    with pytest.raises(sa.exc.DataError) as refused:
        db.session.execute(sa.text("SELECT CAST(:v AS varchar(3))::int"), {"v": "abcdef"})
    db.session.rollback()
    assert not is_permanent(lost.value) and not is_permanent(redis_down.value)
    assert is_permanent(refused.value)
    reason = one_line_reason(refused.value)
    assert reason.startswith("database refused the data: invalid input syntax") and "\n" not in reason
