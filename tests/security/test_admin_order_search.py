"""Attacks on the admin's order search and its CSV export (/app/orders, /app/orders.csv)."""

from __future__ import annotations

import pytest
from flask import Flask

from app.extensions import db
from app.shopify.models import Shop
from tests.admin.test_order_search import _names, _order
from tests.admin.test_order_search import shop as shop  # noqa: F401, PLC0414  (fixture)
from tests.conftest import SHOP
from tests.fakes.shopify import make_id_token

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.mark.parametrize("path", ["/app/orders", "/app/orders.csv"])
def test_no_session_token_no_orders(fake_app: Flask, shop_with_order, path):
    client = fake_app.test_client()
    assert client.get(path, query_string={"shop": SHOP}).status_code in (302, 401)
    forged = make_id_token(SHOP, secret="not-the-app-secret")
    response = client.get(path, query_string={"shop": SHOP, "id_token": forged})
    assert response.status_code in (302, 401) and b"#1001" not in response.data


def test_another_shops_orders_are_never_found_or_exported(shop):  # noqa: F811
    with shop.app_context():
        other = Shop(domain="other-store.myshopify.com", is_installed=True)
        db.session.add(other)
        db.session.flush()
        _order(other.id, 70, email="secret@other.example", name="#7070")
        db.session.commit()
    client = shop.test_client()
    assert _names(client.get("/app/orders", query_string={"q": "secret@other.example"})) == []
    assert _names(client.get("/app/orders", query_string={"q": "#7070"})) == []
    assert "secret@other.example" not in client.get("/app/orders.csv").get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [
        {"after": "not-a-cursor"},
        {"after": "2026-13-45T99:00:00|1"},
        {"after": "|x"},
        {"from": "yesterday", "to": "2026-02-30"},
        {"status": "'; DROP TABLE orders; --"},
        {"carrier": "<script>alert(1)</script>"},
        {"q": "%"},
        {"q": "_"},
        {"q": "\\"},
        {"q": "x" * 5000},
        {"q": "\x00"},
    ],
)
def test_malformed_search_input_is_a_plain_answer_not_an_error(shop, query):  # noqa: F811
    response = shop.test_client().get("/app/orders", query_string=query)
    assert response.status_code == 200
    assert b"<script>alert(1)</script>" not in response.data
    if query.get("q") in ("%", "_"):  # wildcards are matched as text, not as "anything"
        assert _names(response) == []
