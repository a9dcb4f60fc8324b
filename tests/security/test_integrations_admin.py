"""Attacks on the event destinations (/app/integrations, /app/api/integrations/*) and the events they carry."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.integrations.models import IntegrationSettings, OutgoingEvent
from app.integrations.services import new_webhook_secret, send_test_event, set_klaviyo_key, webhook_secret
from app.shopify.models import Shop
from tests.conftest import OTHER_SHOP, SHOP
from tests.fakes.shopify import make_id_token

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _settings_of(domain: str) -> IntegrationSettings:
    shop = Shop(domain=domain, is_installed=True)
    db.session.add(shop)
    db.session.flush()
    settings = IntegrationSettings(shop_id=shop.id, webhook_url="https://hooks.other.example/x")
    new_webhook_secret(settings)
    set_klaviyo_key(settings, "pk_other_shops_key_1234")
    db.session.add(settings)
    db.session.add(
        OutgoingEvent(
            shop_id=shop.id,
            destination="webhook",
            event="shipment.delivered",
            dedupe_key="shipment:9:status:delivered",
            email="secret-shopper@other.example",
            payload={"order": {"email": "secret-shopper@other.example"}},
        )
    )
    db.session.commit()
    return settings


def test_another_shops_destinations_secret_and_events_never_show(fake_app, install_shop):
    install_shop()
    other = _settings_of(OTHER_SHOP)
    secret = webhook_secret(other)
    client = fake_app.test_client()
    page = client.get(f"/app/integrations?shop={SHOP}&id_token={make_id_token(SHOP)}").get_data(as_text=True)
    assert secret not in page and "hooks.other.example" not in page and "secret-shopper" not in page
    assert "1234" not in page  # not even the other key's hint
    headers = {"Authorization": f"Bearer {make_id_token(SHOP)}", "Accept": "application/json"}
    # Saving, testing or turning on touches the signed-in shop's row only.
    assert client.post("/app/api/integrations/webhook/on", headers=headers).status_code == 200
    assert client.post("/app/api/integrations/webhook/test", headers=headers).status_code == 422  # not set up here
    db.session.expire_all()
    assert db.session.get(IntegrationSettings, other.id).webhook_url == "https://hooks.other.example/x"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/app/integrations"),
        ("post", "/app/api/integrations"),
        ("post", "/app/api/integrations/webhook/on"),
        ("post", "/app/api/integrations/klaviyo/test"),
    ],
)
def test_no_or_forged_session_token_is_refused(fake_app, install_shop, method, path):
    install_shop()
    client = fake_app.test_client()
    forged = make_id_token(SHOP, secret="not-the-app-secret")
    for headers in ({}, {"Authorization": f"Bearer {forged}"}):
        response = getattr(client, method)(path, query_string={"shop": SHOP}, headers=headers)
        assert response.status_code in (302, 401), (path, headers, response.status_code)
    assert db.session.execute(select(IntegrationSettings)).first() is None


def test_a_get_changes_nothing(fake_app, install_shop):
    install_shop()
    client = fake_app.test_client()
    query = {"shop": SHOP, "id_token": make_id_token(SHOP), "webhook_url": "https://evil.example/x"}
    assert client.get("/app/integrations", query_string=query).status_code == 200
    assert client.get("/app/api/integrations", query_string=query).status_code == 405
    assert db.session.execute(select(IntegrationSettings)).first() is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"events": "everything"}',
        b'{"events": ["shipment.delivered", "admin.everything"]}',
        b'{"webhook_url": "http://169.254.169.254/latest/meta-data/"}',
        b'{"webhook_url": "javascript:alert(1)"}',
        b'{"klaviyo_key": "not-a-key"}',
        b'{"klaviyo_key": "pk_with\\r\\nInjected: header"}',
    ],
)
def test_malformed_settings_are_a_4xx_with_a_reason_and_nothing_saved(fake_app, install_shop, body):
    install_shop()
    response = fake_app.test_client().post(
        "/app/api/integrations",
        data=body,
        headers={"Authorization": f"Bearer {make_id_token(SHOP)}", "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422) and (response.json.get("errors") or response.json.get("error"))
    assert db.session.execute(select(IntegrationSettings)).first() is None


def test_an_unknown_destination_is_a_404(fake_app, install_shop):
    install_shop()
    headers = {"Authorization": f"Bearer {make_id_token(SHOP)}", "Accept": "application/json"}
    client = fake_app.test_client()
    assert client.post("/app/api/integrations/ftp/on", headers=headers).status_code == 404
    assert client.post("/app/api/integrations/..%2Fadmin/test", headers=headers).status_code == 404


@pytest.mark.parametrize("url", ["https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://localhost:8443/x"])
def test_the_event_webhook_never_goes_to_this_machine_or_its_network(fake_app, install_shop, url):
    shop_id = install_shop()
    settings = IntegrationSettings(shop_id=shop_id, webhook_url=url)
    new_webhook_secret(settings)
    shop = db.session.get(Shop, shop_id)
    assert "private or local" in send_test_event(settings, "webhook", shop)
