"""Attacks on reviews: another shop's review cannot be read, answered or moderated (404, nothing changed, nothing
leaked); no or a forged session token is refused; state changes only by POST with the token in the header; the
proxy's block data and photos are the signing shop's published ones only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.reviews.models import Review, ReviewPhoto, ReviewReply
from app.shopify.models import Shop
from tests.conftest import OTHER_SHOP, SHOP
from tests.fakes.shopify import make_id_token
from tests.storefront.test_tracking_page import signed_query

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _others_review() -> tuple[Review, int]:
    shop = Shop(domain=OTHER_SHOP, is_installed=True)
    db.session.add(shop)
    db.session.flush()
    review = Review(
        shop_id=shop.id,
        shopify_product_id=555,
        shopify_order_id=777,
        product_title="Secret product",
        email="secret-shopper@other.example",
        author_name="Secret S.",
        rating=1,
        title="Other shop's words",
        body="private-body-text",
        status="published",
        photo_count=1,
    )
    db.session.add(review)
    db.session.flush()
    photo = ReviewPhoto(shop_id=shop.id, review_id=review.id, content_type="image/png", size=len(PNG), data=PNG)
    db.session.add(photo)
    db.session.commit()
    return review, photo.id


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {make_id_token(SHOP)}", "Accept": "application/json"}


def test_another_shops_review_cannot_be_read_answered_or_moderated(fake_app, install_shop):
    install_shop()
    review, photo_id = _others_review()
    client = fake_app.test_client()
    page = client.get(f"/app/reviews?shop={SHOP}&id_token={make_id_token(SHOP)}").get_data(as_text=True)
    assert "private-body-text" not in page and "Secret" not in page and "secret-shopper" not in page
    assert client.get(f"/app/reviews/photos/{photo_id}?shop={SHOP}&id_token={make_id_token(SHOP)}").status_code == 404
    for path, form in (
        (f"/app/api/reviews/{review.id}/moderate", {"status": "hidden", "reason": "mine now"}),
        (f"/app/api/reviews/{review.id}/reply", {"body": "hijack", "visibility": "public"}),
        (f"/app/api/reviews/{review.id}/reply", {"body": "hijack", "visibility": "private"}),
    ):
        response = client.post(path, data=form, headers=_headers())
        assert response.status_code == 404, path
        assert "private-body-text" not in response.get_data(as_text=True)
    db.session.expire_all()
    kept = db.session.get(Review, review.id)
    assert (kept.status, kept.public_reply, kept.moderated_at) == ("published", None, None)
    assert db.session.execute(select(ReviewReply)).first() is None
    # Through the proxy, signed for our shop: the other shop's product and photo are not there.
    data = client.get("/proxy/reviews/product/555?" + signed_query({})).get_json()
    assert data["count"] == 0 and data["reviews"] == []
    assert client.get(f"/proxy/reviews/photos/{photo_id}?" + signed_query({})).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/app/reviews"),
        ("get", "/app/reviews/photos/1"),
        ("post", "/app/api/reviews/1/moderate"),
        ("post", "/app/api/reviews/1/reply"),
        ("post", "/app/api/reviews/settings"),
    ],
)
def test_no_or_forged_session_token_is_refused(fake_app, install_shop, method, path):
    install_shop()
    client = fake_app.test_client()
    forged = make_id_token(SHOP, secret="not-the-app-secret")
    for headers in ({}, {"Authorization": f"Bearer {forged}"}):
        response = getattr(client, method)(path, query_string={"shop": SHOP}, headers=headers)
        assert response.status_code in (302, 401), (path, headers, response.status_code)


def test_a_get_changes_nothing_and_a_state_change_needs_the_header(fake_app, install_shop):
    install_shop()
    client = fake_app.test_client()
    assert client.get("/app/api/reviews/settings").status_code == 405
    # The token in the query string of a POST is not the proof (a link or a form on another site could carry it).
    response = client.post(
        f"/app/api/reviews/settings?shop={SHOP}&id_token={make_id_token(SHOP)}", data={"delay_days": "3"}
    )
    assert response.status_code in (302, 401)


def test_unsigned_or_forged_proxy_requests_are_refused(fake_app, install_shop):
    install_shop()
    client = fake_app.test_client()
    assert client.get("/proxy/reviews/product/1").status_code == 401
    assert client.get("/proxy/reviews/product/1?" + signed_query({}, secret="wrong")).status_code == 401


def test_the_demo_product_page_link_shows_only_its_own_products_published_reviews(fake_app, install_shop):
    """/l/reviews/preview/<token>: a forged token, another product's id, or a photo of another product or shop
    is a 404; the signed product's published data only."""
    from app.reviews.links import make_product_token

    review, photo_id = _others_review()
    client = fake_app.test_client()
    token = make_product_token(review.shop_id, 555)
    other_product = make_product_token(review.shop_id, 556)
    assert client.get(f"/l/reviews/preview/{token}").status_code == 200
    data = client.get(f"/l/reviews/preview/{token}/reviews/product/555").get_json()
    assert data["count"] == 1 and "secret-shopper" not in json_dumps(data)
    assert client.get(f"/l/reviews/preview/{token}/reviews/photos/{photo_id}").data == PNG
    for path in (
        f"/l/reviews/preview/{token[:-3]}abc",
        "/l/reviews/preview/not-a-token/reviews/product/555",
        f"/l/reviews/preview/{token}/reviews/product/556",
        f"/l/reviews/preview/{other_product}/reviews/photos/{photo_id}",
        f"/l/reviews/preview/{token}/reviews/photos/{photo_id + 1}",
    ):
        assert client.get(path).status_code == 404, path
    review.status = "hidden"
    db.session.commit()
    assert client.get(f"/l/reviews/preview/{token}/reviews/photos/{photo_id}").status_code == 404
    assert client.get(f"/l/reviews/preview/{token}/reviews/product/555").get_json()["count"] == 0


def json_dumps(value) -> str:
    import json

    return json.dumps(value)
