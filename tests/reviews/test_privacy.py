"""Reviews under customers/data_request and customers/redact: the shopper's reviews are listed; on erasure a
published review without contact data keeps its words signed with an initial, every other review of theirs goes,
and so do their photos, private replies, requests and asks."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.reviews.models import Review, ReviewAsk, ReviewPhoto, ReviewReply, ReviewRequest
from app.reviews.services import ReviewEntry, moderate_review, reply_to_review, submit_reviews
from app.shopify.models import ComplianceRequest
from app.storefront.uploads import Upload
from tests.conftest import load_fixture
from tests.returns.conftest import CUSTOMER_ID, SALE_PRODUCT, post
from tests.reviews.conftest import SHIRT_PRODUCT, TOTE_PRODUCT
from tests.reviews.helpers import PNG, sent_request

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _payload(name: str, shop_domain: str) -> dict:
    payload = load_fixture(name)
    payload.update(customer={"id": CUSTOMER_ID, "email": "mali@example.com", "phone": None}, shop_domain=shop_domain)
    return payload


def _three_reviews() -> tuple[Review, Review, Review]:
    request, _ = sent_request()
    photo = [Upload("a.png", "image/png", PNG)]
    kept, contact, pending = submit_reviews(
        db.session,
        request,
        [
            ReviewEntry(SHIRT_PRODUCT, 4, "Soft linen", "Fits well.", photo),
            ReviewEntry(TOTE_PRODUCT, 5, "Great", "Write to mali@example.com for pics"),
            ReviewEntry(SALE_PRODUCT, 2, "Meh", "Thin."),
        ],
        "en",
        "Mali Saetang",
    )
    for review in (kept, contact):
        moderate_review(db.session, review, "published", "owner", None)
    reply_to_review(db.session, kept, "Private note to Mali", public=False, by="owner")
    reply_to_review(db.session, kept, "Thanks!", public=True, by="owner")
    db.session.commit()
    return kept, contact, pending


def test_data_request_lists_the_shoppers_reviews(fake_app, delivered_order, work, shop_domain):
    delivered_order(days_ago=9)
    _three_reviews()
    work()
    payload = dict(_payload("customers_data_request.json", shop_domain), orders_requested=[])
    assert post(fake_app, "customers/data_request", payload, shop=shop_domain).status_code == 200
    work()
    report = db.session.execute(
        select(ComplianceRequest.report).where(ComplianceRequest.topic == "customers/data_request")
    ).scalar_one()
    assert sorted(r["rating"] for r in report["reviews"]) == [2, 4, 5]
    assert report["review_requests"][0]["status"] == "completed"


def test_redact_keeps_only_published_words_without_contact_data_signed_with_an_initial(
    fake_app, delivered_order, work, shop_domain
):
    delivered_order(days_ago=9)
    kept, contact, pending = _three_reviews()
    work()
    payload = dict(_payload("customers_redact.json", shop_domain), orders_to_redact=[])
    assert post(fake_app, "customers/redact", payload, shop=shop_domain).status_code == 200
    work()
    db.session.expire_all()
    remaining = db.session.execute(select(Review)).scalars().all()
    assert [r.id for r in remaining] == [kept.id]
    review = remaining[0]
    assert (review.title, review.body, review.author_name) == ("Soft linen", "Fits well.", "M.")
    assert review.email is None and review.shopify_customer_id is None and review.is_redacted
    assert db.session.execute(select(ReviewPhoto)).first() is None
    assert [r.body for r in db.session.execute(select(ReviewReply)).scalars()] == ["Thanks!"]
    assert db.session.execute(select(ReviewRequest)).first() is None
    assert db.session.execute(select(ReviewAsk)).first() is None
