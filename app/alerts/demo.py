"""The demo's alert settings: the owner is told by email as problems happen (captured by the demo mailbox), so
the exceptions queue shows alerts that went out, and shoppers read "the shop has been told" where it is true."""

from __future__ import annotations

from sqlalchemy import select

from app.alerts.models import AlertSettings
from app.extensions import db
from app.shopify.models import Shop

DEMO_OWNER_EMAIL = "owner@aftercart-demo.example"


def seed_demo_alert_settings(shop: Shop) -> None:
    """Before the orders: their problems are then told as they happen, through the real alert path."""
    settings = db.session.execute(select(AlertSettings).where(AlertSettings.shop_id == shop.id)).scalar_one_or_none()
    if settings is None:
        db.session.add(AlertSettings(shop_id=shop.id, mode="instant", notify_to=DEMO_OWNER_EMAIL, locale="en"))
        db.session.commit()
