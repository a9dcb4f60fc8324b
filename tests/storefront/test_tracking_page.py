"""The tracking page and JSON behind Shopify's app proxy: signature, lookup, privacy, branding, languages."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from urllib.parse import parse_qs, parse_qsl

import pytest
from sqlalchemy import select

from app.extensions import db
from app.orders.models import Order
from app.shopify.models import Shop
from app.storefront.links import make_track_token
from app.tracking.models import TrackingSettings
from tests.conftest import OTHER_SHOP, SHOP
from tests.fakes.app_proxy import by_key_message, documented_message, proxy_query
from tests.tracking.test_timeline import T0, order_payload, split_order_deliveries


def signed_query(params: dict, secret: str = "test-secret", shop: str = SHOP, timestamp: int | None = None) -> str:
    """The query string Shopify's app proxy sends: our params plus shop, path_prefix, timestamp, signature."""
    return proxy_query(params, secret=secret, shop=shop, timestamp=timestamp)


@pytest.fixture()
def split_order(ctx, post_webhook, run_jobs):
    for topic, payload in split_order_deliveries():
        post_webhook(topic, payload)
    run_jobs()
    shop = db.session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
    shop.iana_timezone = "Asia/Bangkok"
    shop.is_installed = True
    db.session.commit()
    return shop


# Shopify's example (https://shopify.dev/docs/apps/build/online-store/app-proxies/authenticate-app-proxies),
# secret "hush"; the page writes the shop as "{shop}", the digest is that of "shop-name".
DOCUMENTED_QUERY = (
    "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1&path_prefix=%2Fapps%2Fawesome_reviews"
    "&timestamp=1317327555&signature=4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"
)
DOCUMENTED_AT = 1317327555


def test_shopifys_documented_example_is_signed_as_our_test_helper_signs():
    pairs = [(k, v) for k, v in parse_qsl(DOCUMENTED_QUERY, keep_blank_values=True) if k != "signature"]
    assert documented_message(pairs) == (
        "extra=1,2logged_in_customer_id=1path_prefix=/apps/awesome_reviewsshop=shop-name.myshopify.comtimestamp=1317327555"
    )
    digest = hmac.new(b"hush", documented_message(pairs).encode(), hashlib.sha256).hexdigest()
    assert digest == parse_qs(DOCUMENTED_QUERY)["signature"][0]


def test_shopifys_documented_example_passes_our_verifier():
    from app.shopify.signatures import verify_app_proxy_query

    assert verify_app_proxy_query(DOCUMENTED_QUERY, ["hush"], now=DOCUMENTED_AT)
    assert verify_app_proxy_query(DOCUMENTED_QUERY, ["rotated-secret", "hush"], now=DOCUMENTED_AT + 90)
    assert not verify_app_proxy_query(DOCUMENTED_QUERY, ["test-secret"], now=DOCUMENTED_AT)
    assert not verify_app_proxy_query(DOCUMENTED_QUERY, ["hush"], now=DOCUMENTED_AT + 91)
    assert not verify_app_proxy_query(DOCUMENTED_QUERY.replace("extra=2", "extra=3"), ["hush"], now=DOCUMENTED_AT)


@pytest.mark.parametrize(
    "more",
    [
        [("order2", "gift")],  # "order2=" sorts before "order=" ("2" < "="), while "order" sorts before "order2"
        [("email-opt", "yes")],
        [("order2", "gift"), ("extra", "1"), ("extra", "2")],
    ],
    ids=["order-order2", "email-email-opt", "with-a-repeated-param"],
)
def test_a_key_that_begins_with_another_key_passes_as_shopify_signs_it(client, split_order, more):
    query = proxy_query([("order", "1001"), ("email", "jon@example.com"), *more])
    response = client.get("/proxy/api/track?" + query)
    assert response.status_code == 200 and response.json["order"]["name"] == "#1001"


def test_the_form_the_shopifyapp_package_signs_still_passes(client, split_order):
    pairs = [("order", "1001"), ("order2", "gift"), ("email", "jon@example.com")]
    assert proxy_query(pairs, message=by_key_message) != proxy_query(pairs)
    assert client.get("/proxy/api/track?" + proxy_query(pairs, message=by_key_message)).status_code == 200


def test_a_request_signed_with_the_previous_secret_passes_while_it_rotates(make_app, split_order):
    rotating = make_app(shopify_api_secret="new-secret", shopify_api_secret_previous="test-secret")
    client = rotating.test_client()
    pairs = [("order", "1001"), ("order2", "gift"), ("email", "jon@example.com")]
    for secret in ("new-secret", "test-secret"):
        assert client.get("/proxy/api/track?" + proxy_query(pairs, secret=secret)).status_code == 200, secret
    assert client.get("/proxy/api/track?" + proxy_query(pairs, secret="older-secret")).status_code == 401


