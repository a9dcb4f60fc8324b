"""The order status and thank-you blocks' JSON: the right order for a valid token, in English and Thai."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.extension_api.models import ThankYouAnswer
from app.extension_api.services import save_thank_you_settings
from app.extensions import db
from app.notifications.models import ContactPreference
from tests.extension_api.conftest import CUSTOMER_ID, ORDER_GID, SHORT_TEST_SECRET, headers, session_token

pytestmark = SHORT_TEST_SECRET

STATUS_URL = "/ext/customer-account/order"


def test_a_valid_token_gets_its_order_with_every_parcel(client, shop_with_order):
    response = client.get(f"{STATUS_URL}?order={ORDER_GID}&locale=en", headers=headers(session_token()))
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["order"]["name"] == "#1001"
    statuses = [p["status"] for p in body["parcels"]]
    assert len(statuses) == 2 and "delivered" in statuses
    delivered = next(p for p in body["parcels"] if p["status"] == "delivered")
    assert delivered["status_label"] == "Delivered" and delivered["carrier"]["tracking_number"] == "SHP5012345678"
    assert [s["label"] for s in delivered["scans"]][:1] == ["Delivered"] or delivered["scans"]
    assert len(delivered["scans"]) <= 3
    # a delivered parcel opens the returns portal, signed for this order, on the app's own origin
    assert body["actions"]["return_url"].startswith("https://aftercart.test/l/returns/")
    # protected customer data: nothing beyond the order's own tracking
    text = json.dumps(body)
    assert "jon@example.com" not in text and "Jon" not in text


def test_thai_follows_the_buyers_locale(client, shop_with_order):
    response = client.get(f"{STATUS_URL}?order={ORDER_GID}&locale=th-TH", headers=headers(session_token()))
    body = response.get_json()
    assert body["locale"] == "th"
    delivered = next(p for p in body["parcels"] if p["status"] == "delivered")
    assert delivered["status_label"] != "Delivered" and any(
        "\u0e00" <= ch <= "\u0e7f" for ch in delivered["status_label"]
    )


def test_a_fulfilment_cards_slot_gets_only_its_parcel(client, shop_with_order):
    url = f"{STATUS_URL}?order={ORDER_GID}&fulfillment=gid://shopify/Fulfillment/502"
    body = client.get(url, headers=headers(session_token())).get_json()
    assert len(body["parcels"]) == 1 and body["parcels"][0]["status"] != "delivered"
    # a fulfilment of no order of ours, or not a fulfilment GID
    missing = client.get(
        f"{STATUS_URL}?order={ORDER_GID}&fulfillment=gid://shopify/Fulfillment/999", headers=headers(session_token())
    )
    assert missing.status_code == 404
    bad = client.get(f"{STATUS_URL}?order={ORDER_GID}&fulfillment=502", headers=headers(session_token()))
    assert bad.status_code == 400 and "Fulfillment" in bad.get_json()["reason"]


def test_sms_sign_up_needs_consent_and_then_only_asks_the_owner(client, shop_with_order):
    token = session_token()
    refused = client.post(
        "/ext/customer-account/sms", json={"order": ORDER_GID, "phone": "+66812345678"}, headers=headers(token)
    )
    assert refused.status_code == 400 and refused.get_json()["error"] == "consent_required"
    accepted = client.post(
        "/ext/customer-account/sms",
        json={"order": ORDER_GID, "phone": "+66812345678", "consent": True, "locale": "th"},
        headers=headers(token),
    )
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "confirmation_sent"
    preference = db.session.execute(
        select(ContactPreference).where(ContactPreference.channel == "sms", ContactPreference.address == "+66812345678")
    ).scalar_one()
    assert preference.updates_consent is not True  # the owner's YES is still to come


def test_thank_you_block_for_a_guest_with_the_checkouts_email(client, shop_with_order):
    guest = session_token(customer_id=None)
    body = client.post(
        "/ext/checkout/thank-you",
        json={"order": ORDER_GID, "email": "JON@example.com", "locale": "en"},
        headers=headers(guest),
    ).get_json()
    assert body["tracked"] is True and body["question"] == "How did you hear about us?" and body["answered"] is False
    th = client.post(
        "/ext/checkout/thank-you",
        json={"order": ORDER_GID, "email": "jon@example.com", "locale": "th"},
        headers=headers(guest),
    )
    assert th.get_json()["question"] != body["question"]


def test_the_answer_is_kept_once_per_order_with_the_merchants_question(client, shop_with_order):
    save_thank_you_settings(
        db.session, shop_with_order.id, True, {"en": "Where did you find us?", "th": "รู้จักเราจากที่ไหน"}
    )
    token = session_token()  # a logged-in buyer: `sub` proves the order, no email needed
    first = client.post(
        "/ext/checkout/answer",
        json={"order": ORDER_GID, "answer": "  Instagram  ad ", "locale": "en"},
        headers=headers(token),
    )
    assert first.status_code == 200 and first.get_json()["status"] == "saved"
    again = client.post("/ext/checkout/answer", json={"order": ORDER_GID, "answer": "A friend"}, headers=headers(token))
    assert again.get_json()["status"] == "already_answered"
    [row] = db.session.execute(select(ThankYouAnswer)).scalars()
    assert (row.answer, row.question, row.shopify_customer_id) == (
        "Instagram ad",
        "Where did you find us?",
        CUSTOMER_ID,
    )
    view = client.post("/ext/checkout/thank-you", json={"order": ORDER_GID}, headers=headers(token)).get_json()
    assert view["answered"] is True and view["question"] is None


def test_bad_answers_are_refused_with_a_reason(client, shop_with_order):
    token = session_token()
    too_long = client.post(
        "/ext/checkout/answer", json={"order": ORDER_GID, "answer": "x" * 201}, headers=headers(token)
    )
    assert too_long.status_code == 400 and too_long.get_json()["reason"]
    empty = client.post("/ext/checkout/answer", json={"order": ORDER_GID, "answer": "   "}, headers=headers(token))
    assert empty.status_code == 400
    save_thank_you_settings(db.session, shop_with_order.id, False, {})
    off = client.post("/ext/checkout/answer", json={"order": ORDER_GID, "answer": "Hi"}, headers=headers(token))
    assert off.status_code == 400
    assert db.session.execute(select(ThankYouAnswer)).first() is None


def test_a_token_whose_iss_names_no_shop_is_judged_by_its_dest(client, shop_with_order):
    # Shopify documents `dest` as the shop for extension tokens; an issuer of another form is not a contradiction.
    token = session_token(iss="https://shopify.com/authentication")
    assert client.get(f"{STATUS_URL}?order={ORDER_GID}", headers=headers(token)).status_code == 200
    assert (
        client.get(f"{STATUS_URL}?order={ORDER_GID}", headers=headers(session_token(drop=("iss",)))).status_code == 200
    )
