"""Reconciliation against the fake Shopify: healing missed webhooks, idempotency, paging, sync bookkeeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from rq import Queue, SimpleWorker
from sqlalchemy import select, update

from app.db import utcnow
from app.extensions import db
from app.orders.models import Fulfillment, Order
from app.orders.services import parse_timestamp, upsert_order
from app.shopify.graphql import Throttled
from app.shopify.models import Shop
from app.shopify.reconcile import (
    PAGE_SIZE,
    reconcile_all_shops,
    reconcile_shop,
)
from app.shopify.shops import shop_id_for_domain
from tests.conftest import OTHER_SHOP, SHOP, load_fixture
from tests.fakes.shopify import FakeShopify, fulfillment_node, line_item_node, order_node

# The test app secret ("test-secret") is shorter than PyJWT's recommended 32 bytes; real secrets are not.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ago(**delta: float) -> str:
    return _z(utcnow() - timedelta(**delta))


def _orders(shop_id: int) -> list[Order]:
    db.session.expire_all()
    return list(
        db.session.execute(select(Order).where(Order.shop_id == shop_id).order_by(Order.shopify_order_id)).scalars()
    )


def _fulfillments(shop_id: int) -> list[Fulfillment]:
    return list(
        db.session.execute(
            select(Fulfillment).where(Fulfillment.shop_id == shop_id).order_by(Fulfillment.shopify_fulfillment_id)
        ).scalars()
    )


def _shop(shop_id: int) -> Shop:
    db.session.expire_all()
    shop = db.session.get(Shop, shop_id)
    assert shop is not None
    return shop


def _newest_in_shopify(fake: FakeShopify) -> datetime:
    return max(parse_timestamp(node["updatedAt"]) for node in fake.shop(SHOP).orders.values())


def _row(obj: Any, skip: tuple[str, ...] = ("id", "shop_id", "created_at", "updated_at")) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in skip}


def test_reconcile_heals_a_missed_webhook_with_its_fulfillment(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    updated = _ago(hours=1)
    item = line_item_node(4001, title="Aviator sunglasses", price="89.99", sku="SKU-1", product_id=77, variant_id=78)
    fake_shopify.put_order(
        SHOP,
        order_node(
            5001,
            number=1042,
            updated_at=updated,
            created_at=_ago(hours=3),
            email="ada@example.com",
            financial_status="PAID",
            fulfillment_status="FULFILLED",
            total="89.99",
            shipping_country="CA",
            shipping_province="ON",
            line_items=[item],
            fulfillments=[
                fulfillment_node(
                    6001,
                    name="#1042.1",
                    updated_at=updated,
                    display_status="OUT_FOR_DELIVERY",
                    tracking=[("UPS", "1Z999AA10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784")],
                    line_items=[(item, 1)],
                )
            ],
        ),
    )

    result = reconcile_shop(shop_id)

    assert result["status"] == "ok" and result["orders_seen"] == 1 and result["orders_changed"] == 1
    (order,) = _orders(shop_id)
    assert order.shopify_order_id == 5001
    assert order.admin_graphql_api_id == "gid://shopify/Order/5001"
    assert (order.name, order.order_number, order.email) == ("#1042", 1042, "ada@example.com")
    assert (order.financial_status, order.fulfillment_status) == ("paid", "fulfilled")
    assert (order.total_price, order.currency) == (Decimal("89.99"), "USD")
    assert order.customer_first_name == "Jon" and order.shopify_customer_id == 115310627314723954
    assert order.line_items == [
        {
            "id": 4001,
            "product_id": 77,
            "variant_id": 78,
            "title": "Aviator sunglasses",
            "variant_title": None,
            "sku": "SKU-1",
            "quantity": 1,
            "price": "89.99",
            "discount": "0.00",
        }
    ]
    assert order.shopify_updated_at == parse_timestamp(updated)
    (fulfillment,) = _fulfillments(shop_id)
    assert fulfillment.shopify_fulfillment_id == 6001 and fulfillment.shopify_order_id == 5001
    assert (fulfillment.status, fulfillment.shipment_status) == ("success", "out_for_delivery")
    assert fulfillment.tracking_company == "UPS"
    assert fulfillment.tracking_numbers == ["1Z999AA10123456784"]
    assert fulfillment.tracking_urls == ["https://www.ups.com/track?tracknum=1Z999AA10123456784"]
    assert _shop(shop_id).last_synced_at == parse_timestamp(updated)


def _graphql_node_from_rest(payload: dict[str, Any]) -> dict[str, Any]:
    """The same order as the Admin GraphQL API returns it (enums upper case, UTC times, "x.0" amounts)."""

    def utc(value: str | None) -> str | None:
        return _z(parse_timestamp(value)) if value else None

    def amount(value: str) -> str:
        number = Decimal(value).normalize()
        return f"{number:.1f}" if number == number.to_integral() else f"{number:f}"

    customer = payload["customer"]
    shipping = payload["shipping_address"]
    return order_node(
        payload["id"],
        number=payload["order_number"],
        name=payload["name"],
        updated_at=utc(payload["updated_at"]),
        created_at=utc(payload["created_at"]),
        cancelled_at=utc(payload["cancelled_at"]),
        closed_at=utc(payload["closed_at"]),
        email=payload["email"],
        phone=payload["phone"],
        financial_status=payload["financial_status"].upper(),
        fulfillment_status={None: "UNFULFILLED", "partial": "PARTIALLY_FULFILLED"}.get(
            payload["fulfillment_status"], str(payload["fulfillment_status"]).upper()
        ),
        total=amount(payload["current_total_price_set"]["shop_money"]["amount"]),
        currency=payload["currency"],
        customer_id=customer["id"],
        customer_first_name=customer["first_name"],
        customer_last_name=customer["last_name"],
        locale=payload["customer_locale"],
        shipping_country=shipping["country_code"],
        shipping_province=shipping["province_code"],
        shipping_line={key: payload["shipping_lines"][0][key] for key in ("title", "code")},
        line_items=[
            line_item_node(
                item["id"],
                title=item["title"],
                quantity=item["quantity"],
                price=amount(item["price"]),
                sku=item["sku"],
                variant_id=item["variant_id"],
                product_id=item["product_id"],
                variant_title=item["variant_title"],
            )
            for item in payload["line_items"]
        ],
    )


def test_reconciled_order_is_the_row_the_webhook_would_have_written(
    install_shop: Callable[..., int], fake_shopify: FakeShopify
):
    payload = load_fixture("orders_create.json")
    shop_id = install_shop()
    other_id = shop_id_for_domain(db.session, OTHER_SHOP)
    upsert_order(db.session, other_id, payload)  # what the orders/create webhook writes
    db.session.execute(
        update(Shop).where(Shop.id == shop_id).values(last_synced_at=parse_timestamp(payload["updated_at"]))
    )
    db.session.commit()
    fake_shopify.put_order(SHOP, _graphql_node_from_rest(payload))

    assert reconcile_shop(shop_id)["orders_seen"] == 1

    (from_webhook,) = _orders(other_id)
    (from_reconcile,) = _orders(shop_id)
    assert _row(from_reconcile) == _row(from_webhook)


def test_reconcile_twice_changes_nothing_the_second_time(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    for i in range(3):
        fake_shopify.put_order(
            SHOP,
            order_node(
                7000 + i,
                number=2000 + i,
                updated_at=_ago(minutes=30 - i),
                fulfillments=[fulfillment_node(8000 + i, name=f"#{2000 + i}.1", updated_at=_ago(minutes=30 - i))],
            ),
        )

    first = reconcile_shop(shop_id)
    rows = [(_row(o, skip=()), o.updated_at) for o in _orders(shop_id)]
    fulfillments = [_row(f, skip=()) for f in _fulfillments(shop_id)]
    second = reconcile_shop(shop_id)

    assert first["orders_seen"] == 3 and first["orders_changed"] == 3
    assert second["status"] == "ok" and second["orders_seen"] == 3 and second["orders_changed"] == 0
    assert [(_row(o, skip=()), o.updated_at) for o in _orders(shop_id)] == rows
    assert [_row(f, skip=()) for f in _fulfillments(shop_id)] == fulfillments


def test_older_copy_from_shopify_does_not_overwrite_a_newer_webhook(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    newer = utcnow() - timedelta(minutes=5)
    older = newer - timedelta(minutes=20)
    payload = load_fixture("orders_create.json")
    payload.update(id=9001, financial_status="refunded", updated_at=newer.isoformat(), fulfillments=[])
    upsert_order(db.session, shop_id, payload)
    db.session.commit()
    # Shopify's search index still returns the earlier state of the same order.
    fake_shopify.put_order(SHOP, order_node(9001, updated_at=_z(older), financial_status="PAID"))

    result = reconcile_shop(shop_id)

    assert result["orders_seen"] == 1 and result["orders_changed"] == 0
    (order,) = _orders(shop_id)
    assert order.financial_status == "refunded"
    assert order.shopify_updated_at == newer


def test_reconcile_pages_through_all_updated_orders(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    count = PAGE_SIZE * 2 + 2
    for i in range(count):
        fake_shopify.put_order(SHOP, order_node(10_000 + i, number=3000 + i, updated_at=_ago(minutes=50 - i)))

    result = reconcile_shop(shop_id)

    assert result["pages"] == 3 and result["orders_seen"] == count
    assert [o.shopify_order_id for o in _orders(shop_id)] == [10_000 + i for i in range(count)]
    requests = fake_shopify.graphql_requests(SHOP)
    assert len(requests) == 3
    variables = [r.json["variables"] for r in requests]
    assert variables[0]["after"] is None and variables[1]["after"] and variables[2]["after"]
    assert variables[1]["after"] != variables[2]["after"]
    assert all(v["first"] == PAGE_SIZE for v in variables)
    assert all("errors" not in r.response for r in requests)  # every page within Shopify's cost limit
    assert _shop(shop_id).last_synced_at == _newest_in_shopify(fake_shopify)


def test_large_order_is_read_whole(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    items = [line_item_node(50_000 + i, title=f"Item {i}", price="5.0") for i in range(23)]
    fulfillments = [
        fulfillment_node(
            60_000 + i,
            name=f"#1001.{i + 1}",
            updated_at=_ago(minutes=10),
            tracking=[("DHL", f"JD{i}{n:04d}", None) for n in range(7 if i == 0 else 1)],
            line_items=[(item, 1) for item in items[i * 4 : i * 4 + 4]] if i < 5 else [(items[20], 1)],
        )
        for i in range(6)
    ]
    fulfillments[0]["fulfillmentLineItems"] = [
        {"id": f"gid://shopify/FulfillmentLineItem/{n}", "quantity": 1, "lineItem": items[n]} for n in range(12)
    ]
    fake_shopify.put_order(
        SHOP, order_node(11_000, updated_at=_ago(minutes=10), line_items=items, fulfillments=fulfillments)
    )

    reconcile_shop(shop_id)

    (order,) = _orders(shop_id)
    assert [item["id"] for item in order.line_items] == [50_000 + i for i in range(23)]
    stored = _fulfillments(shop_id)
    assert len(stored) == 6
    assert stored[0].tracking_numbers == [f"JD0{n:04d}" for n in range(7)]
    assert [item["id"] for item in stored[0].line_items] == [50_000 + n for n in range(12)]
    assert all("errors" not in r.response for r in fake_shopify.graphql_requests(SHOP))


def test_sync_window_starts_a_little_before_the_last_sync(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    last_sync = (utcnow() - timedelta(hours=1)).replace(microsecond=0)
    db.session.execute(update(Shop).where(Shop.id == shop_id).values(last_synced_at=last_sync))
    db.session.commit()
    fake_shopify.put_order(SHOP, order_node(12_001, updated_at=_z(last_sync - timedelta(minutes=1))))
    fake_shopify.put_order(SHOP, order_node(12_002, updated_at=_z(last_sync - timedelta(minutes=10))))

    reconcile_shop(shop_id)

    (request,) = fake_shopify.graphql_requests(SHOP)
    assert request.json["variables"]["query"] == f"updated_at:>='{_z(last_sync - timedelta(minutes=2))}'"
    assert [o.shopify_order_id for o in _orders(shop_id)] == [12_001]
    assert _shop(shop_id).last_synced_at == last_sync  # nothing newer than what we had


def test_first_sync_reads_the_last_thirty_days(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    fake_shopify.put_order(SHOP, order_node(13_001, updated_at=_ago(days=10)))
    fake_shopify.put_order(SHOP, order_node(13_002, updated_at=_ago(days=40)))

    reconcile_shop(shop_id)

    assert [o.shopify_order_id for o in _orders(shop_id)] == [13_001]


def test_last_synced_at_advances_only_when_every_page_is_in(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    count = PAGE_SIZE * 2
    for i in range(count):
        fake_shopify.put_order(SHOP, order_node(14_000 + i, updated_at=_ago(minutes=40 - i)))
    fake_shopify.script(SHOP, 429, headers={"Retry-After": "30"}, after_requests=1)

    with pytest.raises(Throttled) as raised:
        reconcile_shop(shop_id)

    assert raised.value.retry_after == 30
    assert len(_orders(shop_id)) == PAGE_SIZE  # the first page is kept: its upserts are idempotent
    assert _shop(shop_id).last_synced_at is None

    result = reconcile_shop(shop_id)  # what RQ's retry does

    assert result["status"] == "ok"
    assert len(_orders(shop_id)) == count
    assert _shop(shop_id).last_synced_at == _newest_in_shopify(fake_shopify)


def test_refused_token_stops_the_shop_without_raising(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    fake_shopify.put_order(SHOP, order_node(15_001, updated_at=_ago(minutes=5)))
    fake_shopify.revoke_tokens(SHOP)

    result = reconcile_shop(shop_id)

    assert result["status"] == "reauth_required"
    shop = _shop(shop_id)
    assert shop.needs_reauth and shop.last_synced_at is None
    assert _orders(shop_id) == []
    # Marked shops are skipped until the merchant re-authorises.
    assert reconcile_shop(shop_id)["status"] == "skipped"
    assert len(fake_shopify.graphql_requests(SHOP)) == 1


def test_reconcile_all_shops_queues_one_job_per_usable_shop(
    install_shop: Callable[..., int],
    fake_shopify: FakeShopify,
    fake_app: Flask,
    redis_conn: redis_lib.Redis,
):
    first = install_shop(SHOP)
    second = install_shop(OTHER_SHOP)
    marked = install_shop("marked-store.myshopify.com")
    never_installed = shop_id_for_domain(db.session, "visitor-store.myshopify.com")
    db.session.execute(update(Shop).where(Shop.id == marked).values(needs_reauth=True))
    db.session.commit()
    fake_shopify.put_order(SHOP, order_node(16_001, updated_at=_ago(minutes=5)))
    fake_shopify.put_order(OTHER_SHOP, order_node(16_002, updated_at=_ago(minutes=5)))
    bulk = Queue("bulk", connection=redis_conn)

    assert reconcile_all_shops() == {"shops": 2, "shop_ids": [first, second]}
    assert reconcile_all_shops()["shops"] == 2  # still queued: not queued twice
    assert sorted(bulk.job_ids) == sorted([f"reconcile-{first}", f"reconcile-{second}"])

    SimpleWorker([bulk], connection=redis_conn).work(burst=True)

    assert [o.shopify_order_id for o in _orders(first)] == [16_001]
    assert [o.shopify_order_id for o in _orders(second)] == [16_002]
    assert _orders(marked) == [] and _orders(never_installed) == []
    # Finished jobs don't block the next round.
    reconcile_all_shops()
    assert sorted(bulk.job_ids) == sorted([f"reconcile-{first}", f"reconcile-{second}"])


def test_graphql_statuses_are_stored_in_the_webhook_vocabulary(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    # (order displayFulfillmentStatus, REST fulfillment_status, displayStatus, REST shipment_status)
    cases = [
        ("FULFILLED", "fulfilled", "DELIVERED", "delivered"),
        ("PARTIALLY_FULFILLED", "partial", "IN_TRANSIT", "in_transit"),
        ("UNFULFILLED", None, "MARKED_AS_FULFILLED", None),
        ("ON_HOLD", None, "CANCELED", None),
    ]
    for i, (order_status, _, shipment_status, _) in enumerate(cases):
        fake_shopify.put_order(
            SHOP,
            order_node(
                18_000 + i,
                updated_at=_ago(minutes=10 + i),
                financial_status="PARTIALLY_REFUNDED",
                fulfillment_status=order_status,
                fulfillments=[
                    fulfillment_node(
                        19_000 + i,
                        name=f"#{i}.1",
                        updated_at=_ago(minutes=10 + i),
                        status="CANCELLED" if shipment_status == "CANCELED" else "SUCCESS",
                        display_status=shipment_status,
                    )
                ],
            ),
        )

    reconcile_shop(shop_id)

    orders = _orders(shop_id)
    assert [o.fulfillment_status for o in orders] == [case[1] for case in cases]
    assert {o.financial_status for o in orders} == {"partially_refunded"}
    fulfillments = _fulfillments(shop_id)
    assert [f.shipment_status for f in fulfillments] == [case[3] for case in cases]
    assert [f.status for f in fulfillments] == ["success", "success", "success", "cancelled"]
