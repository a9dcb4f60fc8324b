"""Attacks on the embedded admin (/app): where the session token may come from, and framing."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.orders.models import Order
from app.shopify.models import Shop
from tests.conftest import SHOP
from tests.fakes.shopify import make_id_token

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _order(shop_id: int) -> int:
    order = Order(shop_id=shop_id, shopify_order_id=91, name="#1091", order_number=1091, currency="THB")
    db.session.add(order)
    db.session.commit()
    return order.id


@pytest.mark.parametrize(
    "path",
    [
        "/app/api/settings",
        "/app/api/notifications/settings",
        "/app/returns/policy/publish",
        "/app/webhook-events/1/retry",
    ],
)
def test_a_change_of_state_refuses_a_session_token_in_the_query_string(fake_app: Flask, install_shop, path):
    install_shop()
    client = fake_app.test_client()
    # What a page on another site can do: a form that posts with a (leaked or fresh) token in its action URL.
    response = client.post(
        f"{path}?id_token={make_id_token(SHOP)}", data={"x": "1"}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 401
    # The same request as App Bridge makes it, with the token in the Authorization header, gets through auth.
    allowed = client.post(path, json={}, headers={"Authorization": f"Bearer {make_id_token(SHOP)}"})
    assert allowed.status_code != 401


def test_a_page_load_still_takes_the_token_from_the_query_string(fake_app: Flask, install_shop):
    install_shop()
    page = fake_app.test_client().get(f"/app?shop={SHOP}&id_token={make_id_token(SHOP)}")
    assert page.status_code == 200
    assert "frame-ancestors https://" + SHOP in page.headers["Content-Security-Policy"]


def test_a_cross_site_form_is_refused_before_any_view_runs(fake_app: Flask, install_shop):
    install_shop()
    order_id = _order(db.session.execute(select(Shop.id).where(Shop.domain == SHOP)).scalar_one())
    response = fake_app.test_client().post(f"/app/demo/orders/{order_id}/advance?id_token={make_id_token(SHOP)}")
    assert response.status_code == 401


@pytest.mark.parametrize("header", ["Host", "X-Forwarded-Host"])
def test_a_forged_host_is_never_reflected_into_a_redirect(fake_app: Flask, header):
    response = fake_app.test_client().get(f"/app?shop={SHOP}&embedded=1&host=YWRtaW4", headers={header: "evil.example"})
    assert response.status_code in (200, 302, 401)
    assert "evil.example" not in response.headers.get("Location", "")
    assert b"evil.example" not in response.data
