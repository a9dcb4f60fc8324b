"""Branding and tracking settings in the embedded admin: validated, saved per shop, previewed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.demo import DEMO_SHOP_DOMAIN
from app.extensions import db
from app.shopify.models import Shop
from app.tracking.models import TrackingSettings

VALID = {
    "accent_color": "#FF5500",
    "text_color": "#111111",
    "background_color": "#fafafa",
    "font": "thai",
    "radius_px": "12",
    "logo_url": "https://cdn.example.com/logo.png",
    "custom_message_en": "Thanks for shopping with us!",
    "custom_message_th": "ขอบคุณที่อุดหนุน",
    "contact_email": "help@example.com",
    "handling_days": "1",
    "stall_after_days": "",
}


@pytest.fixture()
def owner(make_app):
    """The admin opened as the demo shop's owner (the bypass the demo and tests may use)."""
    app = make_app(demo_login=True)
    with app.app_context():
        db.session.add(Shop(domain=DEMO_SHOP_DOMAIN, is_installed=True))
        db.session.commit()
    return app


def test_settings_are_validated_saved_and_used(owner):
    client = owner.test_client()
    page = client.get("/app/settings")
    assert page.status_code == 200
    assert b"Preview" in page.data and b"ac-track" in page.data
    saved = client.post("/app/api/settings", json=VALID)
    assert saved.status_code == 200, saved.json
    with owner.app_context():
        settings = db.session.execute(select(TrackingSettings)).scalar_one()
        assert (settings.accent_color, settings.font, settings.radius_px) == ("#ff5500", "thai", 12)
        assert settings.custom_message == {"en": "Thanks for shopping with us!", "th": "ขอบคุณที่อุดหนุน"}
        assert settings.handling_days == 1 and settings.stall_after_days is None
    page = client.get("/app/settings")
    assert b"--ac-accent:#ff5500" in page.data and b"Thanks for shopping with us!" in page.data


def test_invalid_settings_name_every_bad_field_and_change_nothing(owner):
    client = owner.test_client()
    bad = dict(
        VALID,
        accent_color="red; x:y",
        font="comic",
        radius_px="99",
        logo_url="javascript:alert(1)",
        contact_email="nope",
        handling_days="-1",
    )
    response = client.post("/app/api/settings", json=bad)
    assert response.status_code == 422
    assert set(response.json["fields"]) == {
        "accent_color",
        "font",
        "radius_px",
        "logo_url",
        "contact_email",
        "handling_days",
    }
    assert client.post("/app/api/settings", data="not json", content_type="application/json").status_code == 400
    with owner.app_context():
        assert db.session.execute(select(TrackingSettings)).first() is None
