"""Attacks on the attention queue and alert settings (/app/attention, /app/alerts/settings, /app/api/alerts/*)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.alerts.models import AlertSettings, MerchantAlert
from app.alerts.services import new_webhook_secret, post_webhook
from app.extensions import db
from app.notifications.channels import PermanentSendError
from app.shopify.models import Shop
from tests.conftest import OTHER_SHOP, SHOP
from tests.fakes.shopify import make_id_token

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _alert_of(domain: str) -> int:
    shop = Shop(domain=domain, is_installed=True)
    db.session.add(shop)
    db.session.flush()
    alert = MerchantAlert(shop_id=shop.id, dedupe_key="shipment:1:status:exception", kind="exception")
    db.session.add(alert)
    db.session.commit()
    return alert.id


def test_another_shops_alert_cannot_be_seen_or_handled(fake_app, install_shop):
    install_shop()
    other_alert = _alert_of(OTHER_SHOP)
    client = fake_app.test_client()
    headers = {"Authorization": f"Bearer {make_id_token(SHOP)}", "Accept": "application/json"}
    assert client.post(f"/app/attention/{other_alert}/handled", headers=headers).status_code == 404
    assert db.session.get(MerchantAlert, other_alert).handled_at is None
    page = client.get(f"/app/attention?shop={SHOP}&id_token={make_id_token(SHOP)}")
    assert page.status_code == 200 and f"/app/attention/{other_alert}/handled" not in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "x",
        "1.",
        ".1",
        "-5.1",
        "9" * 40 + ".1",
        "9" * 18 + ".1",
        "9" * 16 + ".9",
        "1.9" * 30,
        "2026-11-01T00:00:00+00:00|1",
        "1' OR '1'='1",
        "\x00",
    ],
)
def test_a_made_up_queue_cursor_shows_the_first_page(fake_app, install_shop, cursor):
    install_shop()
    mine = _alert_of("mine-too.myshopify.com")  # another shop: its alert must never appear, whatever the cursor
    page = fake_app.test_client().get(
        "/app/attention", query_string={"shop": SHOP, "id_token": make_id_token(SHOP), "after": cursor}
    )
    assert page.status_code == 200 and f"/app/attention/{mine}/handled" not in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/app/attention"),
        ("get", "/app/alerts/settings"),
        ("post", "/app/attention/1/handled"),
        ("post", "/app/api/alerts/settings"),
        ("post", "/app/api/alerts/test"),
    ],
)
def test_no_or_forged_session_token_is_refused(fake_app, install_shop, method, path):
    install_shop()
    client = fake_app.test_client()
    forged = make_id_token(SHOP, secret="not-the-app-secret")
    for headers in ({}, {"Authorization": f"Bearer {forged}"}):
        response = getattr(client, method)(path, query_string={"shop": SHOP}, headers=headers)
        assert response.status_code in (302, 401), (path, headers, response.status_code)
    assert db.session.execute(select(AlertSettings)).first() is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"kinds": "everything"}',
        b'{"kinds": [1, 2]}',
        b'{"webhook_url": "http://169.254.169.254/latest/meta-data/"}',
        b'{"webhook_url": "file:///etc/passwd"}',
        b'{"locale": "xx"}',
    ],
)
def test_malformed_settings_are_a_4xx_with_a_reason(fake_app, install_shop, body):
    install_shop()
    response = fake_app.test_client().post(
        "/app/api/alerts/settings",
        data=body,
        headers={"Authorization": f"Bearer {make_id_token(SHOP)}", "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422) and (response.json.get("errors") or response.json.get("error"))


@pytest.mark.parametrize("url", ["https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://localhost:8443/x"])
def test_the_alert_webhook_never_goes_to_this_machine_or_its_network(fake_app, install_shop, url):
    shop_id = install_shop()
    settings = AlertSettings(shop_id=shop_id, mode="instant", locale="en", webhook_url=url)
    new_webhook_secret(settings)
    with pytest.raises(PermanentSendError, match="private or local"):
        post_webhook(settings, {"type": "test"})
