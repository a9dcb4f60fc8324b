"""Attacks on the content library and Flow's lifecycle callback: no or a forged session token stores nothing;
another shop's content cannot be read, changed or deleted (404, nothing leaked); a malformed body is a 4xx with a
reason; a lifecycle callback with a missing, forged or tampered signature is 401 and nothing is kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.content.models import ContentEntry
from app.extensions import db
from app.integrations.catalogue import flow_handle
from app.integrations.models import FlowTriggerUse
from app.shopify.models import Shop
from app.shopify.signatures import webhook_hmac
from tests.conftest import OTHER_SHOP, SHOP
from tests.fakes.shopify import make_id_token

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

FORM = {"kind": "getting_started", "scope": "product", "scope_value": "7001", "title_en": "Hi", "body_en": "Text"}


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {make_id_token(SHOP)}", "Accept": "application/json"}


def _others_entry() -> int:
    shop = Shop(domain=OTHER_SHOP, is_installed=True)
    db.session.add(shop)
    db.session.flush()
    entry = ContentEntry(
        shop_id=shop.id,
        kind="care",
        scope="product",
        scope_value="555",
        texts={"en": {"title": "Other shop's secret", "body": "private-care-text"}},
    )
    db.session.add(entry)
    db.session.commit()
    return entry.id


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/app/content"),
        ("post", "/app/content"),
        ("post", "/app/content/1"),
        ("post", "/app/content/1/delete"),
        ("post", "/app/content/import"),
    ],
)
def test_no_or_forged_session_token_is_refused_and_nothing_stored(fake_app, install_shop, method, path):
    install_shop()
    client = fake_app.test_client()
    forged = make_id_token(SHOP, secret="not-the-app-secret")
    for headers in ({}, {"Authorization": f"Bearer {forged}"}):
        response = getattr(client, method)(path, query_string={"shop": SHOP}, headers=headers, data=FORM)
        assert response.status_code in (302, 401), (path, headers, response.status_code)
    assert db.session.execute(select(func.count()).select_from(ContentEntry)).scalar() == 0


def test_another_shops_content_cannot_be_read_changed_or_deleted(fake_app, install_shop):
    install_shop()
    entry_id = _others_entry()
    client = fake_app.test_client()
    page = client.get("/app/content", headers=_headers()).get_data(as_text=True)
    assert "private-care-text" not in page and "Other shop" not in page
    assert client.get(f"/app/content?edit={entry_id}", headers=_headers()).status_code == 404
    for path in (f"/app/content/{entry_id}", f"/app/content/{entry_id}/delete"):
        response = client.post(path, data=FORM, headers=_headers())
        assert response.status_code == 404, path
        assert "private-care-text" not in response.get_data(as_text=True)
    db.session.expire_all()
    kept = db.session.get(ContentEntry, entry_id)
    assert kept is not None and kept.texts["en"]["body"] == "private-care-text"


def test_malformed_bodies_are_refused_with_a_reason(fake_app, install_shop):
    install_shop()
    client = fake_app.test_client()
    for path in ("/app/content", "/app/content/import"):
        response = client.post(path, data="[1, 2]", content_type="application/json", headers=_headers())
        assert response.status_code == 400 and response.get_json()["error"], path
    assert db.session.execute(select(func.count()).select_from(ContentEntry)).scalar() == 0


def test_a_lifecycle_callback_without_shopifys_signature_is_refused(fake_app, install_shop):
    install_shop()
    body = json.dumps(
        {
            "flow_trigger_definition_id": flow_handle("shipment.delivered"),
            "has_enabled_flow": True,
            "shopify_domain": SHOP,
            "timestamp": datetime.now(UTC).isoformat(),
        }
    ).encode()
    secret = fake_app.config["SETTINGS"].shopify_api_secret
    client = fake_app.test_client()
    for data, headers in (
        (body, {}),
        (body, {"X-Shopify-Hmac-Sha256": webhook_hmac("forged", body)}),
        (body.replace(b"true", b"false"), {"X-Shopify-Hmac-Sha256": webhook_hmac(secret, body)}),  # tampered
        (body, {"X-Shopify-Hmac-Sha256": "not base64 at all"}),
    ):
        assert client.post("/flow/lifecycle", data=data, headers=headers).status_code == 401
    assert db.session.execute(select(func.count()).select_from(FlowTriggerUse)).scalar() == 0
    assert client.get("/flow/lifecycle").status_code == 405
