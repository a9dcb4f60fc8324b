"""The demo store (SQLite, inline jobs) shows recommendations on its tracking and returns pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app import create_app
from app.config import Settings
from app.demo import DEMO_SHOP_DOMAIN, demo_tracking_links
from app.extensions import db
from app.orders.models import Fulfillment, Order
from app.recommendations import recommend
from app.returns.models import ReturnRequest
from app.returns.storefront import make_return_token
from tests.storefront.test_tracking_page import signed_query


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    app = create_app(Settings.from_env({"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{path}"}))
    with app.app_context():
        from app.demo import setup_demo

        shop = setup_demo()
        shop_id = shop.id
        db.session.remove()
    yield app, shop_id
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_demo_tracking_pages_show_recommendations_except_to_a_shopper_who_needs_help(demo):
    app, shop_id = demo
    client = app.test_client()
    with app.app_context():
        links = demo_tracking_links(shop_id)
        in_trouble = set(
            db.session.execute(
                select(Order.name)
                .join(Fulfillment, Fulfillment.shopify_order_id == Order.shopify_order_id)
                .where(
                    Order.shop_id == shop_id,
                    Fulfillment.shop_id == shop_id,
                    Fulfillment.is_delayed
                    | Fulfillment.is_stalled
                    | Fulfillment.shipment_state.in_(["attempted_delivery", "exception", "returned_to_sender"]),
                )
            ).scalars()
        )
    assert links and {"#1008", "#1010", "#1011", "#1012"} <= in_trouble
    for n, (name, _, path) in enumerate(links):
        # One shopper each: the lookup limit is per client.
        page = client.get(path, headers={"X-Forwarded-For": f"10.0.0.{n}"}).get_data(as_text=True)
        if name in in_trouble:
            assert 'data-slot="recommendations"' not in page, name
        else:
            assert 'data-slot="recommendations"' in page, name
            assert "Straw hat" in page, name  # the demo merchant's pin


def test_demo_return_pages_offer_the_next_size_and_similar_products(demo):
    app, shop_id = demo
    with app.app_context():
        maya = db.session.execute(select(Order).where(Order.order_number == 1023)).scalar_one()
        exchange = recommend(shop_id, "return_exchange", order_id=maya.id, return_reason="too_small")
        assert (exchange[0].title, exchange[0].variant_title, exchange[0].reason) == ("Linen shirt", "L", "next_size")
        similar = recommend(shop_id, "return_status", order_id=maya.id, return_reason="not_as_described")
        assert similar and {c.title for c in similar} <= {"Cotton shorts", "Linen trousers"}
        db.session.remove()


def test_demo_returns_portal_page_shows_recommendations(demo):
    app, _ = demo
    secret = app.config["SETTINGS"].shopify_api_secret
    query = signed_query({"order": "1023", "email": "maya@example.com"}, secret=secret, shop=DEMO_SHOP_DOMAIN)
    page = app.test_client().get("/proxy/returns?" + query, headers={"X-Forwarded-For": "10.0.1.1"})
    assert page.status_code == 200
    assert "Straw hat" in page.get_data(as_text=True) or "Silk scarf" in page.get_data(as_text=True)


def test_no_upsell_on_the_status_page_of_a_return_the_shop_caused(demo):
    app, shop_id = demo
    secret = app.config["SETTINGS"].shopify_api_secret
    client = app.test_client()
    pages = {}
    for n, reason in enumerate(("not_as_described", "damaged", "wrong_item")):
        with app.app_context():
            maya = db.session.execute(select(Order).where(Order.order_number == 1023)).scalar_one()
            request = ReturnRequest(
                shop_id=shop_id,
                shopify_order_id=maya.shopify_order_id,
                order_id=maya.id,
                idempotency_key=f"upsell-{reason}",
                source="portal",
                currency="THB",
                reason_code=reason,
            )
            db.session.add(request)
            db.session.commit()
            token = make_return_token(shop_id, request.id)
            db.session.remove()
        query = signed_query({"return": token}, secret=secret, shop=DEMO_SHOP_DOMAIN)
        page = client.get("/proxy/returns/status?" + query, headers={"X-Forwarded-For": f"10.0.2.{n}"})
        assert page.status_code == 200, reason
        pages[reason] = page.get_data(as_text=True)
    assert 'data-slot="recommendations"' in pages["not_as_described"]
    assert 'data-slot="recommendations"' not in pages["damaged"]
    assert 'data-slot="recommendations"' not in pages["wrong_item"]
