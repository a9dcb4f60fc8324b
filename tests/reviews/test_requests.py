"""When a review request goes out: timed from the real delivered scan (never before it), a fallback when no scan
ever comes, once per product per shopper, held while a return is open or a detractor is unhandled; sent by the
notifications feature (consent, once-only key) to the real SMTP server, with a link to the signed review page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.events import record_event
from app.extensions import db
from app.notifications.models import Notification
from app.returns.services import RequestedLine, create_return_request
from app.reviews.models import ReviewRequest
from app.reviews.services import send_due_review_requests
from tests.reviews.conftest import CUSTOMER_ID, deliver

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _request(fid: int) -> ReviewRequest:
    db.session.expire_all()
    return db.session.execute(select(ReviewRequest).where(ReviewRequest.shopify_fulfillment_id == fid)).scalar_one()


def _review_mails(smtp) -> list:
    return [m for m in smtp.mailbox.messages if "How do you like" in m["Subject"]]


def _sweep(at: datetime, work) -> int:
    sent = send_due_review_requests(now=at)
    work()
    return sent


def test_never_before_delivery_then_days_after_the_delivered_scan(fake_app, shipped, shop_domain, work, smtp):
    order_id, fid, fulfilled = shipped(days_ago=3)
    request = _request(fid)
    assert request.delivered_at is None
    assert abs((request.due_at - (fulfilled + timedelta(days=21))).total_seconds()) < 2
    # In transit: a sweep any day before the fallback sends nothing.
    now = datetime.now(UTC)
    assert _sweep(now + timedelta(days=10), work) == 0
    assert _request(fid).status == "waiting" and _review_mails(smtp) == []
    delivered_at = now - timedelta(hours=1)
    deliver(fake_app, shop_domain, order_id, fid, delivered_at, work)
    request = _request(fid)
    assert abs((request.due_at - (delivered_at + timedelta(days=7))).total_seconds()) < 2
    assert _sweep(delivered_at + timedelta(days=6), work) == 0
    assert _sweep(delivered_at + timedelta(days=7, minutes=1), work) == 1
    request = _request(fid)
    assert request.status == "sent" and {p["title"] for p in request.products} == {"Linen shirt", "Canvas tote"}
    (mail,) = _review_mails(smtp)
    text = mail.get_body(("plain",)).get_content()
    assert "good or bad" in text and "Linen shirt" in text
    link = re.search(r"Write a review: (https://aftercart\.test/l/c/\S+)", text).group(1)
    client = fake_app.test_client()
    target = client.get(link.removeprefix("https://aftercart.test")).headers["Location"]
    page = client.get(target.removeprefix("https://aftercart.test"))
    assert page.status_code == 200 and "Linen shirt" in page.text and 'name="rating_' in page.text
    # A second sweep, or the same one again, sends nothing more.
    assert _sweep(delivered_at + timedelta(days=9), work) == 0
    assert len(_review_mails(smtp)) == 1


def test_the_fallback_timer_asks_when_no_delivered_scan_ever_comes(fake_app, shipped, work, smtp):
    _, fid, fulfilled = shipped(days_ago=2)
    assert _sweep(fulfilled + timedelta(days=20), work) == 0
    assert _sweep(fulfilled + timedelta(days=21, minutes=5), work) == 1
    assert _request(fid).status == "sent" and len(_review_mails(smtp)) == 1


def test_never_twice_for_one_product(fake_app, shipped, shop_domain, work, smtp):
    first_order, first_fid, _ = shipped(days_ago=3, order_id=7_700_000_000_101, number=1101)
    second_order, second_fid, _ = shipped(days_ago=3, order_id=7_700_000_000_102, number=1102)
    now = datetime.now(UTC)
    deliver(fake_app, shop_domain, first_order, first_fid, now, work)
    deliver(fake_app, shop_domain, second_order, second_fid, now, work)
    assert _sweep(now + timedelta(days=8), work) == 1
    statuses = sorted((_request(first_fid).status, _request(second_fid).status))
    assert statuses == ["sent", "skipped"]
    skipped = _request(first_fid) if _request(first_fid).status == "skipped" else _request(second_fid)
    assert skipped.reason == "already asked about every product"
    assert len(_review_mails(smtp)) == 1
    assert db.session.execute(select(func.count()).select_from(Notification)).scalar() >= 1


def test_held_while_a_return_is_open(fake_app, delivered_order, work, smtp):
    from tests.returns.conftest import LINE_TOTE

    order = delivered_order(days_ago=9)
    create_return_request(
        db.session, order, [RequestedLine(LINE_TOTE, 1)], reason_code="too_large", resolution="refund"
    )
    db.session.commit()
    work()
    fid = db.session.execute(select(ReviewRequest.shopify_fulfillment_id)).scalar_one()
    assert _sweep(datetime.now(UTC), work) == 0
    request = _request(fid)
    assert request.status == "held" and request.reason == "return open"
    assert _review_mails(smtp) == []


def test_held_by_a_detractor_until_the_merchant_handles_it(fake_app, shipped, shop_domain, shop_id, work, smtp):
    order_id, fid, _ = shipped(days_ago=3)
    now = datetime.now(UTC)
    deliver(fake_app, shop_domain, order_id, fid, now, work)
    who = {"email": "mali@example.com", "shopify_customer_id": CUSTOMER_ID, "shopify_order_id": order_id}
    record_event(db.session, shop_id, "survey.detractor", f"survey:{order_id}:detractor", data=who)
    db.session.commit()
    work()
    assert _sweep(now + timedelta(days=8), work) == 0
    assert _request(fid).status == "held" and _request(fid).reason == "detractor not yet handled"
    assert _review_mails(smtp) == []
    # Handled: the next sweep asks (every shopper is asked, whatever they scored).
    record_event(db.session, shop_id, "survey.detractor_handled", f"survey:{order_id}:handled", data=who)
    db.session.commit()
    work()
    assert _sweep(now + timedelta(days=8, minutes=15), work) == 1
    assert _request(fid).status == "sent" and len(_review_mails(smtp)) == 1
