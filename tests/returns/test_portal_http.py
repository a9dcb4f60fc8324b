"""The returns portal through Shopify's app proxy: signature, lookup, every "no" explained in English and
Thai, uploads checked for type and size, the status page behind a signed link, and no cross-shop access."""

from __future__ import annotations

import re
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.extensions import db
from app.i18n import format_moment
from app.returns.models import ReturnFile, ReturnRequest
from app.returns.storefront import make_return_token
from tests.conftest import OTHER_SHOP
from tests.returns.conftest import LINE_SALE, LINE_SHIRT, LINE_TOTE, SHIRT_L, SHIRT_M, TOTE_VARIANT, make_vip
from tests.storefront.test_tracking_page import signed_query

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _lookup(extra: dict | None = None, **params) -> str:
    return signed_query({"order": "1001", "email": "mali@example.com", **params, **(extra or {})})


def test_unsigned_or_forged_requests_are_refused(fake_app, delivered_order):
    delivered_order()
    client = fake_app.test_client()
    assert client.get("/proxy/returns?order=1001&email=mali@example.com").status_code == 401
    forged = _lookup().replace("signature=", "signature=0")
    assert client.get("/proxy/returns?" + forged).status_code == 401


def test_lookup_form_and_wrong_details(fake_app, delivered_order):
    delivered_order()
    client = fake_app.test_client()
    page = client.get("/proxy/returns?" + signed_query({}))
    assert page.status_code == 200 and page.mimetype == "application/liquid"
    assert "Start a return" in page.text and 'action="/apps/aftercart/returns"' in page.text
    wrong = client.get("/proxy/returns?" + signed_query({"order": "1001", "email": "someone@example.com"}))
    assert wrong.status_code == 404 and "We couldn&#39;t find an order" in wrong.text


def test_eligible_and_final_sale_items_are_explained_in_both_languages(fake_app, delivered_order):
    delivered_order(days_ago=5)
    client = fake_app.test_client()
    page = client.get("/proxy/returns?" + _lookup())
    assert page.status_code == 200
    assert f'name="qty_{LINE_SHIRT}"' in page.text and f'name="qty_{LINE_TOTE}"' in page.text
    assert f'name="qty_{LINE_SALE}"' not in page.text
    assert "Sale scarf was a final sale item and cannot be returned." in page.text
    assert 'value="refund"' in page.text and "Store credit (+10% bonus)" in page.text
    thai = client.get("/proxy/returns?" + _lookup(locale="th"))
    assert "Sale scarf เป็นสินค้าลดราคาขายขาด จึงคืนไม่ได้" in thai.text
    assert "เริ่มการคืนสินค้า" in thai.text
    assert "{{" not in page.text and "{%" not in page.text.split("\n", 1)[1]
    assert 'data-slot="recommendations"' not in page.text  # no cards yet: the slot is not there at all


def test_window_ended_names_the_date_and_the_tier_that_would_have_helped(fake_app, delivered_order, shop_id):
    delivered_order(days_ago=50)
    client = fake_app.test_client()
    page = client.get("/proxy/returns?" + _lookup())
    assert re.search(r"Your 30-day return window ended on \d{1,2} \w{3}; Silver members have 45 days\.", page.text)
    assert f'name="qty_{LINE_SHIRT}"' not in page.text
    make_vip(shop_id)
    loyal = client.get("/proxy/returns?" + _lookup())
    assert f'name="qty_{LINE_SHIRT}"' in loyal.text and "Your loyalty tier: Gold" in loyal.text
    assert "Free return shipping" in loyal.text


def test_submit_refund_then_status_page_and_tracking(fake_app, delivered_order):
    delivered_order(days_ago=5)
    client = fake_app.test_client()
    form = {f"qty_{LINE_TOTE}": "1", "reason": "too_large", "resolution": "refund"}
    done = client.post("/proxy/returns?" + _lookup(), data=form, content_type="multipart/form-data")
    assert done.status_code == 200, done.text
    assert 'data-return-status="requested"' in done.text and "The shop will review your request soon." in done.text
    again = client.post("/proxy/returns?" + _lookup(), data=form, content_type="multipart/form-data")
    assert again.status_code == 200
    [request] = db.session.execute(select(ReturnRequest)).scalars().all()
    token = make_return_token(request.shop_id, request.id)
    status = client.get("/proxy/returns/status?" + signed_query({"return": token, "locale": "th"}))
    assert status.status_code == 200 and "ส่งคำขอแล้ว" in status.text
    [step] = request.steps
    # When each step happened, in the shop's time zone (Asia/Bangkok), in Thai
    assert format_moment(step.occurred_at, "th", ZoneInfo("Asia/Bangkok")) in status.text
    other_shop_token = make_return_token(request.shop_id + 1000, request.id)
    assert client.get("/proxy/returns/status?" + signed_query({"return": other_shop_token})).status_code == 404
    assert client.get("/proxy/returns/status?" + signed_query({"return": "forged"})).status_code == 404


