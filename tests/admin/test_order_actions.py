"""The order page's one-click actions, each with its line in the order's activity (who, when): resend the latest
update on a chosen channel, send the tracking link, pause and resume messages, mark a parcel lost or reshipped,
and an internal note. Email goes through the real SMTP server; the queue and the shopper's page follow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.admin.models import OrderActivity
from app.alerts.models import MerchantAlert
from app.db import utcnow
from app.extensions import db
from app.notifications.models import Notification
from app.orders.models import Fulfillment, Order
from tests.admin.test_admin_look_browser import visible_text
from tests.alerts.conftest import alert_app, receiver, work  # noqa: F401  (fixtures)
from tests.alerts.test_alerts import _order_with_a_failed_parcel, _settings, _tracking_page
from tests.conftest import SHOP
from tests.fakes.shopify import make_id_token
from tests.notifications.conftest import smtp  # noqa: F401  (fixture)
from tests.shopify.conftest import fake_shopify  # noqa: F401  (fixture)
from tests.tracking.test_timeline import event_payload

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture()
def deliver(alert_app, post_webhook):  # noqa: F811
    client = alert_app.test_client()

    def send(topic, payload):
        assert post_webhook(topic, payload, via=client).status_code == 200

    return send


@pytest.fixture()
def order_id(alert_app, deliver, work):  # noqa: F811
    _settings(alert_app, notify_to="owner@shop.example")
    _order_with_a_failed_parcel(deliver, utcnow() - timedelta(hours=22))
    work()
    with alert_app.app_context():
        return db.session.execute(select(Order.id)).scalar_one()


def _post(app, path: str, **form):
    return app.test_client().post(
        path, data=form, headers={"Authorization": f"Bearer {make_id_token(SHOP)}", "Accept": "application/json"}
    )


def _page(app, order_id: int, locale: str = "en") -> str:
    response = app.test_client().get(
        f"/app/orders/{order_id}", query_string={"shop": SHOP, "id_token": make_id_token(SHOP), "locale": locale}
    )
    assert response.status_code == 200
    return " ".join(visible_text(response.get_data(as_text=True)).split())


def _activity(app) -> list[OrderActivity]:
    with app.app_context():
        rows = db.session.execute(select(OrderActivity).order_by(OrderActivity.id)).scalars().all()
        db.session.expunge_all()
        return rows


def _subjects(smtp) -> list[str]:  # noqa: F811
    return [m["Subject"] for m in smtp.mailbox.messages]


def test_resend_the_latest_update_by_email_once_per_click(alert_app, order_id, work, smtp):  # noqa: F811
    before = _subjects(smtp)
    latest = "A problem with the delivery of #1001"  # the shopper's latest update (not the merchant's alert)
    first = _post(alert_app, f"/app/orders/{order_id}/actions/resend", channel="email", token="click-1")
    again = _post(alert_app, f"/app/orders/{order_id}/actions/resend", channel="email", token="click-1")  # double
    assert first.status_code == 200 and first.json["ok"] and again.json["message"].startswith("Already done")
    work()
    assert _subjects(smtp).count(latest) == before.count(latest) + 1
    (row,) = _activity(alert_app)
    assert (row.action, row.detail["channel"], row.actor) == ("resend", "email", "42")  # the session token's user
    assert "Latest update sent again" in _page(alert_app, order_id)


def test_a_channel_without_consent_is_refused_with_the_reason_and_kept(alert_app, order_id, work):  # noqa: F811
    response = _post(alert_app, f"/app/orders/{order_id}/actions/resend", channel="sms", token="click-2")
    assert response.status_code == 422 and "no sms address for this shopper" in response.json["message"]
    (row,) = _activity(alert_app)
    assert row.detail["reason"] == "no sms address for this shopper"
    assert _post(alert_app, f"/app/orders/{order_id}/actions/resend", channel="fax", token="x").status_code == 422


def test_send_the_tracking_link(alert_app, order_id, work, smtp):  # noqa: F811
    assert _post(alert_app, f"/app/orders/{order_id}/actions/tracking_link", channel="email", token="t1").json["ok"]
    work()
    (message,) = [m for m in smtp.mailbox.messages if m["Subject"] == "Track your order #1001"]
    assert "/l/c/" in message.get_body(("plain",)).get_content()  # the tracking page, through a counted link
    assert _activity(alert_app)[0].action == "tracking_link"


def test_paused_messages_are_held_back_until_resumed(alert_app, order_id, deliver, work, smtp):  # noqa: F811
    assert _post(alert_app, f"/app/orders/{order_id}/actions/pause").json["ok"]
    assert "are paused (by 42," in _page(alert_app, order_id)
    start = utcnow() - timedelta(hours=22)
    deliver("fulfillment_events/create", event_payload(3, 501, "out_for_delivery", start + timedelta(hours=21)))
    work()
    with alert_app.app_context():
        held = db.session.execute(select(Notification).where(Notification.trigger == "out_for_delivery")).scalar_one()
        assert (held.status, held.reason) == ("suppressed", "paused by the shop")
    # A message sent by hand still goes out while paused.
    assert _post(alert_app, f"/app/orders/{order_id}/actions/tracking_link", channel="email", token="t2").json["ok"]
    work()
    assert "Track your order #1001" in _subjects(smtp)
    assert _post(alert_app, f"/app/orders/{order_id}/actions/resume").json["ok"]
    deliver("fulfillment_events/create", event_payload(4, 501, "delivered", start + timedelta(hours=21, minutes=30)))
    work()
    with alert_app.app_context():
        sent = db.session.execute(select(Notification).where(Notification.trigger == "delivered")).scalar_one()
        assert sent.status == "sent"
    assert [row.action for row in _activity(alert_app)] == ["paused", "tracking_link", "resumed"]


def test_a_parcel_marked_lost_leaves_the_queue_and_the_shopper_reads_so(alert_app, order_id, work):  # noqa: F811
    with alert_app.app_context():
        fid = db.session.execute(select(Fulfillment.shopify_fulfillment_id)).scalar_one()
        assert db.session.execute(select(MerchantAlert.resolved_at)).scalar_one() is None
    response = _post(alert_app, f"/app/orders/{order_id}/parcels/{fid}/mark", state="lost")
    assert response.status_code == 200 and response.json["ok"]
    work()
    with alert_app.app_context():
        assert db.session.execute(select(MerchantAlert.resolved_at)).scalar_one() is not None
    assert "The carrier has lost this parcel" in _tracking_page(alert_app)
    assert "Lost (marked by the shop)" in _page(alert_app, order_id)
    assert "สูญหาย (ร้านทำเครื่องหมาย)" in _page(alert_app, order_id, "th")
    again = _post(alert_app, f"/app/orders/{order_id}/parcels/{fid}/mark", state="reshipped", tracking_number="SHP9")
    assert again.json["ok"]
    assert "(tracking number SHP9)" in _tracking_page(alert_app)
    assert [(r.action, r.detail["tracking_number"]) for r in _activity(alert_app)] == [
        ("lost", None),
        ("reshipped", "SHP9"),
    ]
    bad = _post(alert_app, f"/app/orders/{order_id}/parcels/{fid}/mark", state="stolen")
    assert bad.status_code == 422


def test_an_internal_note_is_kept_with_its_author_and_shown_escaped(alert_app, order_id):  # noqa: F811
    saved = _post(alert_app, f"/app/orders/{order_id}/notes", note="Called <b>Jon</b>: will wait two more days")
    assert saved.status_code == 200 and saved.json["ok"]
    html = (
        alert_app.test_client()
        .get(f"/app/orders/{order_id}", query_string={"shop": SHOP, "id_token": make_id_token(SHOP)})
        .get_data(as_text=True)
    )
    assert "Called &lt;b&gt;Jon&lt;/b&gt;: will wait two more days" in html and "<b>Jon</b>" not in html
    assert _post(alert_app, f"/app/orders/{order_id}/notes", note="").status_code == 422
    assert _post(alert_app, f"/app/orders/{order_id}/notes", note="x" * 4001).status_code == 422
    (row,) = _activity(alert_app)
    assert (row.action, row.actor) == ("note", "42")
