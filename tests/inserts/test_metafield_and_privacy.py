"""The packing-slip metafield's outbox against the fake Shopify when things go wrong (Shopify refuses the write,
or throttles it), and what the inserts keep on a shopper (exported, then erased)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.inserts.links import scan_url
from app.inserts.metafields import sync_insert_links
from app.inserts.models import InsertBatch, InsertLinkSync, InsertScan
from app.inserts.privacy import erase_customer_inserts, export_customer_inserts
from app.orders.privacy import CustomerRef
from tests.conftest import SHOP
from tests.inserts.conftest import (
    admin_headers,
    local_path,
)

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _metafield_writes(fake_shopify) -> int:
    return len([r for r in fake_shopify.graphql_requests(SHOP) if b"metafieldsSet" in r.body])


def test_without_the_snippet_switched_on_no_order_costs_an_admin_api_write(place_order, fake_shopify, work):
    place_order(1100)
    assert db.session.execute(select(InsertLinkSync)).first() is None and _metafield_writes(fake_shopify) == 0


def test_switching_it_on_fills_the_orders_waiting_to_be_packed(shop_app, place_order, fake_shopify, work):
    order = place_order(1099)
    gid = f"gid://shopify/Order/{order.shopify_order_id}"
    saved = shop_app.test_client().post(
        "/app/api/inserts/settings", data={"packing_slip_shown": "1", "packing_slip": "1"}, headers=admin_headers()
    )
    assert saved.status_code in (200, 302)
    work()
    assert "aftercart.insert_links" in fake_shopify.shop(SHOP).orders[gid]["metafields"]
    assert _metafield_writes(fake_shopify) == 1


def test_a_write_shopify_refuses_fails_the_row_with_shopifys_reason(packing_slip_on, place_order, fake_shopify):
    place_order(1101, known_to_shopify=False)
    sync = db.session.execute(select(InsertLinkSync)).scalar_one()
    assert sync.status == "failed" and "Owner does not exist" in sync.error and sync.attempts == 1
    assert sync_insert_links(sync.id) == "failed"  # userErrors are final for this value: sent again only if asked
    assert _metafield_writes(fake_shopify) == 2


def test_a_throttled_write_stays_pending_for_rqs_retry_and_then_lands(packing_slip_on, place_order, fake_shopify, work):
    fake_shopify.script(SHOP, 429, headers={"Retry-After": "30"})  # longer than the client waits
    order = place_order(1102)
    sync = db.session.execute(select(InsertLinkSync)).scalar_one()
    assert sync.status == "pending" and sync.attempts == 1 and sync.synced_at is None
    assert sync_insert_links(sync.id) == "done"  # RQ's retry, run now
    node = fake_shopify.shop(SHOP).orders[f"gid://shopify/Order/{order.shopify_order_id}"]
    assert "aftercart.insert_links" in node["metafields"]


def test_the_inserts_export_and_erase_a_shoppers_scans_and_the_shops_batch_pdf(
    shop_app, packing_slip_on, place_order, work
):
    order = place_order(1103, customer_id=555)
    shop_id, order_id = order.shop_id, order.id
    other_id = place_order(1104, customer_id=556).id
    client = shop_app.test_client()
    for target in (order_id, other_id):
        assert client.get(local_path(scan_url(shop_id, target, "track"))).status_code == 302
    client.post("/app/api/inserts/batches", headers=admin_headers())
    work()
    assert db.session.execute(select(InsertBatch.status)).scalar_one() == "done"
    customer = CustomerRef(shopify_customer_id=555)

    exported = export_customer_inserts(db.session, shop_id, customer)
    assert [(row["code"], row["scans"]) for row in exported["insert_scans"]] == [("track", 1)]
    assert erase_customer_inserts(db.session, shop_id, customer) >= 3  # the scan, the outbox row, the batch
    db.session.commit()
    assert db.session.execute(select(InsertScan.order_id)).scalars().all() == [other_id]
    assert db.session.execute(select(InsertLinkSync.order_id)).scalars().all() == [other_id]
    assert db.session.execute(select(InsertBatch)).first() is None
    assert export_customer_inserts(db.session, shop_id, customer) == {"insert_scans": []}


def test_changing_the_codes_rewrites_the_waiting_orders_metafields(
    shop_app, packing_slip_on, place_order, fake_shopify, work
):
    order = place_order(1105)
    gid = f"gid://shopify/Order/{order.shopify_order_id}"
    saved = shop_app.test_client().post(
        "/app/api/inserts/settings", json={"codes": ["returns"]}, headers=admin_headers()
    )
    assert saved.status_code == 200
    work()
    value = json.loads(fake_shopify.shop(SHOP).orders[gid]["metafields"]["aftercart.insert_links"]["value"])
    assert [code["code"] for code in value["codes"]] == ["returns"]
    assert _metafield_writes(fake_shopify) == 2
    shop_app.test_client().post("/app/api/inserts/settings", json={"note_en": "Hi!"}, headers=admin_headers())
    work()
    assert _metafield_writes(fake_shopify) == 2  # a note is not on the packing slip: nothing rewritten
