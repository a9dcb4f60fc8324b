"""Fixtures the attack cases share: an app whose Shopify calls go to the fake Shopify, and a shop with a real
order, so a refusal is never mistaken for "nothing there"."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.shopify.models import Shop
from tests.conftest import SHOP
from tests.notifications.conftest import mail_app, smtp  # noqa: F401  (fixtures)
from tests.shopify.conftest import fake_app, fake_shopify, install_shop  # noqa: F401  (fixtures)
from tests.tracking.test_timeline import split_order_deliveries


@pytest.fixture()
def shop_with_order(ctx, post_webhook, run_jobs) -> Shop:
    """The shop, installed, with order #1001 (jon@example.com) delivered through the real intake."""
    for topic, payload in split_order_deliveries():
        post_webhook(topic, payload)
    run_jobs()
    shop = db.session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
    shop.is_installed = True
    db.session.commit()
    return shop
