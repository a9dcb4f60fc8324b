"""Moderation, replies, the product block's JSON (with schema.org JSON-LD) through the app proxy, and Shopify's
standard rating metafields written through the outbox against the fake Admin API (throttling, userErrors)."""

from __future__ import annotations

import json

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from app.extensions import db
from app.notifications.models import Notification
from app.reviews.jobs import write_rating_metafields
from app.reviews.models import RatingSync, Review, ReviewPhoto
from app.reviews.services import ReviewEntry, moderate_review, reply_to_review, submit_reviews
from app.storefront.uploads import Upload
from tests.conftest import SHOP
from tests.reviews.conftest import SHIRT_PRODUCT, TOTE_PRODUCT
from tests.reviews.helpers import PNG, sent_request
from tests.storefront.test_tracking_page import signed_query

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
OWNER = f"gid://shopify/Product/{SHIRT_PRODUCT}"


def _reviews(ratings: list[int], photos: int = 0) -> list[Review]:
    request, _ = sent_request()
    made = []
    for rating in ratings:
        request.products = [*request.products]
        entry = ReviewEntry(
            SHIRT_PRODUCT, rating, f"{rating} stars", "Text", [Upload("a.png", "image/png", PNG)] * photos
        )
        review = submit_reviews(db.session, request, [entry], "en", "Mali S.")[0]
        made.append(review)
        # the next review of the same product comes from another shopper's request in real life; here a copy
        db.session.flush()
        db.session.execute(Review.__table__.update().where(Review.id == review.id).values(review_request_id=None))
    db.session.commit()
    return made


def _metafields(fake_shopify) -> dict:
    return {key: value for (owner, _, key), value in fake_shopify.shop(SHOP).metafields.items() if owner == OWNER}


def test_published_reviews_reach_the_block_with_json_ld_and_the_metafields(
    fake_app, delivered_order, work, fake_shopify
):
    delivered_order(days_ago=9)
    good, bad, hidden = _reviews([5, 2, 1], photos=1)
    for review in (good, bad):
        moderate_review(db.session, review, "published", "owner", None)
    moderate_review(db.session, hidden, "hidden", "owner", "Spam link")
    reply_to_review(db.session, good, "Thank you!", public=True, by="owner")
    db.session.commit()
    work()
    assert hidden.moderation_reason == "Spam link" and hidden.moderated_by == "owner"
    fields = _metafields(fake_shopify)
    assert json.loads(fields["rating"]["value"]) == {"value": "3.5", "scale_min": "1.0", "scale_max": "5.0"}
    assert fields["rating"]["type"] == "rating"
    assert fields["rating_count"] == {"type": "number_integer", "value": "2"}

    client = fake_app.test_client()
    data = client.get(f"/proxy/reviews/product/{SHIRT_PRODUCT}?" + signed_query({})).get_json()
    assert (data["rating"], data["count"], len(data["reviews"])) == (3.5, 2, 2)
    first = next(r for r in data["reviews"] if r["rating"] == 5)
    assert first["reply"]["body"] == "Thank you!" and first["author"] == "Mali S."
    assert first["photos"] and first["photos"][0].startswith("/apps/aftercart/reviews/photos/")
    photo_path = first["photos"][0].removeprefix("/apps/aftercart")
    assert client.get(f"/proxy{photo_path}?" + signed_query({})).data == PNG
    hidden_photo = db.session.execute(select(ReviewPhoto.id).where(ReviewPhoto.review_id == hidden.id)).scalar_one()
    assert client.get(f"/proxy/reviews/photos/{hidden_photo}?" + signed_query({})).status_code == 404
    # schema.org Product / AggregateRating / Review, as Google's review snippets read it.
    ld = data["jsonld"]
    assert ld["@context"] == "https://schema.org" and ld["@type"] == "Product" and ld["name"]
    rating = ld["aggregateRating"]
    assert rating["@type"] == "AggregateRating" and rating["ratingValue"] == 3.5 and rating["reviewCount"] == 2
    assert rating["bestRating"] == 5 and rating["worstRating"] == 1
    for review in ld["review"]:
        assert review["@type"] == "Review" and review["author"]["@type"] == "Person"
        assert review["reviewRating"]["@type"] == "Rating" and 1 <= review["reviewRating"]["ratingValue"] <= 5
        assert len(review["datePublished"]) == 10
    # No signature: nothing.
    assert client.get(f"/proxy/reviews/product/{SHIRT_PRODUCT}").status_code == 401


def test_a_private_reply_is_emailed_to_the_shopper(fake_app, delivered_order, work, smtp):
    delivered_order(days_ago=9)
    (review,) = _reviews([2])
    reply_to_review(db.session, review, "Sorry! We'll send a new one.", public=False, by="owner")
    db.session.commit()
    work()
    (mail,) = [m for m in smtp.mailbox.messages if "replied to your review" in m["Subject"]]
    assert mail["To"] == "mali@example.com"
    assert "Sorry! We'll send a new one." in mail.get_body(("plain",)).get_content()
    assert db.session.get(Review, review.id).public_reply is None
    assert (
        db.session.execute(select(Notification.trigger).where(Notification.status == "sent"))
        .scalars()
        .all()
        .count("review_reply")
        == 1
    )


