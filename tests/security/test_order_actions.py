"""Attacks on the order page's one-click actions (/app/orders/<id>/actions/*, /parcels/<id>/mark, /notes)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.admin.models import OrderActivity
from app.extensions import db
from app.notifications.models import Notification, OrderMessagePause
from app.orders.models import Fulfillment, Order
from app.shopify.models import Shop
from tests.conftest import OTHER_SHOP, SHOP
from tests.fakes.shopify import make_id_token

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _order_of(domain: str, number: int) -> tuple[int, int]:
    shop = db.session.execute(select(Shop).where(Shop.domain == domain)).scalar_one_or_none()
    if shop is None:
        shop = Shop(domain=domain, is_installed=True)
        db.session.add(shop)
        db.session.flush()
    order = Order(shop_id=shop.id, shopify_order_id=number, name=f"#{number}", email="jon@example.com")
    parcel = Fulfillment(shop_id=shop.id, shopify_order_id=number, shopify_fulfillment_id=number * 10, status="success")
    db.session.add_all([order, parcel])
    db.session.commit()
    return order.id, parcel.shopify_fulfillment_id


def _nothing_happened() -> None:
    db.session.expire_all()
    assert db.session.execute(select(OrderActivity)).first() is None
    assert db.session.execute(select(OrderMessagePause)).first() is None
    assert db.session.execute(select(Notification)).first() is None
    assert (
        db.session.execute(select(Fulfillment.merchant_state).where(Fulfillment.merchant_state.is_not(None))).first()
        is None
    )


def _paths(order_id: int, parcel_id: int) -> list[tuple[str, dict]]:
    return [
        (f"/app/orders/{order_id}/actions/resend", {"channel": "email", "token": "a"}),
        (f"/app/orders/{order_id}/actions/tracking_link", {"channel": "email", "token": "b"}),
        (f"/app/orders/{order_id}/actions/pause", {}),
        (f"/app/orders/{order_id}/actions/resume", {}),
        (f"/app/orders/{order_id}/parcels/{parcel_id}/mark", {"state": "lost"}),
        (f"/app/orders/{order_id}/notes", {"note": "hello"}),
    ]


def test_another_shops_order_or_parcel_is_a_404_and_nothing_changes(fake_app, install_shop):
    install_shop()
    mine, my_parcel = _order_of(SHOP, 1001)
    other, other_parcel = _order_of(OTHER_SHOP, 2002)
    client = fake_app.test_client()
    headers = {"Authorization": f"Bearer {make_id_token(SHOP)}", "Accept": "application/json"}
    for path, form in _paths(other, other_parcel):
        assert client.post(path, data=form, headers=headers).status_code == 404, path
    # My order, but another shop's parcel id (or my parcel on another order) is a 404 too.
    assert (
        client.post(
            f"/app/orders/{mine}/parcels/{other_parcel}/mark", data={"state": "lost"}, headers=headers
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/app/orders/{other}/parcels/{my_parcel}/mark", data={"state": "lost"}, headers=headers
        ).status_code
        == 404
    )
    assert client.post(f"/app/orders/{mine}/actions/delete", headers=headers).status_code == 404
    _nothing_happened()


def test_no_or_forged_session_token_is_refused_and_a_get_changes_nothing(fake_app, install_shop):
    install_shop()
    mine, my_parcel = _order_of(SHOP, 1001)
    client = fake_app.test_client()
    forged = make_id_token(SHOP, secret="not-the-app-secret")
    for path, form in _paths(mine, my_parcel):
        for headers in ({}, {"Authorization": f"Bearer {forged}"}):
            response = client.post(path, data=form, query_string={"shop": SHOP}, headers=headers)
            assert response.status_code in (302, 401), (path, headers, response.status_code)
        # A link (GET) never acts, even with a valid token in the query string.
        response = client.get(path, query_string={"shop": SHOP, "id_token": make_id_token(SHOP), **form})
        assert response.status_code == 405, path
    _nothing_happened()
