"""Attacks on the packing-slip inserts: the admin's print, batch and settings routes (/app/orders/<id>/insert.pdf,
/app/inserts, /app/api/inserts/*) and the QR codes' scan links (/l/i/<token>)."""

from __future__ import annotations

import pytest
from flask import current_app
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from app.extensions import db
from app.inserts.links import make_scan_token
from app.inserts.models import InsertBatch, InsertScan, InsertSettings
from app.orders.models import Order
from app.shopify.models import Shop
from tests.conftest import OTHER_SHOP, SHOP
from tests.fakes.shopify import make_id_token
from tests.inserts.conftest import admin_headers, place_order, shop_app, work  # noqa: F401  (fixtures)

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _other_shops_order_and_batch() -> tuple[int, int, int]:
    shop = Shop(domain=OTHER_SHOP, is_installed=True)
    db.session.add(shop)
    db.session.flush()
    order = Order(shop_id=shop.id, shopify_order_id=5550001, name="#9001", customer_first_name="Eve")
    batch = InsertBatch(shop_id=shop.id, status="done", total=1, done=1, pdf=b"%PDF-1.7 other shop's inserts")
    db.session.add_all([order, batch])
    db.session.commit()
    return shop.id, order.id, batch.id


def test_another_shops_order_and_batch_are_404_and_leak_nothing(shop_app):  # noqa: F811
    _, order_id, batch_id = _other_shops_order_and_batch()
    client = shop_app.test_client()
    for path in (
        f"/app/orders/{order_id}/insert.pdf",
        f"/app/api/inserts/batches/{batch_id}",
        f"/app/inserts/batches/{batch_id}.pdf",
    ):
        response = client.get(path, headers=admin_headers())
        assert response.status_code == 404, path
        assert b"Eve" not in response.data and b"other shop" not in response.data and b"9001" not in response.data
    page = client.get("/app/inserts", headers=admin_headers()).get_data(as_text=True)
    assert "#9001" not in page and f"/batches/{batch_id}" not in page


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/app/inserts"),
        ("get", "/app/orders/1/insert.pdf"),
        ("post", "/app/api/inserts/settings"),
        ("post", "/app/api/inserts/batches"),
        ("get", "/app/api/inserts/batches/1"),
        ("get", "/app/inserts/batches/1.pdf"),
    ],
)
def test_no_or_forged_session_token_is_refused(shop_app, method, path):  # noqa: F811
    client = shop_app.test_client()
    forged = make_id_token(SHOP, secret="not-the-app-secret")
    for headers in ({}, {"Authorization": f"Bearer {forged}"}):
        response = getattr(client, method)(path, query_string={"shop": SHOP}, headers=headers, json={"size": "a5"})
        assert response.status_code in (302, 401), (path, headers, response.status_code)
    assert db.session.execute(select(InsertSettings)).first() is None
    assert db.session.execute(select(InsertBatch)).first() is None


def test_state_changes_need_the_session_token_in_the_header_not_the_query(shop_app):  # noqa: F811
    client = shop_app.test_client()
    token = make_id_token(SHOP)
    for path in ("/app/api/inserts/settings", "/app/api/inserts/batches"):
        response = client.post(path, query_string={"shop": SHOP, "id_token": token}, json={"size": "a5"})
        assert response.status_code in (302, 401), path
    assert db.session.execute(select(InsertSettings)).first() is None
    assert db.session.execute(select(InsertBatch)).first() is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"size": "a0"}',
        b'{"codes": "everything"}',
        b'{"codes": ["track", "review"]}',
        b'{"note_en": 12}',
        b'{"note_th": "{{ self.__init__.__globals__ }}"}',
        b'{"packing_slip": "maybe"}',
    ],
)
def test_malformed_settings_are_a_4xx_with_a_reason(shop_app, body):  # noqa: F811
    response = shop_app.test_client().post(
        "/app/api/inserts/settings", data=body, headers=admin_headers() | {"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422) and (response.json.get("errors") or response.json.get("error"))
    assert db.session.execute(select(InsertSettings)).first() is None


def _scans() -> int:
    return db.session.execute(select(InsertScan)).first() is not None


def test_a_forged_or_tampered_scan_link_is_a_404_and_counts_nothing(shop_app, place_order):  # noqa: F811
    order = place_order(1001)
    shop_id, order_id = order.shop_id, order.id
    good = make_scan_token(shop_id, order_id, "track")
    client = shop_app.test_client()
    other_shop_id, other_order_id, _ = _other_shops_order_and_batch()
    wrong_key = URLSafeSerializer("not-our-secret", salt="aftercart.insert-scan.v1")
    other_salt = URLSafeSerializer(current_app.config["SETTINGS"].secret_key, salt="aftercart.track-link.v1")
    for token in (
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),  # signature broken
        wrong_key.dumps([shop_id, order_id, "track"]),  # signed with another key
        other_salt.dumps([shop_id, order_id, "track"]),  # a tracking token's signature, replayed here
        make_scan_token(shop_id, order_id, "review"),  # a code that does not exist
        make_scan_token(shop_id, other_order_id, "track"),  # another shop's order under this shop
        make_scan_token(other_shop_id, order_id, "track"),  # this order under another shop
        make_scan_token(shop_id, 987654321, "returns"),  # no such order
        "x" * 300,
    ):
        response = client.get(f"/l/i/{token}")
        assert response.status_code == 404, token
        assert "Location" not in response.headers
    assert not _scans()
    response = client.get(f"/l/i/{good}")
    assert response.status_code == 302 and response.headers["X-Frame-Options"] == "DENY"
    assert _scans()


def test_a_scan_link_of_an_erased_shop_is_a_404(shop_app, place_order):  # noqa: F811
    order = place_order(1001)
    token = make_scan_token(order.shop_id, order.id, "returns")
    db.session.get(Shop, order.shop_id).redacted_at = db.func.now()
    db.session.commit()
    assert shop_app.test_client().get(f"/l/i/{token}").status_code == 404
    assert not _scans()