def test_hiding_needs_a_reason(fake_app, delivered_order, work):
    from app.reviews.services import ReviewInputError

    delivered_order(days_ago=9)
    (review,) = _reviews([1])
    with pytest.raises(ReviewInputError):
        moderate_review(db.session, review, "hidden", "owner", "  ")


def test_throttled_metafield_write_stays_pending_and_is_retried(
    fake_app, delivered_order, work, fake_shopify, redis_conn
):
    delivered_order(days_ago=9)
    (review,) = _reviews([4])
    fake_shopify.set_bucket(SHOP, maximum=1000, available=0, restore_rate=0.001)
    moderate_review(db.session, review, "published", "owner", None)
    db.session.commit()
    work()
    sync = db.session.execute(select(RatingSync)).scalar_one()
    assert sync.status == "pending" and sync.attempts == 1 and _metafields(fake_shopify) == {}
    assert f"review-rating-{sync.id}" in ScheduledJobRegistry("default", connection=redis_conn).get_job_ids()
    fake_shopify.set_bucket(SHOP)
    assert write_rating_metafields(sync.id) == "done"  # what RQ's retry runs
    assert write_rating_metafields(sync.id) == "skipped"
    assert _metafields(fake_shopify)["rating_count"]["value"] == "1"


def test_a_user_error_fails_the_write_with_shopifys_message(fake_app, delivered_order, work, fake_shopify):
    delivered_order(days_ago=9)
    (review,) = _reviews([4])
    fake_shopify.shop(SHOP).known_products = {f"gid://shopify/Product/{TOTE_PRODUCT}"}  # the shirt is gone
    moderate_review(db.session, review, "published", "owner", None)
    db.session.commit()
    work()
    db.session.expire_all()
    sync = db.session.execute(select(RatingSync)).scalar_one()
    assert sync.status == "failed" and "Owner does not exist" in sync.last_error
    attempts = sync.attempts
    work()
    assert db.session.get(RatingSync, sync.id).attempts == attempts  # not sent again until the reviews change


def test_the_last_published_review_hidden_deletes_the_rating_metafields(
    fake_app, delivered_order, work, fake_shopify, redis_conn
):
    """Nothing published is left to rate: `metafieldsDelete` through the same outbox, so the theme shows no
    rating; throttled it stays pending and is retried; deleting what is already gone is no error."""
    delivered_order(days_ago=9)
    first, second = _reviews([5, 3])
    for review in (first, second):
        moderate_review(db.session, review, "published", "owner", None)
    db.session.commit()
    work()
    assert set(_metafields(fake_shopify)) == {"rating", "rating_count"}

    moderate_review(db.session, first, "hidden", "owner", "Not about the product")
    db.session.commit()
    work()
    assert _metafields(fake_shopify)["rating_count"]["value"] == "1"  # one left: still set, not deleted

    fake_shopify.set_bucket(SHOP, maximum=1000, available=0, restore_rate=0.001)
    moderate_review(db.session, second, "hidden", "owner", "Spam")
    db.session.commit()
    work()
    sync = db.session.execute(select(RatingSync)).scalar_one()
    assert sync.status == "pending" and set(_metafields(fake_shopify)) == {"rating", "rating_count"}
    assert f"review-rating-{sync.id}" in ScheduledJobRegistry("default", connection=redis_conn).get_job_ids()
    fake_shopify.set_bucket(SHOP)
    assert write_rating_metafields(sync.id) == "done"  # what RQ's retry runs
    assert _metafields(fake_shopify) == {}
    db.session.expire_all()
    assert db.session.get(RatingSync, sync.id).written == {"rating": None, "count": 0}
    (call,) = fake_shopify.shop(SHOP).deleted_metafield_calls
    assert sorted(key for _, _, key in call) == ["rating", "rating_count"]

    # Asked again (a lost answer, another change): the fake answers null for each, and the row is done.
    db.session.execute(RatingSync.__table__.update().values(status="pending"))
    db.session.commit()
    assert write_rating_metafields(sync.id) == "done"
    assert len(fake_shopify.shop(SHOP).deleted_metafield_calls) == 2


def test_a_user_error_on_the_deletion_fails_the_row_with_shopifys_message(
    fake_app, delivered_order, work, fake_shopify
):
    delivered_order(days_ago=9)
    (review,) = _reviews([4])
    moderate_review(db.session, review, "published", "owner", None)
    db.session.commit()
    work()
    fake_shopify.shop(SHOP).known_products = {f"gid://shopify/Product/{TOTE_PRODUCT}"}  # the shirt is gone
    moderate_review(db.session, review, "hidden", "owner", "Duplicate")
    db.session.commit()
    work()
    db.session.expire_all()
    sync = db.session.execute(select(RatingSync)).scalar_one()
    assert sync.status == "failed" and "deletion" in sync.last_error and "Owner does not exist" in sync.last_error
