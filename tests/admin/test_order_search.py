"""Support finds any order in one step: by name (with the shop's prefix/suffix), email, phone, tracking number
or customer name; filters by status, flag, carrier and date; newest first, page by page; CSV of the list."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.demo import DEMO_SHOP_DOMAIN
from app.extensions import db
from app.orders import services
from app.orders.models import Fulfillment, Order
from app.shopify.models import Shop
from app.tracking.services import refresh_shipment

T0 = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


def _order(shop_id: int, n: int, **changes) -> None:
    payload = {
        "id": 5000 + n,
        "name": f"#{1000 + n}",
        "order_number": 1000 + n,
        "email": f"Buyer{n}@Example.com",
        "phone": None,
        "customer": {"id": 800 + n, "first_name": "Somchai" if n % 2 else "Jane", "last_name": f"Number{n}"},
        "financial_status": "paid",
        "currency": "THB",
        "total_price": "590.00",
        "created_at": (T0 + timedelta(hours=n)).isoformat(),
        "updated_at": (T0 + timedelta(hours=n)).isoformat(),
        "line_items": [],
    }
    payload.update(changes)
    services.upsert_order(db.session, shop_id, payload)


def _parcel(shop_id: int, n: int, number: str, company: str = "Kerry Express", **changes) -> None:
    payload = {
        "id": 9000 + n,
        "order_id": 5000 + n,
        "status": "success",
        "tracking_company": company,
        "tracking_numbers": [number],
        "created_at": (T0 + timedelta(hours=n, minutes=30)).isoformat(),
        "updated_at": (T0 + timedelta(hours=n, minutes=30)).isoformat(),
        "line_items": [],
    }
    payload.update(changes)
    services.upsert_fulfillment(db.session, shop_id, payload)
    refresh_shipment(db.session, shop_id, 9000 + n)


@pytest.fixture()
def shop(make_app):
    """The demo shop's owner (the admin bypass tests may use) with 60 orders, some shipped, in Bangkok time."""
    app = make_app(demo_login=True)
    with app.app_context():
        shop = Shop(domain=DEMO_SHOP_DOMAIN, is_installed=True, iana_timezone="Asia/Bangkok")
        db.session.add(shop)
        db.session.flush()
        for n in range(1, 61):
            _order(shop.id, n)
        _order(shop.id, 61, name="EU-1237-B", order_number=1237, phone="+66 81 234 5678")
        _parcel(shop.id, 7, "SHP5012345678")
        _parcel(shop.id, 8, "RB123456785TH", company="Thailand Post")
        _parcel(shop.id, 8, "x", id=9999, tracking_numbers=[])  # a second parcel without a number
        delayed = db.session.execute(select(Fulfillment).where(Fulfillment.shopify_fulfillment_id == 9007)).scalar_one()
        delayed.is_delayed = True
        db.session.commit()
        app.shop_id = shop.id
    return app


def _names(response) -> list[str]:
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    return re.findall(r'<a href="/app/orders/\d+[^"]*">([^<]+)</a>', html)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("#1005", ["#1005"]),
        ("1005", ["#1005"]),
        ("eu-1237-b", ["EU-1237-B"]),  # the shop's prefix/suffix, any case
        ("1237", ["EU-1237-B"]),  # the order number inside it
        ("buyer12@example.COM", ["#1012"]),  # email, any case
        ("081-234-5678", ["EU-1237-B"]),  # the phone as the shopper gives it
        ("SHP 5012 345678", ["#1007"]),  # the tracking number as support reads it out
        ("rb 123 456 785 th", ["#1008"]),
        ("jane number44", ["#1044"]),  # a customer's full name
        ("nobody@example.com", []),
    ],
)
def test_one_box_finds_an_order_by_what_support_has(shop, typed, expected):
    assert _names(shop.test_client().get("/app/orders", query_string={"q": typed})) == expected


def test_a_name_prefix_lists_every_match_newest_first(shop):
    names = _names(shop.test_client().get("/app/orders", query_string={"q": "somchai"}))
    assert len(names) == 31 and names[:3] == ["EU-1237-B", "#1059", "#1057"]


