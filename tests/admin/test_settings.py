"""Branding and tracking settings in the embedded admin: validated, saved per shop, previewed."""

from __future__ import annotations

import re

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


def form_field_names(page: bytes) -> set[str]:
    """The names the settings page's form posts (its inputs, selects and textareas)."""
    form = page.decode().split('<form id="settings"', 1)[1].split("</form>", 1)[0]
    return set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', form))


def test_saving_the_form_keeps_the_settings_it_does_not_show(owner):
    client = owner.test_client()
    kept = {
        "faq": [{"q": "When will it ship?", "a": "Within two business days.", "locale": "en"}],
        "contact_url": "https://help.example.com/contact",
        "holidays": ["2026-12-05", "2026-12-10"],
        "weekend_days": [7],
    }
    assert client.post("/app/api/settings", json={**VALID, **kept}).status_code == 200
    page = client.get("/app/settings").data
    shown = form_field_names(page)
    # The contact page is a field of the form, and the FAQ its rows (posted as a list by the page's script,
    # see tests/admin/test_forms_browser.py); the calendar is not on the form at all.
    assert "contact_url" in shown and not shown & {"holidays", "weekend_days", "faq"}
    assert b'value="When will it ship?"' in page and b"Within two business days." in page
    form = {name: VALID.get(name, "") for name in shown} | {"accent_color": "#123456", "handling_days": "3"}
    form |= {"contact_url": kept["contact_url"], "faq": kept["faq"]}
    saved = client.post("/app/api/settings", json=form)
    assert saved.status_code == 200, saved.json
    with owner.app_context():
        settings = db.session.execute(select(TrackingSettings)).scalar_one()
        assert {key: getattr(settings, key) for key in kept} == kept
        assert (settings.accent_color, settings.handling_days) == ("#123456", 3)


def test_a_save_changes_only_the_fields_it_carries(owner):
    client = owner.test_client()
    assert client.post("/app/api/settings", json=VALID).status_code == 200
    for change in (
        {"contact_url": "https://help.example.com"},
        {"custom_message_th": "ขอบคุณค่ะ"},
        {"holidays": ["2026-12-31"]},
        {"radius_px": "4"},
    ):
        assert client.post("/app/api/settings", json=change).status_code == 200, change
    with owner.app_context():
        settings = db.session.execute(select(TrackingSettings)).scalar_one()
        assert settings.custom_message == {"en": "Thanks for shopping with us!", "th": "ขอบคุณค่ะ"}
        assert (settings.contact_url, settings.holidays, settings.radius_px) == (
            "https://help.example.com",
            ["2026-12-31"],
            4,
        )
        assert (settings.accent_color, settings.font, settings.logo_url) == (
            "#ff5500",
            "thai",
            "https://cdn.example.com/logo.png",
        )
        assert (settings.contact_email, settings.handling_days) == ("help@example.com", 1)
    # A field sent empty is cleared: that is a change the request carries.
    cleared = {"contact_url": "", "holidays": [], "custom_message_en": "", "stall_after_days": ""}
    assert client.post("/app/api/settings", json=cleared).status_code == 200
    with owner.app_context():
        settings = db.session.execute(select(TrackingSettings)).scalar_one()
        assert (settings.contact_url, settings.holidays, settings.custom_message) == (None, None, {"th": "ขอบคุณค่ะ"})


def test_a_bad_field_in_a_partial_save_changes_nothing(owner):
    client = owner.test_client()
    assert client.post("/app/api/settings", json=VALID).status_code == 200
    bad = {"contact_url": "https://help.example.com", "holidays": "2026-12-31", "faq": "nope"}
    response = client.post("/app/api/settings", json=bad)
    assert response.status_code == 422 and set(response.json["fields"]) == {"holidays", "faq"}
    with owner.app_context():
        assert db.session.execute(select(TrackingSettings)).scalar_one().contact_url is None
