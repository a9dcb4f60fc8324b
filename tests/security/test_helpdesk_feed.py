"""Attacks on the help-desk feed (/helpdesk/v1/customer) and its token page (/app/helpdesk)."""

from __future__ import annotations

import pytest

from app.db import utcnow
from app.extensions import db
from app.helpdesk.services import issue_token
from app.orders import services as order_services
from app.shopify.models import Shop
from tests.alerts.conftest import alert_app  # noqa: F401  (fixture)
from tests.conftest import OTHER_SHOP, SHOP
from tests.fakes.shopify import make_id_token
from tests.helpdesk.test_feed import lookup, make_token
from tests.notifications.conftest import smtp  # noqa: F401  (fixture)
from tests.shopify.conftest import fake_shopify  # noqa: F401  (fixture)
from tests.tracking.test_timeline import order_payload

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture()
def two_shops(alert_app, post_webhook):  # noqa: F811
    """This shop with order #1001 (jon@example.com), and another shop with its own #7001 for the same email."""
    assert post_webhook("orders/create", order_payload(utcnow()), via=alert_app.test_client()).status_code == 200
    with alert_app.app_context():
        other = Shop(domain=OTHER_SHOP, is_installed=True)
        db.session.add(other)
        db.session.flush()
        order_services.upsert_order(
            db.session, other.id, order_payload(utcnow(), id=777, name="#7001", order_number=7001)
        )
        other_token = issue_token(db.session, other.id)
        db.session.commit()
    return other_token


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer achd_forged-token"},
        {"Authorization": "Bearer not-even-the-shape"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"X-Aftercart-Token": "achd_" + "x" * 500},
    ],
)
def test_no_valid_token_no_data(alert_app, two_shops, headers):  # noqa: F811
    response = alert_app.test_client().get("/helpdesk/v1/customer?email=jon@example.com", headers=headers)
    assert response.status_code == 401 and b"#1001" not in response.data and b"jon@" not in response.data


def test_another_shops_token_never_reads_this_shops_orders(alert_app, two_shops):  # noqa: F811
    orders = lookup(alert_app, two_shops, email="jon@example.com").json["orders"]
    assert [o["name"] for o in orders] == ["#7001"]  # its own order only
    assert all(SHOP not in o["admin_url"] for o in orders)


@pytest.mark.parametrize(
    "query",
    [{}, {"email": ""}, {"email": "a\x00b@example.com"}, {"order": "#10\r\n01"}],
)
def test_malformed_lookups_are_a_400_with_a_reason(alert_app, two_shops, query):  # noqa: F811
    token = make_token(alert_app)
    response = lookup(alert_app, token, **query)
    assert response.status_code == 400 and response.json["message"]


def test_lookups_are_rate_limited_per_token(alert_app, two_shops):  # noqa: F811
    token = make_token(alert_app)
    statuses = [lookup(alert_app, token, order="#1001").status_code for _ in range(121)]
    assert statuses[:120] == [200] * 120 and statuses[120] == 429
    assert lookup(alert_app, two_shops, order="#7001").status_code == 200  # another shop's budget is its own


def test_the_token_page_needs_the_merchant(alert_app, two_shops):  # noqa: F811
    client = alert_app.test_client()
    forged = make_id_token(SHOP, secret="not-the-app-secret")
    for headers in ({}, {"Authorization": f"Bearer {forged}"}):
        assert client.post("/app/helpdesk/token", headers=headers).status_code in (302, 401)
        assert client.post("/app/helpdesk/token/revoke", headers=headers).status_code in (302, 401)
    # A token in the query string does not change state (a cross-site form cannot make a token).
    assert client.post(f"/app/helpdesk/token?shop={SHOP}&id_token={make_id_token(SHOP)}").status_code == 401
