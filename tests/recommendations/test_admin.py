"""The merchant's recommendations page: report per placement, validated settings, sync progress, shop scoping."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.demo import DEMO_SHOP_DOMAIN
from app.extensions import db
from app.recommendations.models import (
    Attribution,
    CatalogProduct,
    CatalogSync,
    ImpressionCount,
    RecommendationClick,
    RecommendationSettings,
)
from app.shopify.models import Shop

VALID = {
    "is_enabled": "on",
    "excluded_product_ids": "9, gid://shopify/Product/12",
    "pins_tracking_page": "3,4",
    "pins_email": "",
    "discount_code": "THANKS10",
    "attribution_window_days": "14",
}


@pytest.fixture()
def owner(make_app):
    app = make_app(demo_login=True)
    with app.app_context():
        shop = Shop(domain=DEMO_SHOP_DOMAIN, is_installed=True, currency="THB")
        other = Shop(domain="other-store.myshopify.com", is_installed=True)
        db.session.add_all([shop, other])
        db.session.flush()
        today = utcnow()
        db.session.add_all(
            [
                ImpressionCount(shop_id=shop.id, day=today.date(), placement="tracking_page", views=40, cards=160),
                RecommendationClick(
                    shop_id=shop.id,
                    public_id="a" * 24,
                    placement="tracking_page",
                    shopify_product_id=3,
                    clicked_at=today,
                ),
                Attribution(
                    shop_id=shop.id,
                    shopify_order_id=1,
                    placement="tracking_page",
                    method="link",
                    revenue=1290,
                    currency="THB",
                    attributed_at=today,
                ),
                # Another shop's figures must never show.
                ImpressionCount(shop_id=other.id, day=today.date(), placement="email", views=99, cards=99),
                CatalogSync(shop_id=other.id, status="failed", error="other shop's error"),
                *[
                    CatalogProduct(shop_id=shop.id, shopify_product_id=pid, title=title, image_url=image)
                    for pid, title, image in (
                        (3, "Linen shirt", "https://cdn.shopify.com/s/files/1/shirt.jpg"),
                        (4, "Linen trousers", None),
                        (9, "Gift card", None),
                        (12, "Sample sachet", None),
                        (13, "Cotton tee 100% organic", None),
                        (14, "Cotton_tee plain", None),
                    )
                ],
                CatalogProduct(shop_id=other.id, shopify_product_id=77, title="Linen (the other shop's)"),
            ]
        )
        db.session.commit()
    return app


def test_the_page_reports_ctr_and_revenue_per_placement_for_this_shop_only(owner):
    client = owner.test_client()
    page = client.get("/app/recommendations").get_data(as_text=True)
    assert "Tracking page" in page and "160" in page and "0.6%" in page and "1,290.00 THB" in page
    assert "99" not in page and "other shop" not in page
    report = client.get("/app/recommendations/api/report").json
    row = next(r for r in report["placements"] if r["placement"] == "tracking_page")
    assert (row["cards"], row["clicks"], row["orders"], row["revenue"]) == (160, 1, 1, "1290.00")
    email = next(r for r in report["placements"] if r["placement"] == "email")
    assert email["views"] == 0


def test_settings_are_validated_and_saved(owner):
    client = owner.test_client()
    assert client.post("/app/recommendations/api/settings", json=VALID).status_code == 200
    with owner.app_context():
        settings = db.session.execute(select(RecommendationSettings)).scalar_one()
        assert settings.excluded_product_ids == [9, 12]
        assert settings.pins == {"tracking_page": [3, 4]}
        assert (settings.discount_code, settings.attribution_window_days) == ("THANKS10", 14)


def test_bad_settings_name_every_field_and_change_nothing(owner):
    client = owner.test_client()
    bad = dict(
        VALID,
        excluded_product_ids="nine",
        pins_email="1;DROP",
        discount_code="no spaces!",
        attribution_window_days="365",
    )
    response = client.post("/app/recommendations/api/settings", json=bad)
    assert response.status_code == 400
    assert set(response.json["fields"]) == {
        "excluded_product_ids",
        "pins_email",
        "discount_code",
        "attribution_window_days",
    }
    assert client.post("/app/recommendations/api/settings", data="not json").status_code == 400
    with owner.app_context():
        assert db.session.execute(select(RecommendationSettings)).first() is None


def test_sync_progress_is_shown_and_a_second_sync_is_refused_while_one_runs(owner):
    with owner.app_context():
        shop = db.session.execute(select(Shop).where(Shop.domain == DEMO_SHOP_DOMAIN)).scalar_one()
        db.session.add(CatalogSync(shop_id=shop.id, status="importing", object_count=500, imported_products=120))
        db.session.commit()
    client = owner.test_client()
    page = client.get("/app/recommendations").get_data(as_text=True)
    assert "importing" in page and 'max="500" value="120"' in page
    assert client.get("/app/recommendations/api/sync").json["sync"]["imported_products"] == 120
    assert client.post("/app/recommendations/api/sync").status_code == 409


def test_the_page_needs_a_session(client):
    assert client.get("/app/recommendations").status_code in (302, 401)
    assert client.post("/app/recommendations/api/settings", json=VALID).status_code in (302, 401)


def test_pins_and_exclusions_must_be_products_of_this_shops_catalogue(owner):
    client = owner.test_client()
    for field, ids in (("pins_email", "77"), ("excluded_product_ids", "3, 999999"), ("pins_tracking_page", "")):
        response = client.post("/app/recommendations/api/settings", json=dict(VALID, **{field: ids}))
        if not ids:
            assert response.status_code == 200
            continue
        assert response.status_code == 400 and set(response.json["fields"]) == {field}
        missing = ids.split(", ")[-1]
        assert missing in response.json["fields"][field] and "catalogue" in response.json["fields"][field]
    thai = client.post("/app/recommendations/api/settings?locale=th", json=dict(VALID, pins_email="77"))
    assert "แคตตาล็อก" in thai.json["fields"]["pins_email"]
    with owner.app_context():
        settings = db.session.execute(select(RecommendationSettings)).scalar_one()
        assert settings.pins == {} and 77 not in (settings.excluded_product_ids or [])


def test_the_page_shows_each_chosen_product_with_its_title_and_picture(owner):
    client = owner.test_client()
    assert client.post("/app/recommendations/api/settings", json=VALID).status_code == 200
    page = client.get("/app/recommendations").get_data(as_text=True)
    picker = page.split('data-picker="pins_tracking_page"', 1)[1].split('data-picker="', 1)[0]
    assert "Linen shirt" in picker and "Linen trousers" in picker
    assert 'src="https://cdn.shopify.com/s/files/1/shirt.jpg"' in picker
    assert 'name="pins_tracking_page" value="3,4"' in picker


def test_catalogue_search_finds_titles_of_this_shop_only(owner):
    client = owner.test_client()
    found = client.get("/app/recommendations/api/products?q=linen").json["products"]
    assert [p["title"] for p in found] == ["Linen shirt", "Linen trousers"]  # never the other shop's
    assert found[0] == {
        "id": 3,
        "title": "Linen shirt",
        "image_url": "https://cdn.shopify.com/s/files/1/shirt.jpg",
        "is_recommendable": True,
    }
    # LIKE's wildcards are matched as themselves; titles starting with the words come first.
    assert [p["id"] for p in client.get("/app/recommendations/api/products?q=100%").json["products"]] == [13]
    assert [p["id"] for p in client.get("/app/recommendations/api/products?q=n_t").json["products"]] == [14]
    assert [p["id"] for p in client.get("/app/recommendations/api/products?q=TEE").json["products"]] == [13, 14]
    assert client.get("/app/recommendations/api/products?q=shirt").json["products"][0]["id"] == 3
    assert len(client.get("/app/recommendations/api/products").json["products"]) == 6
