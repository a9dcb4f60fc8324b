"""The demo store's catalogue and recommendation settings, seeded through the real products/create webhooks.

Product ids match the demo returns (app/returns/demo.py), so their orders feed the models and the returns
pages can offer the next size; the extra products are what a shopper has not bought yet.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.orders.demo import deliver
from app.recommendations.models import CatalogProduct, RecommendationSettings
from app.shopify.models import Shop

# (product id, title, type, [(variant id, size)], price, colour)
CATALOGUE = [
    (9_200_001, "Linen shirt", "shirt", [(9_300_001, "M"), (9_300_002, "L"), (9_300_003, "XL")], "890.00", "#7c9a92"),
    (9_200_002, "Silk scarf", "accessory", [(9_300_004, "Default Title")], "450.00", "#c2410c"),
    (9_200_003, "Canvas tote", "bag", [(9_300_005, "Default Title")], "590.00", "#a16207"),
    (
        9_200_004,
        "Leather sandals",
        "shoes",
        [(9_300_006, "40"), (9_300_007, "41"), (9_300_008, "42")],
        "1290.00",
        "#78350f",
    ),
    (9_200_005, "Cotton shorts", "shirt", [(9_300_009, "S"), (9_300_010, "M"), (9_300_011, "L")], "690.00", "#1d4ed8"),
    (9_200_006, "Straw hat", "accessory", [(9_300_012, "Default Title")], "520.00", "#ca8a04"),
    (9_200_007, "Beach towel", "bag", [(9_300_013, "Default Title")], "480.00", "#0e7490"),
    (9_200_008, "Linen trousers", "shirt", [(9_300_014, "M"), (9_300_015, "L")], "1190.00", "#57534e"),
]
PINS = {"tracking_page": [9_200_006], "tracking_widget": [9_200_006], "email": [9_200_007]}


def _image(title: str, colour: str) -> str:
    # The demo has no CDN: a small inline picture (no request leaves the machine).
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='300' height='300'>"
        f"<rect width='300' height='300' fill='{colour}'/>"
        "<text x='150' y='165' font-family='sans-serif' font-size='26' fill='white' text-anchor='middle'>"
        f"{title}</text></svg>"
    )
    return "data:image/svg+xml," + quote(svg)


def product_payloads() -> list[dict[str, Any]]:
    now = utcnow().isoformat()
    payloads = []
    for product_id, title, product_type, variants, price, colour in CATALOGUE:
        image = _image(title, colour)
        payloads.append(
            {
                "id": product_id,
                "title": title,
                "handle": title.lower().replace(" ", "-"),
                "product_type": product_type,
                "vendor": "Aftercart Demo",
                "status": "active",
                "published_at": now,
                "tags": "summer",
                "created_at": now,
                "updated_at": now,
                "options": [{"name": "Size", "position": 1, "values": [size for _, size in variants]}],
                "variants": [
                    {
                        "id": variant_id,
                        "product_id": product_id,
                        "title": size,
                        "price": price,
                        "position": position,
                        "inventory_management": "shopify",
                        "inventory_policy": "deny",
                        "inventory_quantity": 8,
                        "option1": size,
                    }
                    for position, (variant_id, size) in enumerate(variants, start=1)
                ],
                "images": [{"id": product_id, "src": image}],
                "image": {"id": product_id, "src": image},
            }
        )
    return payloads


def seed_demo_catalogue(shop: Shop) -> None:
    """Idempotent: products through the webhook path once, and the demo merchant's pins."""
    if db.session.execute(select(CatalogProduct.id).where(CatalogProduct.shop_id == shop.id)).first() is None:
        for payload in product_payloads():
            deliver("products/create", payload)
    if (
        db.session.execute(select(RecommendationSettings.id).where(RecommendationSettings.shop_id == shop.id)).first()
        is None
    ):
        db.session.add(RecommendationSettings(shop_id=shop.id, is_enabled=True, attribution_window_days=7, pins=PINS))
        db.session.commit()
