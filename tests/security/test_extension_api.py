"""Attack cases for `/ext` (Shopify's UI extensions): only a genuine, current token for this app, from Shopify's
extension origin, about an order its shop and customer own, gets an answer; every refusal leaks nothing."""

from __future__ import annotations

import json

import jwt
import pytest
from sqlalchemy import select

from app.extension_api.models import ThankYouAnswer
from app.extensions import db
from app.notifications.models import ContactPreference
from app.shopify.models import Shop
from tests.conftest import OTHER_SHOP
from tests.extension_api.conftest import ORDER_GID, ORIGIN, SHORT_TEST_SECRET, headers, session_token

pytestmark = SHORT_TEST_SECRET
STATUS_URL = f"/ext/customer-account/order?order={ORDER_GID}"
LEAKS = ("#1001", "jon@example.com", "SHP50123", "Kerry", "delivered")


def _leaks(response) -> list[str]:
    text = response.get_data(as_text=True)
    return [needle for needle in LEAKS if needle in text]


def _nothing_stored() -> bool:
    return (
        db.session.execute(select(ThankYouAnswer)).first() is None
        and db.session.execute(select(ContactPreference).where(ContactPreference.channel == "sms")).first() is None
    )


def _none_token() -> str:
    unsigned = jwt.encode({"dest": "snowdevil.myshopify.com", "aud": "test-api-key"}, None, algorithm="none")
    return unsigned


BAD_TOKENS = {
    "expired": lambda: session_token(issued_ago=600, lifetime=300),
    "forged": lambda: session_token(secret="not-the-app-secret-but-long-enough-0123456789"),
    "wrong audience": lambda: session_token(audience="another-app"),
    "not yet valid": lambda: session_token(nbf=2_000_000_000),
    "no expiry": lambda: session_token(drop=("exp",)),
    "alg none": _none_token,
    "another shop": lambda: session_token(shop=OTHER_SHOP),
    "iss of another shop": lambda: session_token(iss=f"https://{OTHER_SHOP}/admin"),
    "dest not a shop": lambda: session_token(dest="https://evil.example.com"),
    "sub not a customer": lambda: session_token(sub="gid://shopify/StaffMember/1"),
    "garbage": lambda: "not.a.jwt",
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_a_bad_token_is_refused_on_every_route_and_nothing_leaks_or_is_stored(client, shop_with_order, kind):
    token = BAD_TOKENS[kind]()
    attempts = [
        client.get(STATUS_URL, headers=headers(token)),
        client.post(
            "/ext/customer-account/sms",
            json={"order": ORDER_GID, "phone": "+66811111111", "consent": True},
            headers=headers(token),
        ),
        client.post(
            "/ext/checkout/thank-you", json={"order": ORDER_GID, "email": "jon@example.com"}, headers=headers(token)
        ),
        client.post(
            "/ext/checkout/answer",
            json={"order": ORDER_GID, "email": "jon@example.com", "answer": "x"},
            headers=headers(token),
        ),
        client.post(
            "/ext/checkout/sms",
            json={"order": ORDER_GID, "email": "jon@example.com", "phone": "+66811111111", "consent": True},
            headers=headers(token),
        ),
    ]
    for response in attempts:
        assert response.status_code == 401, (kind, response.get_data(as_text=True))
        assert _leaks(response) == []
    assert _nothing_stored()


def test_no_token_is_refused(client, shop_with_order):
    response = client.get(STATUS_URL, headers=headers(None))
    assert response.status_code == 401 and _leaks(response) == []


def test_another_customers_token_finds_nothing(client, shop_with_order):
    response = client.get(STATUS_URL, headers=headers(session_token(customer_id=999)))
    assert response.status_code == 404 and response.get_json() == {"error": "not_found"}
    answer = client.post(
        "/ext/checkout/answer",
        json={"order": ORDER_GID, "answer": "x"},
        headers=headers(session_token(customer_id=999)),
    )
    assert answer.status_code == 404
    assert _nothing_stored()


def test_a_token_for_another_order_finds_nothing_and_looks_like_no_order(client, shop_with_order):
    missing = client.get("/ext/customer-account/order?order=gid://shopify/Order/1", headers=headers(session_token()))
    assert missing.status_code == 404 and missing.get_json() == {"error": "not_found"}


def test_another_installed_shops_token_cannot_read_this_shops_order(client, shop_with_order):
    db.session.add(Shop(domain=OTHER_SHOP, is_installed=True))
    db.session.commit()
    response = client.get(STATUS_URL, headers=headers(session_token(shop=OTHER_SHOP)))
    assert response.status_code == 404 and _leaks(response) == []


def test_a_guest_needs_the_orders_email(client, shop_with_order):
    guest = session_token(customer_id=None)
    for email in (None, "", "someone@example.com"):
        response = client.post(
            "/ext/checkout/thank-you", json={"order": ORDER_GID, "email": email}, headers=headers(guest)
        )
        assert response.status_code == 404 and _leaks(response) == []
    answer = client.post(
        "/ext/checkout/answer",
        json={"order": ORDER_GID, "email": "someone@example.com", "answer": "x"},
        headers=headers(guest),
    )
    assert answer.status_code == 404
    # the order status page is the customer account's: a token without a customer is not one of its tokens
    assert client.get(STATUS_URL, headers=headers(guest)).status_code == 401
    assert _nothing_stored()


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"order": "820982911946154508"},
        {"order": "gid://shopify/Customer/1"},
        {"order": 5},
        {"order": "gid://shopify/Order/1 OR 1=1"},
    ],
)
def test_malformed_input_is_a_4xx_with_a_reason(client, shop_with_order, body):
    response = client.post(
        "/ext/checkout/thank-you",
        data=json.dumps(body),
        content_type="application/json",
        headers=headers(session_token()),
    )
    assert response.status_code == 400 and response.get_json()["reason"]


@pytest.mark.parametrize("origin", [ORIGIN, "null", "https://checkout.example"])
def test_preflight_is_answered_for_any_origin_without_credentials(client, shop_with_order, origin):
    # Shopify: the extensions' worker origin "may change without notice"; answer any origin with `*`.
    response = client.options(
        STATUS_URL,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
def test_from_any_origin_the_token_is_the_only_gate(client, shop_with_order, origin):
    for bad in (None, "forged"):
        token = session_token(secret="not-the-app-secret") if bad else None
        response = client.get(STATUS_URL, headers=headers(token, origin=origin))
        assert response.status_code == 401
        assert _leaks(response) == []
        assert "Access-Control-Allow-Credentials" not in response.headers
    # a genuine token answers whatever the origin: the worker's origin is not promised
    response = client.get(STATUS_URL, headers=headers(session_token(), origin=origin))
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"


def test_a_session_is_rate_limited(client, shop_with_order):
    token = session_token()
    codes = [client.get(STATUS_URL, headers=headers(token)).status_code for _ in range(61)]
    assert codes[:60] == [200] * 60 and codes[60] == 429
