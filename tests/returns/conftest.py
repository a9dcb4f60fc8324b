"""Fixtures for returns: an app pointed at the fake Shopify, an order delivered through signed webhooks and
mirrored in the fake (fulfilment line items, a captured payment), product facts, and a worker."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select

from app.extensions import db
from app.jobs import QUEUES
from app.orders.models import Order
from app.returns.models import CustomerLoyalty, ReturnProductFacts
from app.shopify.shops import get_shop, shop_id_for_domain
from app.shopify.tokens import ensure_offline_token
from tests.conftest import SHOP, webhook_headers
from tests.fakes.shopify import FakeShopify, fake_shopify, line_item_node, make_id_token, order_node

__all__ = ["fake_shopify"]

ORDER_ID = 7_700_000_000_001
CUSTOMER_ID = 6_600_000_000_001
SHIRT_PRODUCT, SHIRT_M, SHIRT_L = 8_001, 9_001, 9_002
SALE_PRODUCT, SALE_VARIANT = 8_002, 9_003
TOTE_PRODUCT, TOTE_VARIANT = 8_003, 9_004
LINE_SHIRT, LINE_SALE, LINE_TOTE = 501, 502, 503
FULFILLMENT_ID = 4_400_000_000_001


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def order_payload(order_id: int = ORDER_ID, number: int = 1001, email: str = "mali@example.com", **changes) -> dict:
    created = datetime.now(UTC) - timedelta(days=20)
    payload = {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{number}",
        "order_number": number,
        "email": email,
        "customer_locale": "en",
        "financial_status": "paid",
        "currency": "THB",
        "total_price": "2070.00",
        "current_total_price_set": {"shop_money": {"amount": "2070.00", "currency_code": "THB"}},
        "shipping_address": {"country_code": "TH", "province_code": "TH-10"},
        "customer": {"id": CUSTOMER_ID, "first_name": "Mali", "email": email, "updated_at": iso(created)},
        "line_items": [
            {
                "id": LINE_SHIRT,
                "title": "Linen shirt",
                "variant_title": "M",
                "quantity": 2,
                "price": "690.00",
                "product_id": SHIRT_PRODUCT,
                "variant_id": SHIRT_M,
                "discount_allocations": [{"amount": "414.00", "discount_application_index": 0}],
            },
            {
                "id": LINE_SALE,
                "title": "Sale scarf",
                "quantity": 1,
                "price": "100.00",
                "product_id": SALE_PRODUCT,
                "variant_id": SALE_VARIANT,
            },
            {
                "id": LINE_TOTE,
                "title": "Canvas tote",
                "quantity": 1,
                "price": "590.00",
                "product_id": TOTE_PRODUCT,
                "variant_id": TOTE_VARIANT,
            },
        ],
        "created_at": iso(created),
        "updated_at": iso(created),
    }
    payload.update(changes)
    return payload


def fulfillment_payload(order_id: int, fulfillment_id: int, delivered_at: datetime) -> dict:
    return {
        "id": fulfillment_id,
        "order_id": order_id,
        "status": "success",
        "shipment_status": "delivered",
        "tracking_company": "Kerry Express",
        "tracking_number": "SHP5012345678",
        "tracking_numbers": ["SHP5012345678"],
        "name": "#1001.1",
        "created_at": iso(delivered_at - timedelta(days=2)),
        "updated_at": iso(delivered_at),
        "destination": {"country_code": "TH"},
        "line_items": [
            {"id": LINE_SHIRT, "quantity": 2},
            {"id": LINE_SALE, "quantity": 1},
            {"id": LINE_TOTE, "quantity": 1},
        ],
    }


@pytest.fixture()
def shop_domain() -> str:
    """The shop the tests run as; admin tests use the demo shop (its owner's login bypass)."""
    return SHOP


@pytest.fixture()
def fake_app(make_app: Callable[..., Flask], fake_shopify: FakeShopify) -> Iterator[Flask]:
    application = make_app(shopify_admin_origin=fake_shopify.origin, demo_login=True)
    with application.app_context():
        yield application
        db.session.remove()


@pytest.fixture()
def work(fake_app: Flask, redis_conn: Redis) -> Callable[[], int]:
    """Work every queue until empty, in the app that talks to the fake Shopify (jobs that fail are left
    to RQ's retry registry, as in production)."""

    def run() -> int:
        queues = [Queue(name, connection=redis_conn) for name in QUEUES]
        before = sum(len(q) for q in queues)
        SimpleWorker(queues, connection=redis_conn).work(burst=True)
        db.session.rollback()  # jobs share this thread's session; start the test's next step afresh
        return before

    return run


def post(fake_app: Flask, topic: str, payload: dict[str, Any], webhook_id: str | None = None, shop: str = SHOP):
    body = json.dumps(payload).encode()
    headers = webhook_headers(topic, body, shop=shop, webhook_id=webhook_id)
    return fake_app.test_client().post("/webhooks", data=body, headers=headers)


@pytest.fixture()
def shop_id(fake_app: Flask, shop_domain: str) -> int:
    shop_id = shop_id_for_domain(db.session, shop_domain)
    shop = get_shop(db.session, shop_domain)
    shop.is_installed = True
    shop.iana_timezone = "Asia/Bangkok"
    db.session.commit()
    ensure_offline_token(get_shop(db.session, shop_domain), make_id_token(shop_domain))
    return shop_id


def seed_products(shop_id: int) -> None:
    db.session.add_all(
        [
            ReturnProductFacts(
                shop_id=shop_id,
                shopify_product_id=SHIRT_PRODUCT,
                title="Linen shirt",
                product_type="shirt",
                tags=["linen"],
                collections=["summer"],
                variants=[
                    {"id": SHIRT_M, "title": "M", "price": "690.00", "available": True},
                    {"id": SHIRT_L, "title": "L", "price": "690.00", "available": True},
                ],
            ),
            ReturnProductFacts(
                shop_id=shop_id,
                shopify_product_id=SALE_PRODUCT,
                title="Sale scarf",
                tags=["final-sale"],
                variants=[{"id": SALE_VARIANT, "title": "Default", "price": "100.00", "available": True}],
            ),
            ReturnProductFacts(
                shop_id=shop_id,
                shopify_product_id=TOTE_PRODUCT,
                title="Canvas tote",
                tags=[],
                variants=[{"id": TOTE_VARIANT, "title": "Default", "price": "590.00", "available": True}],
            ),
        ]
    )
    db.session.commit()


def make_vip(shop_id: int) -> None:
    db.session.add(
        CustomerLoyalty(
            shop_id=shop_id, shopify_customer_id=CUSTOMER_ID, orders_count=9, amount_spent="25000", tags=["vip"]
        )
    )
    db.session.commit()


@pytest.fixture()
def delivered_order(
    fake_app: Flask, fake_shopify: FakeShopify, shop_id: int, shop_domain: str, work
) -> Callable[..., Order]:
    """An order delivered `days_ago` days ago: in our database through webhooks, and in the fake Shopify."""

    def make(days_ago: int = 5, order_id: int = ORDER_ID, number: int = 1001) -> Order:
        delivered_at = datetime.now(UTC) - timedelta(days=days_ago)
        assert post(fake_app, "orders/create", order_payload(order_id, number), shop=shop_domain).status_code == 200
        fid = FULFILLMENT_ID + order_id % 1000
        fulfillment = fulfillment_payload(order_id, fid, delivered_at)
        assert post(fake_app, "fulfillments/create", fulfillment, shop=shop_domain).status_code == 200
        work()
        if not db.session.execute(select(ReturnProductFacts.id).where(ReturnProductFacts.shop_id == shop_id)).first():
            seed_products(shop_id)
        lines = [
            line_item_node(LINE_SHIRT, title="Linen shirt", quantity=2, price="690.00", currency="THB"),
            line_item_node(LINE_SALE, title="Sale scarf", quantity=1, price="100.00", currency="THB"),
            line_item_node(LINE_TOTE, title="Canvas tote", quantity=1, price="590.00", currency="THB"),
        ]
        node = order_node(
            order_id,
            updated_at=iso(delivered_at),
            number=number,
            total="2070.00",
            currency="THB",
            customer_id=CUSTOMER_ID,
            line_items=lines,
        )
        node["fulfillments"] = [
            {
                "id": f"gid://shopify/Fulfillment/{fid}",
                "fulfillmentLineItems": [
                    {
                        "id": f"gid://shopify/FulfillmentLineItem/{fid * 10 + i}",
                        "quantity": item["quantity"],
                        "lineItem": item,
                    }
                    for i, item in enumerate(lines)
                ],
            }
        ]
        node["transactions"] = [
            {
                "id": f"gid://shopify/OrderTransaction/{order_id}1",
                "kind": "SALE",
                "status": "SUCCESS",
                "gateway": "bogus",
            }
        ]
        node["returns"] = []
        fake_shopify.put_order(shop_domain, node)
        return db.session.execute(
            select(Order).where(Order.shop_id == shop_id, Order.shopify_order_id == order_id)
        ).scalar_one()

    return make
