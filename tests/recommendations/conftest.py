"""A small catalogue and order history delivered through the real webhook path, and payload builders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.orders.models import Order
from app.shopify.models import Shop
from tests.conftest import SHOP
from tests.fakes.shopify import fake_shopify
from tests.notifications.conftest import mail_app, smtp
from tests.shopify.conftest import fake_app, install_shop

__all__ = ["fake_app", "fake_shopify", "install_shop", "mail_app", "smtp"]

T0 = datetime(2026, 10, 1, 3, 0, tzinfo=UTC)
CDN = "https://cdn.shopify.com/s/files/1/0612/3456/7890/files"  # where Shopify serves product images
JON = 5001
JON_EMAIL = "jon@example.com"

TEE, SHORTS, CAP, SOCKS, HOODIE, DRAFT, HIDDEN, SOLD_OUT, BANNED, JACKET, BELT = range(1, 12)
TEE_S, TEE_M, TEE_L, TEE_XL = 101, 102, 103, 104


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def product_payload(
    product_id: int,
    title: str,
    product_type: str,
    *,
    sizes: list[str] | None = None,
    stock: int = 10,
    status: str = "active",
    published: bool = True,
    updated: datetime = T0,
    price: str = "390.00",
    variant_stock: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A products/create|update body, REST-shaped as Shopify sends it."""
    sizes = sizes or ["One size"]
    variants = []
    for position, size in enumerate(sizes, start=1):
        quantity = (variant_stock or {}).get(size, stock)
        variants.append(
            {
                "id": product_id * 100 + position,
                "product_id": product_id,
                "title": size,
                "price": price,
                "sku": f"SKU-{product_id}-{size}",
                "position": position,
                "inventory_policy": "deny",
                "inventory_management": "shopify",
                "inventory_quantity": quantity,
                "option1": size,
                "option2": None,
                "option3": None,
                "image_id": None,
                "admin_graphql_api_id": f"gid://shopify/ProductVariant/{product_id * 100 + position}",
            }
        )
    return {
        "id": product_id,
        "title": title,
        "handle": title.lower().replace(" ", "-"),
        "product_type": product_type,
        "vendor": "Demo",
        "status": status,
        "published_at": iso(T0) if published else None,
        "tags": "summer, cotton",
        "created_at": iso(T0),
        "updated_at": iso(updated),
        "variants": variants,
        "options": [{"id": product_id * 10, "product_id": product_id, "name": "Size", "position": 1, "values": sizes}],
        "images": [{"id": product_id * 1000, "src": f"{CDN}/{product_id}.jpg"}],
        "image": {"id": product_id * 1000, "src": f"{CDN}/{product_id}.jpg"},
        "admin_graphql_api_id": f"gid://shopify/Product/{product_id}",
    }


def order_payload(
    order_id: int,
    lines: list[tuple[int | None, int | None]],
    *,
    customer_id: int | None,
    email: str,
    created: datetime,
    number: int | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """An orders/create body with (product_id, variant_id) lines."""
    payload = {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{number or order_id}",
        "order_number": number or order_id,
        "email": email,
        "created_at": iso(created),
        "updated_at": iso(created),
        "cancelled_at": None,
        "financial_status": "paid",
        "fulfillment_status": None,
        "currency": "THB",
        "total_price": "990.00",
        "current_total_price": "990.00",
        "customer_locale": "en",
        "buyer_accepts_marketing": False,
        "landing_site": "/",
        "note_attributes": [],
        "discount_codes": [],
        "line_items": [
            {
                "id": order_id * 10 + i,
                "product_id": product_id,
                "variant_id": variant_id,
                "title": f"Product {product_id}",
                "quantity": 1,
                "price": "390.00",
            }
            for i, (product_id, variant_id) in enumerate(lines)
        ],
        "customer": (
            {"id": customer_id, "email": email, "first_name": "Jon", "updated_at": iso(created)}
            if customer_id
            else None
        ),
    }
    payload.update(changes)
    return payload


CATALOGUE = [
    (TEE, "Cotton Tee", "Tops", {"sizes": ["S", "M", "L", "XL"], "variant_stock": {"XL": 0}}),
    (SHORTS, "Linen Shorts", "Bottoms", {}),
    (CAP, "Canvas Cap", "Accessories", {}),
    (SOCKS, "Wool Socks", "Accessories", {}),
    (HOODIE, "Hoodie", "Tops", {}),
    (DRAFT, "Draft Scarf", "Accessories", {"status": "draft"}),
    (HIDDEN, "Hidden Bag", "Accessories", {"published": False}),
    (SOLD_OUT, "Sold-out Sandals", "Shoes", {"stock": 0}),
    (BANNED, "Gift Card", "Gift", {}),
    (JACKET, "Rain Jacket", "Tops", {}),
    (BELT, "Leather Belt", "Accessories", {}),
]


@pytest.fixture()
def deliver(post_webhook, run_jobs):
    """Send webhooks through intake and run every job they cause (models included)."""

    def send(*deliveries: tuple[str, dict[str, Any]]) -> None:
        for topic, payload in deliveries:
            response = post_webhook(topic, payload)
            assert response.status_code == 200, response.data
        run_jobs()

    return send


@pytest.fixture()
def shop_with_history(ctx, deliver):
    """The catalogue, and other shoppers' orders where every product goes with the tee (the rules decide)."""
    deliver(*[("products/create", product_payload(pid, title, kind, **kw)) for pid, title, kind, kw in CATALOGUE])
    history = []
    order_id = 9000
    # The forbidden products are bought with the tee most often, so only the rules can keep them out.
    for weight, product in (
        (6, DRAFT),
        (6, HIDDEN),
        (6, SOLD_OUT),
        (6, BANNED),
        (5, HOODIE),
        (5, JACKET),
        (4, SHORTS),
        (3, CAP),
        (2, BELT),
    ):
        for _ in range(weight):
            order_id += 1
            history.append(
                (
                    "orders/create",
                    order_payload(
                        order_id,
                        [(TEE, TEE_M), (product, product * 100 + 1)],
                        customer_id=order_id + 100000,
                        email=f"shopper{order_id}@example.com",
                        created=T0 + timedelta(hours=order_id - 9000),
                    ),
                )
            )
    deliver(*history)
    shop = db.session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
    shop.currency = "THB"
    shop.is_installed = True
    db.session.commit()
    return shop


def jon_orders(deliver, *, first_lines=None, second_lines=None) -> Order:
    """Jon bought a hoodie earlier; now a tee (size S) and socks. Returns the new order."""
    deliver(
        (
            "orders/create",
            order_payload(
                7001,
                first_lines or [(HOODIE, HOODIE * 100 + 1)],
                customer_id=JON,
                email=JON_EMAIL,
                created=T0 + timedelta(days=10),
            ),
        ),
        (
            "orders/create",
            order_payload(
                7002,
                second_lines or [(TEE, TEE_S), (SOCKS, SOCKS * 100 + 1)],
                customer_id=JON,
                email=JON_EMAIL,
                created=T0 + timedelta(days=20),
                number=1002,
            ),
        ),
    )
    return db.session.execute(select(Order).where(Order.shopify_order_id == 7002)).scalar_one()
