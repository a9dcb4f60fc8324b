"""Fixtures for reviews: the returns feature's app on the fake Shopify and the real SMTP server, an order of two
products (in transit, or delivered) through signed webhooks, and a clock for the request sweep."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from app.extensions import db
from tests.fakes.shopify import fake_shopify
from tests.notifications.conftest import smtp
from tests.returns.conftest import (
    CUSTOMER_ID,
    LINE_SHIRT,
    LINE_TOTE,
    ORDER_ID,
    SHIRT_PRODUCT,
    TOTE_PRODUCT,
    delivered_order,
    fulfillment_payload,
    order_payload,
    post,
    shop_domain,
    shop_id,
    work,
)

__all__ = [
    "CUSTOMER_ID",
    "SHIRT_PRODUCT",
    "TOTE_PRODUCT",
    "delivered_order",
    "fake_shopify",
    "shop_domain",
    "shop_id",
    "smtp",
    "work",
]


@pytest.fixture()
def fake_app(make_app, fake_shopify, smtp) -> Iterator[Flask]:
    application = make_app(
        shopify_admin_origin=fake_shopify.origin, demo_login=True, smtp_url=smtp.url, mail_from="updates@aftercart.test"
    )
    with application.app_context():
        yield application
        db.session.remove()


def two_product_order(order_id: int, number: int, email: str = "mali@example.com", customer_id: int = CUSTOMER_ID):
    payload = order_payload(order_id, number, email=email)
    payload["customer"]["id"] = customer_id
    payload["line_items"] = [i for i in payload["line_items"] if i["id"] in (LINE_SHIRT, LINE_TOTE)]
    for item in payload["line_items"]:
        item["id"] = item["id"] + order_id % 1000 * 10  # line item ids are unique across orders
    return payload


@pytest.fixture()
def shipped(fake_app, shop_id, shop_domain, work) -> Callable[..., tuple[int, int, datetime]]:
    """An order of a shirt and a tote, fulfilled `days_ago` and in transit (no delivered scan):
    (shopify order id, fulfilment id, fulfilled at)."""

    def make(days_ago: float = 3, order_id: int = ORDER_ID, number: int = 1001, **who) -> tuple[int, int, datetime]:
        fulfilled = datetime.now(UTC) - timedelta(days=days_ago)
        order = two_product_order(order_id, number, **who)
        assert post(fake_app, "orders/create", order, shop=shop_domain).status_code == 200
        fid = 4_400_000_000_000 + order_id % 100000
        fulfillment = fulfillment_payload(order_id, fid, fulfilled)
        fulfillment["created_at"] = fulfilled.isoformat().replace("+00:00", "Z")
        fulfillment["updated_at"] = fulfillment["created_at"]
        fulfillment["shipment_status"] = "in_transit"
        fulfillment["line_items"] = [{"id": i["id"], "quantity": 1} for i in order["line_items"]]
        assert post(fake_app, "fulfillments/create", fulfillment, shop=shop_domain).status_code == 200
        work()
        return order_id, fid, fulfilled

    return make


def deliver(fake_app, shop_domain: str, order_id: int, fid: int, when: datetime, work) -> None:
    """The delivered scan arrives (fulfillments/update with shipment_status delivered)."""
    order = two_product_order(order_id, 0)
    fulfillment = fulfillment_payload(order_id, fid, when)
    fulfillment["line_items"] = [{"id": i["id"], "quantity": 1} for i in order["line_items"]]
    fulfillment["updated_at"] = when.isoformat().replace("+00:00", "Z")
    assert post(fake_app, "fulfillments/update", fulfillment, shop=shop_domain).status_code == 200
    work()
