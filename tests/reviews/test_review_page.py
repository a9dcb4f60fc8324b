"""The shopper's review page (`/l/reviews/<token>`): rate each product 1-5, a headline, text and up to 3 photos,
checked as the returns photos are; a forged, another shop's or a replayed link is refused and records nothing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from app.events import DomainEvent
from app.extensions import db
from app.reviews.links import make_review_token
from app.reviews.models import Review, ReviewPhoto, ReviewRequest
from tests.returns.conftest import SALE_PRODUCT as SCARF_PRODUCT
from tests.reviews.conftest import SHIRT_PRODUCT, TOTE_PRODUCT
from tests.reviews.helpers import JPEG, PNG, sent_request

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _counts() -> tuple[int, int, int]:
    db.session.expire_all()
    return (
        db.session.execute(select(func.count()).select_from(Review)).scalar_one(),
        db.session.execute(select(func.count()).select_from(ReviewPhoto)).scalar_one(),
        db.session.execute(
            select(func.count()).select_from(DomainEvent).where(DomainEvent.kind == "review.submitted")
        ).scalar_one(),
    )


def _form(**extra):
    data = {
        f"rating_{SHIRT_PRODUCT}": "2",
        f"title_{SHIRT_PRODUCT}": "Runs small",
        f"body_{SHIRT_PRODUCT}": "Nice linen but the M is tight.",
        f"photos_{SHIRT_PRODUCT}": [(io.BytesIO(PNG), "a.png", "image/png"), (io.BytesIO(JPEG), "b.jpg", "image/jpeg")],
    }
    data.update(extra)
    return data


def test_a_shopper_reviews_with_photos_and_a_replay_records_nothing(fake_app, delivered_order, work):
    delivered_order(days_ago=9)
    request, path = sent_request()
    client = fake_app.test_client()
    page = client.get(path + "?locale=th")
    assert page.status_code == 200 and "รีวิวคำสั่งซื้อของคุณ" in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    done = client.post(path, data=_form(), content_type="multipart/form-data")
    assert done.status_code == 200 and "Thank you for your review!" in done.text
    assert _counts() == (1, 2, 1)
    review = db.session.execute(select(Review)).scalar_one()
    assert (review.rating, review.status, review.photo_count) == (2, "pending", 2)  # a low rating is kept the same
    assert review.author_name == "Mali"
    # The same form again (a replay): refused, nothing recorded.
    again = client.post(path, data=_form(), content_type="multipart/form-data")
    assert again.status_code == 422 and _counts() == (1, 2, 1)
    # The other product, then nothing is left to review: the request is complete and the link refuses more.
    rest = {f"rating_{TOTE_PRODUCT}": "5", f"rating_{SCARF_PRODUCT}": "1"}
    tote = client.post(path, data=rest, content_type="multipart/form-data")
    assert tote.status_code == 200 and _counts() == (3, 2, 3)
    assert db.session.get(ReviewRequest, request.id).status == "completed"
    assert client.post(path, data={f"rating_{TOTE_PRODUCT}": "5"}).status_code == 409
    assert _counts() == (3, 2, 3)


@pytest.mark.parametrize(
    ("photos", "message"),
    [
        ([(io.BytesIO(b"GIF89a" + b"\x00" * 20), "x.gif", "image/gif")], "JPEG, PNG or WebP"),
        ([(io.BytesIO(b"<svg/>"), "x.png", "image/png")], "JPEG, PNG or WebP"),  # renamed: the bytes decide
        ([(io.BytesIO(PNG), f"{i}.png", "image/png") for i in range(4)], "4 photos at most"),
        ([(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * (4 * 1024 * 1024)), "big.png", "image/png")], "4 MB or smaller"),
    ],
)
def test_bad_photos_are_refused_and_nothing_is_stored(fake_app, delivered_order, work, photos, message):
    delivered_order(days_ago=9)
    _, path = sent_request()
    form = MultiDict({k: v for k, v in _form().items() if not k.startswith("photos_")})
    for stream, filename, content_type in photos:
        form.add(f"photos_{SHIRT_PRODUCT}", FileStorage(stream=stream, filename=filename, content_type=content_type))
    # Encoded in memory: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart(form)
    response = fake_app.test_client().post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 422
    assert message.replace("4 photos", "3 photos") in response.text or message in response.text
    assert _counts() == (0, 0, 0)


def test_a_rating_outside_one_to_five_is_refused(fake_app, delivered_order, work):
    delivered_order(days_ago=9)
    _, path = sent_request()
    response = fake_app.test_client().post(path, data={f"rating_{SHIRT_PRODUCT}": "6"})
    assert response.status_code == 422 and "1 to 5 stars" in response.text
    assert _counts() == (0, 0, 0)


def test_forged_moved_or_unsent_links_are_refused_and_record_nothing(fake_app, delivered_order, work):
    delivered_order(days_ago=9)
    request = db.session.execute(select(ReviewRequest)).scalar_one()
    client = fake_app.test_client()
    unsent = f"/l/reviews/{make_review_token(request.shop_id, request.id)}"
    assert client.get(unsent).status_code == 404  # never sent: no page yet
    _, path = sent_request()
    token = path.rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    other_shop = make_review_token(request.shop_id + 1, request.id)
    other_request = make_review_token(request.shop_id, request.id + 1)
    for bad in (forged, other_shop, other_request, "x", ""):
        assert client.get(f"/l/reviews/{bad}").status_code == 404
        assert client.post(f"/l/reviews/{bad}", data=_form(), content_type="multipart/form-data").status_code in (
            404,
            405,
        )
    assert _counts() == (0, 0, 0)
