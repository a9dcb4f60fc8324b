"""Attacks on the pages anyone with a signed link opens (/l/...): framing by another site."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.notifications.links import unsubscribe_url
from app.orders.models import Order
from app.shopify.models import Shop
from app.storefront.links import make_track_token
from tests.conftest import SHOP, load_fixture


@pytest.fixture()
def order_id(ctx, post_webhook, run_jobs) -> tuple[int, int]:
    post_webhook("orders/create", load_fixture("orders_create.json"))
    run_jobs()
    shop_id = db.session.execute(select(Shop.id).where(Shop.domain == SHOP)).scalar_one()
    return shop_id, db.session.execute(select(Order.id).where(Order.shop_id == shop_id)).scalar_one()


def test_link_pages_cannot_be_framed_by_another_site(client, order_id):
    shop_id, order = order_id
    unsubscribe_path = "/" + unsubscribe_url(shop_id, "email", "jon@example.com").split("/", 3)[3]
    pages = {
        "tracking page": client.get(f"/l/track/{make_track_token(shop_id, order)}"),
        "unsubscribe page": client.get(unsubscribe_path),
        "unsubscribed page": client.post(unsubscribe_path),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert response.headers.get("Content-Security-Policy") == "frame-ancestors 'none'", name
        assert response.headers.get("X-Frame-Options") == "DENY", name