def test_json_lookup_by_number_and_email(client, split_order):
    for ref in ("1001", "#1001", " #1001 "):
        response = client.get("/proxy/api/track?" + signed_query({"order": ref, "email": "JON@example.com"}))
        assert response.status_code == 200, ref
    body = response.json
    assert body["order"]["name"] == "#1001"
    assert body["order"]["status"] == "in_transit"
    assert [s["status"] for s in body["shipments"]] == ["delivered", "in_transit"]
    second = body["shipments"][1]
    assert second["estimate"]["label"] and second["estimate"]["source"] == "default"
    assert second["carrier"]["tracking_url"].startswith("https://")
    assert second["events"][0]["label"] == "some new carrier status"  # unknown status shown verbatim
    assert body["shipments"][0]["events"][0]["happened_at"].endswith("+07:00")  # shop's time zone
    assert response.headers["Cache-Control"] == "no-store"


def test_lookup_by_phone_in_any_format(client, split_order, post_webhook, run_jobs):
    post_webhook("orders/updated", order_payload(T0 + timedelta(days=3), phone="+66812345678"))
    run_jobs()
    for phone in ("081-234-5678", "+66 81 234 5678"):
        query = signed_query({"order": "1001", "phone": phone})
        assert client.get("/proxy/api/track?" + query).status_code == 200, phone


def test_wrong_combinations_all_say_not_found_the_same_way(client, split_order):
    answers = []
    for params in (
        {"order": "1001", "email": "eve@example.com"},
        {"order": "9999", "email": "jon@example.com"},
        {"order": "1001", "phone": "0899999999"},
    ):
        response = client.get("/proxy/api/track?" + signed_query(params))
        answers.append((response.status_code, response.json))
    assert all(a == answers[0] for a in answers)
    assert answers[0][0] == 404 and answers[0][1]["error"] == "not_found"


def test_missing_second_factor_is_a_400_with_a_reason(client, split_order):
    response = client.get("/proxy/api/track?" + signed_query({"order": "1001"}))
    assert response.status_code == 400 and response.json["message"]


def test_another_shops_order_is_never_found(client, split_order):
    other = Shop(domain=OTHER_SHOP, is_installed=True)
    db.session.add(other)
    db.session.commit()
    query = signed_query({"order": "1001", "email": "jon@example.com"}, shop=OTHER_SHOP)
    assert client.get("/proxy/api/track?" + query).status_code == 404
    order = db.session.execute(select(Order)).scalar_one()
    token = make_track_token(split_order.id, order.id)
    assert client.get("/proxy/api/track?" + signed_query({"token": token}, shop=OTHER_SHOP)).status_code == 404


