"""Wiring: the demo store (embedded defaults: SQLite, inline jobs), seeded through the real webhook path by
each feature's seeder, in the order below."""

from __future__ import annotations

import os
from collections.abc import Callable

from flask import current_app
from flask_migrate import upgrade

from app.alerts.demo import seed_demo_alert_settings
from app.analytics.demo import build_demo_analytics, seed_demo_analytics_history
from app.config import DEMO_SHOP_DOMAIN
from app.content.demo import seed_demo_content
from app.db import utcnow
from app.extension_api.demo import seed_demo_thank_you_answers
from app.extensions import db
from app.flows.demo import seed_demo_flows
from app.inserts.demo import seed_demo_insert_settings
from app.recommendations.demo import seed_demo_catalogue
from app.returns.demo import demo_returns_links, seed_demo_returns
from app.reviews.demo import demo_reviews_links, seed_demo_reviews
from app.shopify.models import Shop
from app.shopify.shops import get_shop, shop_id_for_domain
from app.surveys.demo import seed_demo_surveys
from app.tracking.demo import seed_demo_orders

__all__ = [
    "DEMO_SHOP_DOMAIN",
    "DEMO_SEEDERS",
    "demo_returns_links",
    "demo_reviews_links",
    "demo_tracking_links",
    "setup_demo",
]

DEMO_SEEDERS: tuple[Callable[[Shop], None], ...] = (
    seed_demo_catalogue,  # products (webhooks) and pins first, so every page can show recommendations
    seed_demo_alert_settings,  # the owner told of parcel problems by email, before any happen
    seed_demo_thank_you_answers,  # thank-you answers; placed first, as `flask orders` lists the newest
    seed_demo_analytics_history,  # two months of older orders (#1100-#1115) and tracking views, oldest first
    seed_demo_orders,  # orders and parcels in every state
    seed_demo_returns,  # returns in several states, two loyalty tiers in use
    seed_demo_insert_settings,  # the shop's own thank-you note on the printable inserts
    seed_demo_surveys,  # delivered orders asked CSAT and NPS; happy and unhappy answers, a detractor to follow up
    seed_demo_reviews,  # reviews with photos, published and hidden, replies in public and in private
    seed_demo_content,  # getting started and care tips, released by #1055-#1059's parcels (after the others'
    # orders, which are not matched: their content would be news about parcels delivered before it existed)
    seed_demo_flows,  # follow-up flows on: care and thank-you steps sent (one held by the cap), one stopped
    build_demo_analytics,  # the history rolled up by the backfill, once everything else is in
)


def demo_tracking_links(shop_id: int) -> list[tuple[str, str, str]]:
    """(order name, status, path of its signed tracking page) for every demo order."""
    from sqlalchemy import select

    from app.orders.models import Order
    from app.storefront.links import make_track_token

    orders = db.session.execute(select(Order).where(Order.shop_id == shop_id).order_by(Order.order_number)).scalars()
    return [(o.name, o.status, f"/l/track/{make_track_token(shop_id, o.id)}") for o in orders]


def setup_demo() -> Shop:
    """Migrate the demo database and seed the demo shop once (idempotent)."""
    os.makedirs(current_app.instance_path, exist_ok=True)
    upgrade()
    shop = get_shop(db.session, DEMO_SHOP_DOMAIN)
    if shop is not None and shop.is_installed:
        return shop
    shop_id_for_domain(db.session, DEMO_SHOP_DOMAIN)
    shop = get_shop(db.session, DEMO_SHOP_DOMAIN)
    assert shop is not None
    shop.name = "Aftercart Demo Store"
    shop.currency = "THB"
    shop.iana_timezone = "Asia/Bangkok"
    shop.is_installed = True
    shop.installed_at = utcnow()
    db.session.commit()
    for seed in DEMO_SEEDERS:
        seed(shop)
    return shop
