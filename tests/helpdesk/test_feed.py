"""A help desk fetches a customer's orders with the shop's token: the 360° summary as JSON, by email or order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.helpdesk.models import HelpdeskToken
from tests.alerts.conftest import alert_app, receiver, work  # noqa: F401  (fixtures)
from tests.alerts.test_alerts import _order_with_a_failed_parcel, _settings
from tests.conftest import SHOP
from tests.fakes.shopify import make_id_token
from tests.notifications.conftest import smtp  # noqa: F401  (fixture)
from tests.shopify.conftest import fake_shopify  # noqa: F401  (fixture)
from tests.tracking.test_timeline import order_payload

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture()
def deliver(alert_app, post_webhook):  # noqa: F811
    client = alert_app.test_client()

    def send(topic, payload):
        assert post_webhook(topic, payload, via=client).status_code == 200

    return send


def make_token(app, shop: str = SHOP) -> str:
    """What the merchant does in the admin: make (or rotate) the token, as App Bridge would post it."""
    response = app.test_client().post(
        "/app/helpdesk/token",
        headers={"Authorization": f"Bearer {make_id_token(shop)}", "Accept": "application/json"},
    )
    assert response.status_code == 200, response.data
    return response.json["token"]


def lookup(app, token: str | None, **query):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().get("/helpdesk/v1/customer", query_string=query, headers=headers)


def test_a_help_desk_sees_the_customers_orders_as_support_does(alert_app, deliver, work, smtp):  # noqa: F811
    _settings(alert_app, notify_to="owner@shop.example")
    _order_with_a_failed_parcel(deliver, utcnow() - timedelta(days=1))
    work()
    token = make_token(alert_app)
    with alert_app.app_context():
        stored = db.session.execute(select(HelpdeskToken)).scalar_one()
        assert token not in (stored.token_hash, stored.hint) and stored.hint == token[-4:]  # only its hash is kept

    response = lookup(alert_app, token, email="JON@example.com")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    (order,) = response.json["orders"]
    assert order["name"] == "#1001" and order["customer"]["email"] == "jon@example.com"
    assert "/app/orders/" in order["admin_url"]
    (parcel,) = order["parcels"]
    assert parcel["carrier"]["tracking_number"] == "SHP5012345678" and parcel["status"] == "exception"
    assert len(parcel["events"]) == 2 and "/l/track/" in parcel["shopper_link"]
    assert [a["kind"] for a in order["alerts"]] == ["exception"]
    assert {m["trigger"] for m in order["messages"]["messages"]} >= {"Order confirmed", "Delivery problem"}
    assert lookup(alert_app, token, order="#1001").json["orders"][0]["name"] == "#1001"
    thai = lookup(alert_app, token, order="1001", locale="th").json["orders"][0]
    assert thai["status_label"] == "การจัดส่งมีปัญหา"
    assert lookup(alert_app, token, email="nobody@example.com").json["orders"] == []


def test_a_rotated_or_revoked_token_stops_working_at_once(alert_app, deliver):  # noqa: F811
    deliver("orders/create", order_payload(utcnow()))
    first = make_token(alert_app)
    assert lookup(alert_app, first, order="#1001").status_code == 200
    second = make_token(alert_app)
    assert lookup(alert_app, first, order="#1001").status_code == 401
    assert lookup(alert_app, second, order="#1001").status_code == 200
    revoked = alert_app.test_client().post(
        "/app/helpdesk/token/revoke",
        headers={"Authorization": f"Bearer {make_id_token(SHOP)}", "Accept": "application/json"},
    )
    assert revoked.status_code == 200
    assert lookup(alert_app, second, order="#1001").status_code == 401


def test_the_help_desk_page_speaks_thai(alert_app, deliver):  # noqa: F811
    deliver("orders/create", order_payload(utcnow()))
    page = alert_app.test_client().get(
        "/app/helpdesk", query_string={"shop": SHOP, "id_token": make_id_token(SHOP), "locale": "th"}
    )
    assert page.status_code == 200 and "ระบบบริการลูกค้า" in page.get_data(as_text=True)