def test_signed_link_token_opens_the_order_and_cannot_be_tampered(client, split_order):
    order = db.session.execute(select(Order)).scalar_one()
    token = make_track_token(split_order.id, order.id)
    assert client.get("/proxy/api/track?" + signed_query({"token": token})).status_code == 200
    assert client.get("/proxy/api/track?" + signed_query({"token": token[:-2] + "xx"})).status_code == 404
    page = client.get(f"/l/track/{token}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "#1001" in page.get_data(as_text=True)
    assert client.get("/l/track/not-a-token").status_code == 404


def test_lookups_are_rate_limited_per_client(client, split_order):
    statuses = []
    for n in range(12):  # a different order number each time: only the per-client limit applies
        query = signed_query({"order": str(3000 + n), "email": "wrong@example.com"})
        statuses.append(
            client.get("/proxy/api/track?" + query, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code
        )
    assert statuses[:10] == [404] * 10 and statuses[10:] == [429, 429]
    other_client = client.get(
        "/proxy/api/track?" + signed_query({"order": "1001", "email": "jon@example.com"}),
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert other_client.status_code == 200


def test_page_is_liquid_inside_the_theme_and_thai_when_asked(client, split_order):
    response = client.get("/proxy/track?" + signed_query({"order": "1001", "email": "jon@example.com", "locale": "th"}))
    assert response.status_code == 200
    assert response.mimetype == "application/liquid"
    html = response.get_data(as_text=True)
    assert not html.startswith("{% layout none %}")
    assert "กำลังขนส่ง" in html and "จัดส่งสำเร็จ" in html  # in transit, delivered
    assert "พัสดุที่ 1 จาก 2" in html  # shipment 1 of 2
    standalone = client.get("/proxy/track?" + signed_query({"layout": "standalone"}))
    assert standalone.get_data(as_text=True).startswith("{% layout none %}\n<!doctype html>")


def test_merchant_and_shopper_text_cannot_inject_liquid_or_html(client, split_order):
    db.session.add(
        TrackingSettings(
            shop_id=split_order.id,
            custom_message={"en": "{{ customer.email }} <script>alert(1)</script>"},
            faq=[{"q": "{% if true %}x{% endif %}", "a": "<b>bold</b>", "locale": "en"}],
            accent_color="red;}a{",
            font="comic; x:y",
        )
    )
    db.session.commit()
    query = signed_query({"order": "{{ shop.secret }}", "email": "<img src=x onerror=alert(1)>@x.com"})
    html = client.get("/proxy/track?" + query).get_data(as_text=True)
    body = html
    assert "{{" not in body and "{%" not in body  # nothing Liquid could execute
    assert "&#123;&#123; customer.email &#125;&#125;" in body  # the merchant's text, shown inert
    assert "<script>alert(1)</script>" not in body and "<img src=x" not in body
    assert "red;}a{" not in body and "comic" not in body  # invalid tokens replaced by defaults
    assert "--ac-accent:#2563eb" in body


def test_unsigned_requests_never_reach_the_page(client, split_order):
    assert client.get("/proxy/track").status_code == 401


def test_an_enumeration_from_many_addresses_is_stopped_per_shop(make_app, split_order):
    strict = make_app(failed_lookups_per_shop_per_minute=5)
    client = strict.test_client()

    def guess(n: int, attempt: int) -> int:
        query = signed_query({"order": str(2000 + 10 * n + attempt), "email": "guess@example.com"})
        return client.get("/proxy/api/track?" + query, environ_base={"REMOTE_ADDR": f"192.0.2.{n}"}).status_code

    # Five addresses fail once each: the shop's failure budget is spent.
    assert [guess(n, 0) for n in range(5)] == [404] * 5
    # From then on, an address that has failed gets no further guess, wherever it comes from.
    assert [guess(n, 1) for n in range(5)] == [429] * 5
    # A shopper whose first lookup is genuine is not locked out.
    genuine = client.get(
        "/proxy/api/track?" + signed_query({"order": "1001", "email": "jon@example.com"}),
        environ_base={"REMOTE_ADDR": "198.51.100.77"},
    )
    assert genuine.status_code == 200


def test_successful_lookups_never_count_against_the_shop(make_app, split_order):
    strict = make_app(failed_lookups_per_shop_per_minute=2)
    client = strict.test_client()
    for n in range(6):
        query = signed_query({"order": "1001", "email": "jon@example.com"})
        response = client.get("/proxy/api/track?" + query, environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})
        assert response.status_code == 200


def test_shopper_can_ask_for_text_updates_from_the_page(client, split_order):
    from app.notifications.models import ContactPreference

    query = signed_query({"order": "1001", "email": "jon@example.com"})
    page = client.get("/proxy/track?" + query).get_data(as_text=True)
    assert "Text me updates" in page and 'action="/apps/aftercart/subscribe?' in page
    bad = client.post("/proxy/api/subscribe?" + query, json={"phone": "12"})
    assert bad.status_code == 400 and bad.json["error"] == "invalid"
    asked = client.post("/proxy/api/subscribe?" + query, json={"phone": "081-234-5678"})
    assert asked.status_code == 200 and asked.json["status"] == "confirmation_sent"
    assert "Reply YES" in asked.json["message"]
    preference = db.session.execute(select(ContactPreference).where(ContactPreference.channel == "sms")).scalar_one()
    # Noted, not consented: the number's owner confirms by replying YES (tests/security/test_sms_consent.py).
    assert (preference.channel, preference.address, preference.updates_consent) == ("sms", "+66812345678", False)
    assert preference.email == "jon@example.com"
    wrong = client.post(
        "/proxy/api/subscribe?" + signed_query({"order": "1001", "email": "eve@example.com"}),
        json={"phone": "0812345679"},
    )
    assert wrong.status_code == 404  # no order, nothing recorded for a stranger
    form = client.post("/proxy/subscribe?" + query, data={"phone": "0812345678"})
    assert form.status_code == 200 and "Reply YES to it" in form.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["EU-1237-B", "eu-1237-b", "#EU-1237-B", " EU-1237-B "])
def test_an_order_is_found_by_the_name_its_confirmation_shows(client, ctx, post_webhook, run_jobs, typed):
    # Shopify's order-ID prefix/suffix setting: the shopper's confirmation says EU-1237-B, not #1237.
    post_webhook("orders/create", order_payload(T0, id=770001, name="EU-1237-B", order_number=1237))
    run_jobs()
    response = client.get("/proxy/api/track?" + signed_query({"order": typed, "email": "jon@example.com"}))
    assert response.status_code == 200, response.json
    assert response.json["order"]["name"] == "EU-1237-B"
    portal = client.get("/proxy/returns?" + signed_query({"order": typed, "email": "jon@example.com"}))
    assert portal.status_code == 200 and b"EU-1237-B" in portal.data


def test_an_order_whose_name_and_number_differ_is_found_by_its_name(client, ctx, post_webhook, run_jobs):
    post_webhook("orders/create", order_payload(T0, id=770002, name="#9999", order_number=1))
    run_jobs()
    response = client.get("/proxy/api/track?" + signed_query({"order": "#9999", "email": "jon@example.com"}))
    assert response.status_code == 200 and response.json["order"]["name"] == "#9999"
    for wrong in ("EU-1237", "9998", "#9999' OR 1=1 --"):
        missed = client.get("/proxy/api/track?" + signed_query({"order": wrong, "email": "jon@example.com"}))
        assert missed.status_code in (400, 404), wrong
