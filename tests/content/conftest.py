"""An installed shop whose Shopify is the local fake, parcels delivered through the real webhook intake, mail
through a real SMTP server, jobs on Redis, and a product catalogue the content can match by type and collection."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rq import Queue, SimpleWorker

from app.content.models import ContentEntry
from app.db import utcnow
from app.extensions import db
from app.jobs import QUEUES
from app.notifications.models import NotificationSettings
from app.recommendations.models import CatalogCollection, CatalogProduct
from app.shopify.models import Shop
from app.shopify.shops import get_shop, shop_id_for_domain
from app.shopify.tokens import ensure_offline_token
from tests.conftest import SHOP
from tests.fakes.shopify import make_id_token
from tests.notifications.conftest import smtp  # noqa: F401  (fixture)
from tests.shopify.conftest import fake_shopify  # noqa: F401  (fixture)
from tests.tracking.test_timeline import event_payload, fulfillment_payload, order_payload

SHOPPER = "jon@example.com"
TEE, TOTE = 7001, 7002  # products
TEE_VARIANT, TOTE_VARIANT = 8001, 8002
TOTES = 555  # a collection holding the tote
LINE_ITEMS = [
    {"id": 11, "title": "Cotton tee", "quantity": 2, "price": "390.00", "product_id": TEE, "variant_id": TEE_VARIANT},
    {
        "id": 12,
        "title": "Canvas tote",
        "quantity": 1,
        "price": "590.00",
        "product_id": TOTE,
        "variant_id": TOTE_VARIANT,
    },
]


@pytest.fixture()
def content_app(make_app, smtp, fake_shopify):  # noqa: F811
    return make_app(
        smtp_url=smtp.url,
        mail_from="updates@aftercart.test",
        shopify_admin_origin=fake_shopify.origin,
        extra={"INTEGRATIONS_ALLOW_PRIVATE": "1"},
    )


@pytest.fixture()
def work(content_app, redis_conn):
    def run() -> None:
        with content_app.app_context():
            SimpleWorker([Queue(q, connection=redis_conn) for q in QUEUES], connection=redis_conn).work(burst=True)
            db.session.remove()

    return run


@pytest.fixture()
def deliver(content_app, post_webhook):
    client = content_app.test_client()

    def send(topic, payload):
        assert post_webhook(topic, payload, via=client).status_code == 200

    return send


@pytest.fixture()
def shop_id(content_app, fake_shopify) -> int:  # noqa: F811
    """The shop installed (an offline token from the fake), a catalogue (the tee is a Shirt, the tote in the
    Totes collection) and room for every message of the day (the per-order cap is not what these tests are about)."""
    with content_app.app_context():
        shop_id = shop_id_for_domain(db.session, SHOP)
        shop = get_shop(db.session, SHOP)
        ensure_offline_token(shop, make_id_token(SHOP))
        shop = db.session.get(Shop, shop_id)
        shop.is_installed, shop.name, shop.iana_timezone = True, "Tee Shop", "Asia/Bangkok"
        db.session.add_all(
            [
                CatalogProduct(shop_id=shop_id, shopify_product_id=TEE, title="Cotton tee", product_type="Shirts"),
                CatalogProduct(shop_id=shop_id, shopify_product_id=TOTE, title="Canvas tote", product_type="Bags"),
                CatalogCollection(shop_id=shop_id, shopify_collection_id=TOTES, shopify_product_id=TOTE),
                # Content shares the shopper's marketing cap and quiet hours (one test below, and tests/flows, hold
                # them); the other tests are about what is released when, so the cap is wide and the night open.
                NotificationSettings(
                    shop_id=shop_id,
                    max_per_order_per_day=20,
                    marketing_per_day=10,
                    marketing_per_week=50,
                    quiet_hours_start=0,
                    quiet_hours_end=0,
                ),
            ]
        )
        db.session.commit()
        return shop_id


def add_entry(app, shop_id: int, kind: str, scope: str, value: Any, en: str, th: str | None = None, **extra) -> int:
    with app.app_context():
        texts = {"en": {"title": en, "body": f"{en}: the text.\nA second paragraph."}}
        if th:
            texts["th"] = {"title": th, "body": f"{th}: ข้อความ"}
        entry = ContentEntry(shop_id=shop_id, kind=kind, scope=scope, scope_value=str(value), texts=texts, **extra)
        db.session.add(entry)
        db.session.commit()
        return entry.id


def ship(deliver, *, locale: str = "en", fid: int = 501, items=((11, 2), (12, 1)), order: bool = True):
    """Order #1001 (the tee and the tote) and one parcel, shipped a day ago."""
    start = utcnow() - timedelta(days=1)
    if order:
        deliver("orders/create", order_payload(start, line_items=LINE_ITEMS, customer_locale=locale))
    deliver("fulfillments/create", fulfillment_payload(fid, list(items), start, start, f"SHP50123456{fid}"))
    deliver("fulfillment_events/create", event_payload(fid * 10 + 1, fid, "in_transit", start + timedelta(hours=2)))


def scan(deliver, fid: int, status: str, hours_ago: float, eid: int | None = None) -> None:
    deliver(
        "fulfillment_events/create",
        event_payload(
            eid or fid * 10 + (3 if status == "delivered" else 2), fid, status, utcnow() - timedelta(hours=hours_ago)
        ),
    )


def subjects(smtp) -> list[str]:  # noqa: F811
    return sorted(str(m["Subject"]) for m in smtp.mailbox.messages)