def test_exchange_for_another_size(fake_app, delivered_order):
    delivered_order(days_ago=5)
    client = fake_app.test_client()
    page = client.get("/proxy/returns?" + _lookup())
    assert f'name="exchange_{LINE_SHIRT}"' in page.text and f'value="{SHIRT_L}"' in page.text
    form = {f"qty_{LINE_SHIRT}": "1", f"exchange_{LINE_SHIRT}": str(SHIRT_L), "reason": "too_small"}
    done = client.post(
        "/proxy/returns?" + _lookup(),
        data=dict(form, resolution="exchange_variant"),
        content_type="multipart/form-data",
    )
    assert done.status_code == 200, done.text
    assert "Linen shirt - L" in done.text
    missing = client.post(
        "/proxy/returns?" + _lookup(),
        data={f"qty_{LINE_TOTE}": "1", "reason": "too_small", "resolution": "exchange_variant"},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 422
    assert "There is no other size or colour of this product to exchange for." in missing.text


def test_exchange_for_a_different_product_pays_the_difference(fake_app, delivered_order):
    delivered_order(days_ago=5)
    client = fake_app.test_client()
    page = client.get("/proxy/returns?" + _lookup())
    picker = re.search(rf'<select name="exchange_product_{LINE_TOTE}">(.*?)</select>', page.text, re.S)
    assert picker, page.text
    assert f'value="{SHIRT_M}"' in picker.group(1)  # another product ...
    assert f'value="{TOTE_VARIANT}"' not in picker.group(1)  # ... never the item's own
    form = {f"qty_{LINE_TOTE}": "1", f"exchange_product_{LINE_TOTE}": str(SHIRT_M), "reason": "changed_mind"}
    done = client.post(
        "/proxy/returns?" + _lookup(),
        data=dict(form, resolution="exchange_product"),
        content_type="multipart/form-data",
    )
    assert done.status_code == 200, done.text
    request = db.session.execute(select(ReturnRequest)).scalar_one()
    [line] = request.lines
    assert (request.resolution, line.exchange_variant_id, line.exchange_title) == (
        "exchange_product",
        SHIRT_M,
        "Linen shirt - M",
    )
    # a 690 shirt for a 590 tote less the 60 return shipping fee (Member tier): the shopper pays 160
    assert request.price_difference == 160


def test_exchange_for_a_different_product_needs_a_product(fake_app, delivered_order):
    delivered_order(days_ago=5)
    refused = fake_app.test_client().post(
        "/proxy/returns?" + _lookup(),
        data={f"qty_{LINE_TOTE}": "1", "reason": "changed_mind", "resolution": "exchange_product"},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "Choose the product you would like instead." in refused.text
    assert db.session.execute(select(ReturnRequest)).first() is None


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        ((BytesIO(b"MZ not an image"), "photo.png", "image/png"), "That file is not a JPEG, PNG or WebP image."),
        ((BytesIO(PNG), "photo.gif", "image/gif"), "That file is not a JPEG, PNG or WebP image."),
        ((BytesIO(PNG + b"\x00" * (4 * 1024 * 1024)), "big.png", "image/png"), "That photo is larger than 4 MB."),
        (None, "Please add a photo (JPEG, PNG or WebP, up to 4 MB)."),
    ],
)
def test_bad_uploads_are_refused_with_a_reason(fake_app, delivered_order, photo, message):
    delivered_order(days_ago=5)
    client = fake_app.test_client()
    form = {f"qty_{LINE_TOTE}": "1", "reason": "damaged", "comment": "torn strap", "resolution": "refund"}
    if photo:
        stream, filename, content_type = photo
        form["photo"] = FileStorage(stream=stream, filename=filename, content_type=content_type)
    # Encoded in memory: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart(form)
    response = client.post(
        "/proxy/returns?" + _lookup(), data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 422
    assert message in response.text
    assert db.session.execute(select(ReturnRequest)).first() is None


def test_good_photo_is_kept_with_the_request(fake_app, delivered_order):
    delivered_order(days_ago=5)
    client = fake_app.test_client()
    form = {
        f"qty_{LINE_TOTE}": "1",
        "reason": "damaged",
        "comment": "torn strap",
        "resolution": "store_credit",
        "photo": (BytesIO(PNG), "strap.png", "image/png"),
    }
    response = client.post("/proxy/returns?" + _lookup(), data=form, content_type="multipart/form-data")
    assert response.status_code == 200, response.text
    stored = db.session.execute(select(ReturnFile)).scalar_one()
    assert (stored.kind, stored.content_type, stored.data) == ("photo", "image/png", PNG)


def test_another_shops_order_is_not_found(fake_app, delivered_order):
    delivered_order(days_ago=5)
    from app.shopify.shops import shop_id_for_domain

    shop_id_for_domain(db.session, OTHER_SHOP)
    db.session.commit()
    response = fake_app.test_client().get(
        "/proxy/returns?" + signed_query({"order": "1001", "email": "mali@example.com"}, shop=OTHER_SHOP)
    )
    assert response.status_code == 404


def test_loyalty_tier_comes_from_shopifys_customer_data(fake_app, fake_shopify, delivered_order, work):
    from tests.conftest import SHOP
    from tests.returns.conftest import CUSTOMER_ID

    delivered_order(days_ago=50)
    gid = f"gid://shopify/Customer/{CUSTOMER_ID}"
    fake_shopify.shop(SHOP).returns_state.customers[gid] = {
        "amountSpent": {"amount": "31000.00", "currencyCode": "THB"},
        "tags": ["VIP", "newsletter"],
    }
    client = fake_app.test_client()
    first = client.get("/proxy/returns?" + _lookup())
    assert "Your loyalty tier: Member" in first.text  # our own figures until Shopify's arrive
    work()  # the refresh job queued by that page view
    loyal = client.get("/proxy/returns?" + _lookup())
    assert "Your loyalty tier: Gold" in loyal.text and f'name="qty_{LINE_SHIRT}"' in loyal.text
    queries = [r for r in fake_shopify.graphql_requests(SHOP) if "CustomerLoyalty" in r.body.decode()]
    assert len(queries) == 1  # fresh figures are not fetched again on the next page view


def test_logged_in_customer_finds_their_order_by_number_alone(fake_app, delivered_order):
    """Shopify's proxy vouches for the customer (logged_in_customer_id, signed): no email needed, but only
    for the customer's own orders."""
    from tests.returns.conftest import CUSTOMER_ID

    delivered_order(days_ago=5)
    client = fake_app.test_client()
    mine = client.get("/proxy/returns?" + signed_query({"order": "1001", "logged_in_customer_id": str(CUSTOMER_ID)}))
    assert mine.status_code == 200 and f'name="qty_{LINE_TOTE}"' in mine.text
    someone_else = client.get("/proxy/returns?" + signed_query({"order": "1001", "logged_in_customer_id": "42"}))
    assert someone_else.status_code == 404 and f'name="qty_{LINE_TOTE}"' not in someone_else.text


@pytest.mark.parametrize(
    "reason, comment, photo, shipping_fee",
    [
        ("damaged", "The seam is torn", True, "0.00"),  # the shop's fault: it pays the return shipping
        ("wrong_item", "I got a tote, not a shirt", False, "0.00"),
        ("too_large", "", False, "60.00"),  # the shopper's choice: the policy's fee
    ],
)
def test_a_return_the_shop_caused_ships_free_by_default(
    fake_app, delivered_order, reason, comment, photo, shipping_fee
):
    delivered_order(days_ago=5)
    form = {f"qty_{LINE_TOTE}": "1", "reason": reason, "resolution": "refund", "comment": comment}
    if photo:
        form["photo"] = FileStorage(BytesIO(PNG), "tear.png", content_type="image/png")
    done = fake_app.test_client().post("/proxy/returns?" + _lookup(), data=form, content_type="multipart/form-data")
    assert done.status_code == 200, done.text
    [request] = db.session.execute(select(ReturnRequest)).scalars().all()
    assert str(request.shipping_fee) == shipping_fee
    assert request.is_free_shipping is (shipping_fee == "0.00")
