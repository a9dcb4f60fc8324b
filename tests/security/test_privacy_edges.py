"""Privacy requests at their edges: a guest named in another case, a redaction by email of a customer an
earlier data request named by id."""

from __future__ import annotations

import json

from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from app.extensions import db
from app.shopify.models import ComplianceRequest, WebhookEvent
from tests.conftest import load_fixture


def _guest_order(order_id: int, email: str) -> dict:
    payload = load_fixture("orders_create.json")
    payload.update(id=order_id, name=f"#{order_id}", order_number=order_id, email=email, customer=None)
    payload["shipping_address"] = dict(
        payload.get("shipping_address") or {}, name="Frank Case", phone="+66 81 555 0000"
    )
    return payload


def _stored_bodies() -> str:
    return json.dumps([body for (body,) in db.session.execute(select(WebhookEvent.payload)).all()]).lower()


def test_a_guest_redacted_by_an_email_in_another_case_leaves_no_stored_payload(ctx, post_webhook, run_jobs):
    post_webhook("orders/create", _guest_order(5101, "Frank.Case@Alpha.test"))
    run_jobs()
    assert "frank.case@alpha.test" in _stored_bodies()
    redact = dict(load_fixture("customers_redact.json"), orders_to_redact=[])
    redact["customer"] = {"id": None, "email": "frank.case@alpha.test", "phone": None}
    post_webhook("customers/redact", redact)
    run_jobs()
    assert "frank.case@alpha.test" not in _stored_bodies()


def test_a_redaction_by_email_clears_a_report_that_named_the_customer_by_id(ctx, post_webhook, run_jobs):
    post_webhook("orders/create", _guest_order(5102, "ann@alpha.test"))
    run_jobs()
    request = dict(load_fixture("customers_data_request.json"), orders_requested=[])
    request["customer"] = {"id": 4711, "email": "ann@alpha.test", "phone": None}
    post_webhook("customers/data_request", request)
    run_jobs()
    redact = dict(load_fixture("customers_redact.json"), orders_to_redact=[])
    redact["customer"] = {"id": None, "email": "Ann@Alpha.test", "phone": None}
    post_webhook("customers/redact", redact)
    run_jobs()
    reports = db.session.execute(
        select(ComplianceRequest.report).where(ComplianceRequest.topic == "customers/data_request")
    ).scalars()
    assert all(report is None or "ann@alpha.test" not in json.dumps(report).lower() for report in reports)


def fail_quoting(message: str) -> None:
    """A job that fails the way a provider error can: quoting a shopper's address."""
    raise RuntimeError(message)


def test_a_redaction_forgets_failed_jobs_that_quote_the_customer(ctx, post_webhook, run_jobs, redis_conn):
    queue = Queue("notifications", connection=redis_conn)
    quoting = queue.enqueue(fail_quoting, "550 mailbox unavailable: <Frank.Case@Alpha.test>")
    unrelated = queue.enqueue(fail_quoting, "550 mailbox unavailable: <someone@else.test>")
    run_jobs()
    failed = FailedJobRegistry(queue=queue)
    assert {quoting.id, unrelated.id} <= set(failed.get_job_ids())
    redact = dict(load_fixture("customers_redact.json"), orders_to_redact=[])
    redact["customer"] = {"id": None, "email": "frank.case@alpha.test", "phone": None}
    post_webhook("customers/redact", redact)
    run_jobs()
    assert quoting.id not in failed.get_job_ids() and not redis_conn.exists(quoting.key)
    assert unrelated.id in failed.get_job_ids()
    report = db.session.execute(
        select(ComplianceRequest.report).where(ComplianceRequest.topic == "customers/redact")
    ).scalar_one()
    assert report["failed_jobs_forgotten"] == 1
