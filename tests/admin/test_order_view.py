"""The order page a support agent keeps open: parcels with scans, estimate and flags, the shopper's own link,
alerts, every message with why, consent per channel, returns — from the real intake, in English and Thai."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.orders.models import Order
from tests.admin.test_admin_look_browser import visible_text
from tests.alerts.conftest import alert_app, receiver, work  # noqa: F401  (fixtures)
from tests.alerts.test_alerts import _order_with_a_failed_parcel, _settings
from tests.conftest import SHOP
from tests.fakes.shopify import make_id_token
from tests.notifications.conftest import smtp  # noqa: F401  (fixture)
from tests.shopify.conftest import fake_shopify  # noqa: F401  (fixture)

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture()
def deliver(alert_app, post_webhook):  # noqa: F811
    client = alert_app.test_client()

    def send(topic, payload):
        assert post_webhook(topic, payload, via=client).status_code == 200

    return send


def _page(app, path: str, locale: str = "en") -> str:
    response = app.test_client().get(
        path, query_string={"shop": SHOP, "id_token": make_id_token(SHOP), "locale": locale}
    )
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_the_order_page_shows_what_the_shopper_saw_and_was_told(alert_app, deliver, work, smtp):  # noqa: F811
    _settings(alert_app, notify_to="owner@shop.example")
    _order_with_a_failed_parcel(deliver, utcnow() - timedelta(days=1))
    work()
    with alert_app.app_context():
        order_id = db.session.execute(select(Order.id)).scalar_one()
    html = _page(alert_app, f"/app/orders/{order_id}")
    text = " ".join(visible_text(html).split())
    assert "Parcels" in text and "SHP5012345678" in text and "KEX Express" in text
    assert "Scans (2)" in text  # both scans, newest first
    assert "Carrier reported a problem" in text and "since" in text  # the alert, with since when
    assert "Messages and consent" in text, text
    assert "Email: updates and offers (jon@example.com) · SMS: no consent" in text  # the fixture accepts marketing
    assert "Delivery problem Email Sent" in text and "stale: shipment already exception" in text  # sent, and why not
    assert "Shipped" in text or "On its way" in text or "shipped" in text.lower()
    link = re.search(r'value="(https://[^"]+/l/track/[^"]+)"', html).group(1)
    path = link.split("aftercart.test", 1)[-1] if "aftercart.test" in link else "/" + link.split("/", 3)[3]
    assert alert_app.test_client().get(path).status_code == 200  # the shopper's own page opens

    thai = visible_text(_page(alert_app, f"/app/orders/{order_id}", "th"))
    assert "พัสดุ" in thai and "ข้อความและความยินยอม" in thai and "ขนส่งแจ้งปัญหา" in thai


def test_another_shops_order_page_is_a_404(alert_app, deliver, work):  # noqa: F811
    _order_with_a_failed_parcel(deliver, utcnow() - timedelta(days=1))
    work()
    with alert_app.app_context():
        from app.shopify.models import Shop

        other = Shop(domain="other-store.myshopify.com", is_installed=True)
        db.session.add(other)
        db.session.flush()
        foreign = Order(shop_id=other.id, shopify_order_id=4242, name="#4242", order_number=4242)
        db.session.add(foreign)
        db.session.commit()
        foreign_id = foreign.id
    response = alert_app.test_client().get(
        f"/app/orders/{foreign_id}", query_string={"shop": SHOP, "id_token": make_id_token(SHOP)}
    )
    assert response.status_code == 404 and b"#4242" not in response.data


def test_the_home_page_says_where_each_order_is_not_shopifys_fulfilment_flag(alert_app, deliver, work):  # noqa: F811
    """Shopify's `fulfillment_status` stays null until an orders/updated arrives: the home page read it and said
    "Unfulfilled" for a shipped order. It shows the derived status and each parcel, as the orders list does."""
    _order_with_a_failed_parcel(deliver, utcnow() - timedelta(days=1))
    work()
    text = " ".join(visible_text(_page(alert_app, "/app")).split())
    assert "Unfulfilled" not in text
    assert "Problem with delivery" in text and "SHP5012345678" in text, text
    thai = " ".join(visible_text(_page(alert_app, "/app", "th")).split())
    assert "SHP5012345678" in thai and "ยังไม่จัดส่ง" not in thai
