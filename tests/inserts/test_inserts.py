"""Packing-slip inserts, printed and read back: every QR code on the page decodes to a signed link that counts the
scan and opens the order's own page; the greeting knows a first order from a returning shopper; a Thai insert
carries a Thai font; a batch prints every unfulfilled order with its progress; the merchant's note runs in the
sandbox."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.inserts.metafields import KEY, NAMESPACE, sync_insert_links
from app.inserts.models import InsertBatch, InsertLinkSync, InsertScan
from app.storefront.links import make_track_token
from tests.conftest import webhook_headers
from tests.inserts.conftest import (
    admin_headers,
    local_path,
    pdf_fonts,
    pdf_pages,
    pdf_text,
    qr_codes,
)
from tests.tracking.test_timeline import split_order_deliveries

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _print_one(app, order_id: int) -> bytes:
    response = app.test_client().get(f"/app/orders/{order_id}/insert.pdf", headers=admin_headers())
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    return response.data


def test_one_orders_insert_decodes_to_signed_links_that_count_the_scan_and_open_its_pages(
    shop_app, place_order, tmp_path
):
    order = place_order(1001, first_name="John")
    pdf = _print_one(shop_app, order.id)

    (page,) = pdf_pages(pdf, tmp_path)
    codes = qr_codes(page)
    assert len(codes) == 2, codes
    client = shop_app.test_client()
    targets = []
    for url in codes:
        response = client.get(local_path(url))
        assert response.status_code == 302 and response.headers["Cache-Control"] == "no-store"
        targets.append(response.headers["Location"])
        opened = client.get(response.headers["Location"])
        assert opened.status_code == 200 and "#1001" in opened.get_data(as_text=True)
    token = make_track_token(order.shop_id, order.id)
    assert sorted(targets) == sorted([f"/l/track/{token}?locale=en", f"/l/returns/{token}?locale=en"])
    scans = {s.code: s.scans for s in db.session.execute(select(InsertScan)).scalars()}
    assert scans == {"track": 1, "returns": 1}
    client.get(local_path(codes[0]))
    assert sum(s.scans for s in db.session.execute(select(InsertScan)).scalars()) == 3

    text = pdf_text(pdf, tmp_path)
    assert "Hi John," in text and "first order" in text and "#1001" in text


def test_a_returning_shopper_is_welcomed_back(shop_app, place_order, tmp_path):
    place_order(1001, first_name="Mali", customer_id=42)
    second = place_order(1002, first_name="Mali", customer_id=42)
    text = pdf_text(_print_one(shop_app, second.id), tmp_path)
    assert "Welcome back" in text and "first order" not in text


def test_a_thai_insert_is_in_thai_with_a_thai_font_embedded(shop_app, place_order, tmp_path):
    order = place_order(1003, first_name="สมชาย", locale="th-TH")
    pdf = _print_one(shop_app, order.id)
    fonts = pdf_fonts(pdf, tmp_path)
    assert "Garuda" in fonts, fonts
    embedded = [line for line in fonts.splitlines() if "Garuda" in line]
    assert embedded and all(" yes " in line for line in embedded)  # embedded, not referenced
    text = pdf_text(pdf, tmp_path)
    # pdftotext splits some Thai vowels and tone marks from their glyph clusters: look for words without them
    assert "สวัสดีคุณสมชาย" in text and "ซื้อแรก" in text
    codes = qr_codes(pdf_pages(pdf, tmp_path)[0])
    assert len(codes) == 2
    client = shop_app.test_client()
    for url in codes:  # the pages open in Thai too
        target = client.get(local_path(url)).headers["Location"]
        assert target.endswith("?locale=th")
        assert "ติดตาม" in client.get(target).get_data(as_text=True) or "คืน" in client.get(target).get_data(as_text=True)


def test_the_merchants_note_and_choices_are_printed(shop_app, place_order, tmp_path):
    order = place_order(1004, first_name="Ann")
    client = shop_app.test_client()
    saved = client.post(
        "/app/api/inserts/settings",
        json={"size": "a5", "codes": ["returns"], "note_en": "Made by hand for {{ first_name | upper }}."},
        headers=admin_headers(),
    )
    assert saved.status_code == 200 and saved.json == {"saved": True}
    pdf = _print_one(shop_app, order.id)
    assert "Made by hand for ANN." in pdf_text(pdf, tmp_path)
    (page,) = pdf_pages(pdf, tmp_path, dpi=72)
    codes = qr_codes(page)
    assert len(codes) == 1 and client.get(local_path(codes[0])).headers["Location"].startswith("/l/returns/")
    with Image.open(page) as image:  # A5 at 72 dpi: 419.5 × 595.3 points
        assert image.size in ((420, 595), (420, 596))


@pytest.mark.parametrize(
    "note",
    ["{{ ''.__class__.__mro__ }}", "{{ 'x' * 100000 }}", "{% for i in range(10**6) %}x{% endfor %}", "x" * 1001],
)
def test_a_note_the_sandbox_refuses_is_refused_when_saved(shop_app, note):
    response = shop_app.test_client().post("/app/api/inserts/settings", json={"note_en": note}, headers=admin_headers())
    assert response.status_code == 422 and "note_en" in response.json["errors"]


def test_print_all_unfulfilled_orders_as_one_pdf_with_progress(shop_app, place_order, work, tmp_path):
    orders = []
    for i in range(3):
        order = place_order(2000 + i, first_name=f"Buyer{i}", customer_id=100 + i)
        orders.append((order.shop_id, order.id))
    place_order(2010, cancelled_at="2026-11-20T10:00:00+07:00", customer_id=200)  # cancelled: not printed
    client = shop_app.test_client()
    for topic, payload in split_order_deliveries():  # #1001, shipped and delivered: packed already, not printed
        body = json.dumps(payload).encode()
        assert client.post("/webhooks", data=body, headers=webhook_headers(topic, body)).status_code == 200
    work()
    started = client.post("/app/api/inserts/batches", headers=admin_headers() | {"Accept": "application/json"})
    assert started.status_code == 202 and started.json["status"] == "queued" and started.json["total"] == 3
    again = client.post("/app/api/inserts/batches", headers=admin_headers())
    assert again.json["id"] == started.json["id"]  # one batch at a time
    work()
    status = client.get(started.json["status_url"], headers=admin_headers())
    assert status.json["status"] == "done" and (status.json["done"], status.json["total"]) == (3, 3)
    pdf = client.get(status.json["download_url"], headers=admin_headers())
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"

    pages = pdf_pages(pdf.data, tmp_path)
    assert len(pages) == 3
    seen = []
    for page, (shop_id, order_id) in zip(pages, orders, strict=True):
        codes = qr_codes(page)
        assert len(codes) == 2
        for url in codes:
            target = client.get(local_path(url)).headers["Location"]
            assert target.endswith(f"{make_track_token(shop_id, order_id)}?locale=en")
            seen.append(url)
    assert len(set(seen)) == 6
    text = pdf_text(pdf.data, tmp_path)
    assert all(f"Hi Buyer{i}," in text for i in range(3)) and "#2010" not in text and "#1001" not in text
    assert db.session.execute(select(InsertBatch.status)).scalar_one() == "done"


def test_the_order_page_has_a_print_link_and_the_inserts_page_lists_orders(shop_app, place_order):
    order = place_order(1005)
    client = shop_app.test_client()
    page = client.get(f"/app/orders/{order.id}", headers=admin_headers()).get_data(as_text=True)
    assert f"/app/orders/{order.id}/insert.pdf" in page
    inserts = client.get("/app/inserts?locale=th", headers=admin_headers()).get_data(as_text=True)
    assert f"/app/orders/{order.id}/insert.pdf" in inserts and "order.metafields.aftercart.insert_links" in inserts
    assert "ใบแทรก" in inserts


def test_the_order_metafield_is_filled_with_the_same_signed_links(
    shop_app, packing_slip_on, place_order, fake_shopify, tmp_path
):
    order = place_order(1006, first_name="Kim")
    sync = db.session.execute(select(InsertLinkSync)).scalar_one()
    assert sync.status == "done" and sync.attempts == 1
    node = fake_shopify.shop("snowdevil.myshopify.com").orders[f"gid://shopify/Order/{order.shopify_order_id}"]
    value = json.loads(node["metafields"][f"{NAMESPACE}.{KEY}"]["value"])
    assert [c["code"] for c in value["codes"]] == ["track", "returns"]
    printed = qr_codes(pdf_pages(_print_one(shop_app, order.id), tmp_path)[0])
    assert sorted(c["url"] for c in value["codes"]) == sorted(printed)
    assert all(c["qr"].startswith("data:image/svg+xml") for c in value["codes"])
    assert sync_insert_links(sync.id) == "done"  # a repeated job changes nothing
    assert len([r for r in fake_shopify.graphql_requests() if b"metafieldsSet" in r.body]) == 1
