"""Clicks through signed links, orders credited to them (link, cart attribute, discount code), the report."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.recommendations.attribution import placement_report
from app.recommendations.models import Attribution, RecommendationClick, RecommendationSettings
from tests.recommendations.conftest import JACKET, JON, JON_EMAIL, jon_orders, order_payload
from tests.storefront.test_tracking_page import signed_query


def _click(client, deliver, placement_path="/proxy/api/track"):
    jon_orders(deliver)
    body = client.get(placement_path + "?" + signed_query({"order": "1002", "email": JON_EMAIL})).json
    card = next(c for c in body["recommendations"] if c["product_id"] == JACKET)
    link = urlparse(card["url"])
    response = client.get(link.path)
    assert response.status_code == 302
    return urlparse(response.headers["Location"])


def _settings(shop_id, **values):
    row = RecommendationSettings(shop_id=shop_id, is_enabled=True, attribution_window_days=7)
    for name, value in values.items():
        setattr(row, name, value)
    db.session.add(row)
    db.session.commit()


def _new_order(order_id, **changes):
    return order_payload(
        order_id, [(JACKET, JACKET * 100 + 1)], customer_id=JON, email=JON_EMAIL, created=utcnow(), **changes
    )


def test_a_click_is_recorded_and_redirects_to_the_product_with_its_click_id(client, shop_with_history, deliver):
    target = _click(client, deliver)
    assert (target.scheme, target.netloc, target.path) == ("https", "snowdevil.myshopify.com", "/products/rain-jacket")
    params = parse_qs(target.query)
    click = db.session.execute(select(RecommendationClick)).scalar_one()
    assert params["ac_click"] == [click.public_id] and params["utm_campaign"] == ["tracking_widget"]
    assert click.placement == "tracking_widget" and click.shopify_product_id == JACKET
    assert click.customer_key == f"c:{JON}"


def test_a_forged_or_altered_link_is_refused(client, shop_with_history, deliver):
    jon_orders(deliver)
    card = client.get("/proxy/api/track?" + signed_query({"order": "1002", "email": JON_EMAIL})).json[
        "recommendations"
    ][0]
    path = urlparse(card["url"]).path
    assert client.get(path[:-2] + ("aa" if not path.endswith("aa") else "bb")).status_code == 404
    assert client.get("/l/r/not-a-token").status_code == 404
    assert db.session.execute(select(RecommendationClick)).first() is None


def test_an_order_through_a_recommendation_link_is_credited_once_with_its_revenue(client, shop_with_history, deliver):
    target = _click(client, deliver)
    landing = f"{target.path}?{target.query}"
    deliver(("orders/create", _new_order(7500, landing_site=landing, current_total_price="1290.00")))
    deliver(
        (
            "orders/updated",
            _new_order(7500, landing_site=landing, current_total_price="1290.00", updated_at="2030-01-01T00:00:00Z"),
        )
    )
    attribution = db.session.execute(select(Attribution)).scalar_one()
    assert (attribution.shopify_order_id, attribution.method, attribution.placement) == (
        7500,
        "link",
        "tracking_widget",
    )
    assert attribution.revenue == Decimal("1290.00") and attribution.currency == "THB"
    report = {r["placement"]: r for r in placement_report(db.session, shop_with_history.id, utcnow() - timedelta(1))}
    widget = report["tracking_widget"]
    assert widget["clicks"] == 1 and widget["orders"] == 1 and widget["revenue"] == Decimal("1290.00")
    assert widget["cards"] >= 1 and widget["ctr"] == pytest.approx(1 / widget["cards"])


def test_a_cart_attribute_carries_the_click_too(client, shop_with_history, deliver):
    target = _click(client, deliver)
    click_id = parse_qs(target.query)["ac_click"][0]
    deliver(("orders/create", _new_order(7501, note_attributes=[{"name": "_aftercart_click", "value": click_id}])))
    attribution = db.session.execute(select(Attribution)).scalar_one()
    assert attribution.method == "cart_attribute" and attribution.placement == "tracking_widget"


def test_a_click_older_than_the_window_does_not_count(client, shop_with_history, deliver):
    target = _click(client, deliver)
    click = db.session.execute(select(RecommendationClick)).scalar_one()
    click.clicked_at = utcnow() - timedelta(days=8)
    db.session.commit()
    deliver(("orders/create", _new_order(7502, landing_site=f"{target.path}?{target.query}")))
    assert db.session.execute(select(Attribution)).first() is None


def test_a_longer_window_set_by_the_merchant_counts_the_same_click(client, shop_with_history, deliver):
    _settings(shop_with_history.id, attribution_window_days=14)
    target = _click(client, deliver)
    click = db.session.execute(select(RecommendationClick)).scalar_one()
    click.clicked_at = utcnow() - timedelta(days=8)
    db.session.commit()
    deliver(("orders/create", _new_order(7503, landing_site=f"{target.path}?{target.query}")))
    assert db.session.execute(select(Attribution.method)).scalar_one() == "link"


def test_the_merchants_discount_code_attributes_an_order_and_rides_on_the_link(client, shop_with_history, deliver):
    _settings(shop_with_history.id, discount_code="THANKS10")
    target = _click(client, deliver)
    assert target.path == "/discount/THANKS10"
    assert parse_qs(target.query)["redirect"][0].startswith("/products/rain-jacket?")
    deliver(("orders/create", _new_order(7504, discount_codes=[{"code": "thanks10", "amount": "10.00"}])))
    attribution = db.session.execute(select(Attribution)).scalar_one()
    assert attribution.method == "discount_code" and attribution.placement == "tracking_widget"


def test_an_order_without_any_signal_is_not_credited(client, shop_with_history, deliver):
    _settings(shop_with_history.id, discount_code="THANKS10")
    _click(client, deliver)
    deliver(("orders/create", _new_order(7505, landing_site="/products/rain-jacket?ac_click=guessed")))
    assert db.session.execute(select(Attribution)).first() is None
