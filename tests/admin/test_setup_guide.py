"""The home page's setup guide reads the real state, keeps who ticked what, and sends the merchant a test."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.admin.models import SetupTick
from app.blueprints import SETUP_STEPS
from app.db import utcnow
from app.extensions import db
from app.shopify.models import Shop
from tests.admin.test_admin_look_browser import visible_text
from tests.alerts.conftest import alert_app  # noqa: F401  (fixture)
from tests.alerts.test_alerts import _settings
from tests.conftest import SHOP
from tests.fakes.shopify import make_id_token
from tests.notifications.conftest import smtp  # noqa: F401  (fixture)
from tests.shopify.conftest import fake_shopify  # noqa: F401  (fixture)
from tests.tracking.test_timeline import order_payload

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _home(app, locale: str = "en") -> str:
    query = {"shop": SHOP, "id_token": make_id_token(SHOP), "locale": locale}
    page = app.test_client().get("/app", query_string=query)
    assert page.status_code == 200
    return " ".join(visible_text(page.get_data(as_text=True)).split())


def _post(app, path: str, **kwargs):
    headers = {"Authorization": f"Bearer {make_id_token(SHOP)}", "Accept": "application/json"}
    return app.test_client().post(path, headers=headers, **kwargs)


def test_the_guide_follows_the_shops_real_state(alert_app, post_webhook, smtp):  # noqa: F811
    assert post_webhook("orders/create", order_payload(utcnow()), via=alert_app.test_client()).status_code == 200
    text = _home(alert_app)
    assert "✓ Receive your first order from Shopify" in text  # a webhook arrived
    assert "○ Read your orders from Shopify" in text  # no reconciliation yet
    assert "✓ Send shopper emails from your address" in text  # the SMTP server is set up
    assert "○ Choose where you hear about parcel problems" in text
    assert "○ Connect SMS (Twilio) (optional)" in text
    steps = len(SETUP_STEPS)  # later features add steps of their own
    assert f"3 of {steps} done" not in text and f"2 of {steps} done" in text

    with alert_app.app_context():
        shop = db.session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        shop.last_synced_at = utcnow()
        db.session.commit()
    _settings(alert_app, notify_to="owner@shop.example")
    ticked = _post(alert_app, "/app/setup/theme_block/tick")
    assert ticked.status_code == 200 and ticked.json == {"step": "theme_block", "done": True}
    text = _home(alert_app)
    assert f"5 of {steps} done" in text and "✓ Add the tracking block to your theme" in text and "ticked by" in text
    with alert_app.app_context():
        assert db.session.execute(select(SetupTick.ticked_by)).scalar_one()  # who ticked it
    assert _post(alert_app, "/app/setup/theme_block/tick").json["done"] is False  # and it can be taken back
    assert _post(alert_app, "/app/setup/webhooks/tick").status_code == 404  # the app checks that one itself
    thai = _home(alert_app, "th")
    assert "ตั้งค่า Aftercart" in thai and f"เสร็จแล้ว 4 จาก {steps} ขั้นตอน" in thai


def test_send_me_a_test_email(alert_app, post_webhook, smtp):  # noqa: F811
    assert post_webhook("orders/create", order_payload(utcnow()), via=alert_app.test_client()).status_code == 200
    sent = _post(alert_app, "/app/api/notifications/test", data={"channel": "email", "to": "owner@shop.example"})
    assert sent.status_code == 200 and sent.json["sent"] is True
    (mail,) = smtp.mailbox.messages
    assert mail["To"] == "owner@shop.example" and "#1001" in mail["Subject"]
    thai = _post(
        alert_app, "/app/api/notifications/test", data={"channel": "email", "to": "owner@shop.example", "locale": "th"}
    )
    assert thai.status_code == 200 and "คำสั่งซื้อ" in smtp.mailbox.messages[1]["Subject"]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"channel": "fax", "to": "x"}, "channel"),
        ({"channel": "email", "to": "owner@shop.example\r\nBcc: evil@evil.test"}, "to"),
        ({"channel": "sms", "to": "call me maybe"}, "to"),
        ({"channel": "line", "to": "not-a-line-id"}, "to"),
        ({"channel": "sms", "to": "+66812345678"}, "channel"),  # no SMS account here
    ],
)
def test_a_test_send_to_a_bad_address_is_a_422_and_sends_nothing(alert_app, post_webhook, smtp, form, field):  # noqa: F811
    assert post_webhook("orders/create", order_payload(utcnow()), via=alert_app.test_client()).status_code == 200
    response = _post(alert_app, "/app/api/notifications/test", data=form)
    assert response.status_code == 422 and field in response.json["fields"]
    assert smtp.mailbox.messages == []