def test_pages_are_newest_first_and_never_repeat_or_skip(shop):
    client = shop.test_client()
    seen: list[str] = []
    url, query = "/app/orders", None
    while True:
        response = client.get(url, query_string=query)
        seen += _names(response)
        html = response.get_data(as_text=True)
        following = re.search(r'href="(/app/orders\?[^"]*after=[^"]+)" rel="next"', html)
        if not following:
            break
        url, query = following.group(1).replace("&amp;", "&"), None
    assert len(seen) == 61 and len(set(seen)) == 61
    assert seen[:2] == ["EU-1237-B", "#1060"] and seen[-1] == "#1001"


def test_filters_by_flag_carrier_and_local_date(shop):
    client = shop.test_client()
    assert _names(client.get("/app/orders", query_string={"status": "delayed"})) == ["#1007"]
    with shop.app_context():
        code = db.session.execute(
            select(Fulfillment.carrier_code).where(Fulfillment.shopify_fulfillment_id == 9008)
        ).scalar_one()
    assert code is not None
    page = client.get("/app/orders", query_string={"carrier": code})
    assert _names(page) == ["#1008"]
    assert "Thailand Post" in page.get_data(as_text=True)  # the carrier filter lists the shop's carriers by name
    # #1014 was placed at 17:00 UTC on 2 Nov, midnight of the 3rd in Bangkok: the shop's day, not UTC's, counts.
    on_the_3rd = _names(client.get("/app/orders", query_string={"from": "2026-11-03", "to": "2026-11-03"}))
    assert on_the_3rd == [f"#{n}" for n in range(1037, 1013, -1)]


def test_the_page_speaks_thai_and_shows_local_times(shop):
    html = shop.test_client().get("/app/orders", query_string={"locale": "th", "q": "#1005"}).get_data(as_text=True)
    assert "คำสั่งซื้อ" in html and "ยังไม่จัดส่ง" in html
    assert "พ.ย." in html and "15:00" in html  # 08:00 UTC is 15:00 in Bangkok, Thai month


def test_csv_export_holds_every_filtered_order_and_defuses_formulas(shop):
    with shop.app_context():
        _order(shop.shop_id, 62, customer={"id": 999, "first_name": '=HYPERLINK("http://evil.example")'})
        db.session.commit()
    response = shop.test_client().get("/app/orders.csv", query_string={"q": "=hyperlink"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["Order", "Placed", "Customer"]
    assert rows[1][2].startswith("'=HYPERLINK")
    everything = list(csv.reader(io.StringIO(shop.test_client().get("/app/orders.csv").get_data(as_text=True))))
    assert len(everything) == 1 + 62
    delayed = shop.test_client().get("/app/orders.csv", query_string={"status": "delayed"}).get_data(as_text=True)
    assert [row[0] for row in csv.reader(io.StringIO(delayed))][1:] == ["#1007"]
    assert "SHP5012345678" in delayed


def test_orders_are_in_the_admin_navigation(shop):
    html = shop.test_client().get("/app").get_data(as_text=True)
    assert 'href="/app/orders"' in html


def test_search_is_scoped_to_the_signed_in_shop(shop):
    with shop.app_context():
        other = Shop(domain="other-store.myshopify.com", is_installed=True)
        db.session.add(other)
        db.session.flush()
        _order(other.id, 70, email="secret@other.example")
        db.session.commit()
        assert db.session.execute(select(Order).where(Order.shop_id == other.id)).scalar_one()
    client = shop.test_client()
    assert _names(client.get("/app/orders", query_string={"q": "secret@other.example"})) == []
    assert "secret@other.example" not in client.get("/app/orders.csv").get_data(as_text=True)


def test_a_name_with_quotes_or_backslashes_is_matched_as_typed(shop):
    """The name prefix is written into the SQL as a literal (a generic plan cannot use a bound LIKE pattern on
    the index): quotes, backslashes and wildcards in it stay text."""
    with shop.app_context():
        _order(shop.shop_id, 62, customer={"id": 900, "first_name": "Seán", "last_name": "O'Brien\\_%"})
        db.session.commit()
    client = shop.test_client()
    assert _names(client.get("/app/orders", query_string={"q": "seán o'brien\\_%"})) == ["#1062"]
    assert _names(client.get("/app/orders", query_string={"q": "seán o'brien\\__"})) == []
    assert _names(client.get("/app/orders", query_string={"q": "o'"})) == []
