"""Attacks on the pages anyone with a signed link opens (/l/...): framing by another site, what a token
reveals, and an old link after the shopper was erased."""

from __future__ import annotations

import base64
import json

import pytest
from flask import current_app
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from app.extensions import db
from app.notifications.links import unsubscribe_url
from app.notifications.models import ContactPreference, Notification
from app.orders.models import Order
from app.shopify.models import Shop
from app.storefront.links import make_track_token
from tests.conftest import SHOP, load_fixture

EMAIL = "jon.unsub@example.com"


@pytest.fixture()
def sent(ctx, post_webhook, run_jobs) -> tuple[int, int, int]:
    """(shop id, order id, notification id) of an email sent to EMAIL."""
    post_webhook("orders/create", dict(load_fixture("orders_create.json"), email=EMAIL))
    run_jobs()
    shop_id = db.session.execute(select(Shop.id).where(Shop.domain == SHOP)).scalar_one()
    order_id = db.session.execute(select(Order.id).where(Order.shop_id == shop_id)).scalar_one()
    notification = Notification(
        shop_id=shop_id, dedupe_key="unsub-test", trigger="shipped", channel="email", recipient=EMAIL, status="sent"
    )
    db.session.add(notification)
    db.session.commit()
    return shop_id, order_id, notification.id


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_link_pages_cannot_be_framed_by_another_site(client, sent):
    shop_id, order_id, notification_id = sent
    unsubscribe = _path(unsubscribe_url(shop_id, notification_id))
    pages = {
        "tracking page": client.get(f"/l/track/{make_track_token(shop_id, order_id)}"),
        "returns portal": client.get(f"/l/returns/{make_track_token(shop_id, order_id)}"),
        "unsubscribe page": client.get(unsubscribe),
        "unsubscribed page": client.post(unsubscribe),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert response.headers.get("Content-Security-Policy") == "frame-ancestors 'none'", name
        assert response.headers.get("X-Frame-Options") == "DENY", name


def test_an_unsubscribe_token_names_no_address(sent):
    shop_id, _, notification_id = sent
    token = unsubscribe_url(shop_id, notification_id).rsplit("/", 1)[1]
    payload = token.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert json.loads(decoded) == [shop_id, notification_id]
    assert EMAIL not in decoded


def _redact(post_webhook, run_jobs) -> None:
    redact = dict(load_fixture("customers_redact.json"), orders_to_redact=[])
    redact["customer"] = {"id": None, "email": EMAIL, "phone": None}
    post_webhook("customers/redact", redact)
    run_jobs()


def test_a_one_click_unsubscribe_after_redaction_writes_no_address_back(client, sent, post_webhook, run_jobs):
    shop_id, _, notification_id = sent
    unsubscribe = _path(unsubscribe_url(shop_id, notification_id))
    legacy = URLSafeSerializer(current_app.config["SETTINGS"].secret_key, salt="aftercart.unsubscribe.v1")
    old_link = "/l/u/" + legacy.dumps([shop_id, "email", EMAIL, "en"])  # in an email sent before this change
    _redact(post_webhook, run_jobs)
    for path in (unsubscribe, old_link):
        response = client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 204
    db.session.expire_all()
    assert db.session.execute(select(ContactPreference).where(ContactPreference.address == EMAIL)).all() == []


def test_an_unsubscribe_link_opts_the_address_out_while_we_hold_it(client, sent):
    shop_id, _, notification_id = sent
    assert client.post(_path(unsubscribe_url(shop_id, notification_id))).status_code == 200
    preference = db.session.execute(select(ContactPreference).where(ContactPreference.address == EMAIL)).scalar_one()
    assert preference.is_opted_out
