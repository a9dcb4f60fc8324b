"""Twilio and LINE calling us back: signed requests only, the right rows changed, answers that reveal nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue, SimpleWorker
from sqlalchemy import select

from app.extensions import db
from app.jobs import QUEUES
from app.notifications.channels import OutgoingMessage
from app.notifications.channels.line import make_line_connect_code
from app.notifications.channels.sms import TwilioSmsChannel
from app.notifications.hooks import provider_hooks_bp, twiml
from app.notifications.models import ContactPreference, Notification
from app.notifications.preferences import record_opt_in
from app.shopify.models import Shop
from tests.fakes.line import FakeLine, new_user_id
from tests.fakes.twilio import SIGNATURE_SETTINGS_HEADER, FakeTwilio, twilio_sign

PHONE = "+66812345678"
INBOUND_URL = "https://aftercart.test/hooks/twilio/inbound"
SHOPS = ("snowdevil.myshopify.com", "other-store.myshopify.com", "third-store.myshopify.com")


@dataclass
class Hooks:
    app: Flask
    client: FlaskClient
    twilio: FakeTwilio
    line: FakeLine
    shop_ids: list[int]

    def notification(self, shop_id: int, channel: str = "sms", recipient: str = PHONE, **values: Any) -> int:
        with self.app.app_context():
            row = Notification(
                shop_id=shop_id,
                dedupe_key=f"test:{channel}:{recipient}:{values.get('provider_message_id')}",
                trigger="shipped",
                channel=channel,
                recipient=recipient,
                status=values.pop("status", "sent"),
                **values,
            )
            db.session.add(row)
            db.session.commit()
            return row.id

    def get(self, notification_id: int) -> Notification:
        with self.app.app_context():
            row = db.session.get(Notification, notification_id)
            db.session.expunge(row)
            return row

    def preferences(self, channel: str) -> dict[int, ContactPreference]:
        with self.app.app_context():
            rows = db.session.execute(select(ContactPreference).where(ContactPreference.channel == channel)).scalars()
            found = {row.shop_id: row for row in rows}
            db.session.expunge_all()
            return found

    def send_sms(self, notification_id: int, save_sid: bool = False) -> dict[str, str]:
        """Send through the real channel to the fake, as the send job does, and return what Twilio got;
        with `save_sid`, store the message sid on the notification as the job does once it is sent."""
        channel = TwilioSmsChannel.from_settings(self.app.config["SETTINGS"])
        channel.send(
            OutgoingMessage(
                notification_id=notification_id,
                shop_domain=SHOPS[0],
                channel="sms",
                recipient=PHONE,
                subject=None,
                text="Your order #1001 is on its way",
                html=None,
                sender_name=None,
                reply_to=None,
                idempotency_key=f"aftercart-1-{notification_id}",
            )
        )
        sent = self.twilio.messages[-1]
        if save_sid:
            with self.app.app_context():
                db.session.get(Notification, notification_id).provider_message_id = sent["sid"]
                db.session.commit()
        return sent

    def post_twilio(self, request: tuple[str, dict[str, str], dict[str, str]], **headers: str):
        path, params, signed = request
        return self.client.post(path, data=params, headers={**signed, **headers})

    def post_line(self, *events: dict[str, Any], secret: str | None = None):
        body, headers = self.line.webhook(*events, secret=secret)
        return self.client.post("/hooks/line", data=body, headers=headers)

    def work(self, redis_conn) -> None:
        with self.app.app_context():
            SimpleWorker([Queue(q, connection=redis_conn) for q in QUEUES], connection=redis_conn).work(burst=True)
            db.session.remove()


@pytest.fixture()
def hooks(make_app) -> Iterator[Hooks]:
    with FakeTwilio() as twilio, FakeLine() as line:
        # As deployed behind one load balancer (TRUSTED_PROXY_HOPS=1): providers sign the public URL.
        app = make_app(extra={**twilio.extra(), **line.extra()}, trusted_proxy_hops=1)
        if provider_hooks_bp.name not in app.blueprints:  # until create_app registers it
            app.register_blueprint(provider_hooks_bp)
        with app.app_context():
            shops = [Shop(domain=domain, is_installed=True) for domain in SHOPS]
            db.session.add_all(shops)
            db.session.commit()
            shop_ids = [shop.id for shop in shops]
        yield Hooks(app, app.test_client(), twilio, line, shop_ids)


# --- Twilio delivery reports -------------------------------------------------------------------------


def test_delivery_report_marks_the_sms_delivered_once(hooks):
    notification_id = hooks.notification(hooks.shop_ids[0])
    sent = hooks.send_sms(notification_id, save_sid=True)
    for status in ("sent", "delivered"):
        response = hooks.post_twilio(hooks.twilio.status_callback(sent, status))
        assert response.status_code == 200
    delivered = hooks.get(notification_id)
    assert delivered.status == "delivered" and delivered.delivered_at is not None
    assert hooks.post_twilio(hooks.twilio.status_callback(sent, "delivered")).status_code == 200
    assert hooks.get(notification_id).delivered_at == delivered.delivered_at  # a repeat changes nothing
    hooks.post_twilio(hooks.twilio.status_callback(sent, "undelivered", 30003))
    assert hooks.get(notification_id).status == "delivered"  # a late failure does not undo delivery


def test_failure_report_records_the_twilio_error_code(hooks):
    notification_id = hooks.notification(hooks.shop_ids[0])
    sent = hooks.send_sms(notification_id, save_sid=True)
    assert hooks.post_twilio(hooks.twilio.status_callback(sent, "undelivered", 30003)).status_code == 200
    failed = hooks.get(notification_id)
    assert (failed.status, failed.reason) == ("failed", "Twilio 30003")
    assert hooks.preferences("sms") == {}


def test_unsubscribed_report_opts_the_number_out_at_that_shop_only(hooks):
    first, other, _ = hooks.shop_ids
    notification_id = hooks.notification(first)
    hooks.notification(other, provider_message_id="SM-other")
    sent = hooks.send_sms(notification_id, save_sid=True)
    hooks.post_twilio(hooks.twilio.status_callback(sent, "failed", 21610))
    assert (hooks.get(notification_id).status, hooks.get(notification_id).reason) == ("failed", "Twilio 21610")
    preferences = hooks.preferences("sms")
    assert list(preferences) == [first]
    assert preferences[first].address == PHONE and preferences[first].is_opted_out
    assert preferences[first].source == "twilio:21610"


def test_report_arriving_before_the_sid_was_saved_finds_the_notification_by_its_signed_id(hooks):
    notification_id = hooks.notification(hooks.shop_ids[0], status="queued")
    sent = hooks.send_sms(notification_id)  # the send job has not committed the sid yet
    hooks.post_twilio(hooks.twilio.status_callback(sent, "delivered"))
    row = hooks.get(notification_id)
    assert (row.status, row.provider_message_id) == ("delivered", sent["sid"])


def test_report_for_an_unknown_message_is_acknowledged(hooks):
    unknown = {"sid": "SM" + "a" * 32, "to": PHONE, "StatusCallback": "https://aftercart.test/hooks/twilio/status"}
    response = hooks.post_twilio(hooks.twilio.status_callback(unknown, "delivered"))
    assert response.status_code == 200 and response.data == b""


def test_forged_reports_are_refused_and_change_nothing(hooks):
    notification_id = hooks.notification(hooks.shop_ids[0])
    sent = hooks.send_sms(notification_id, save_sid=True)
    path, params, headers = hooks.twilio.status_callback(sent, "delivered")
    tampered = {**params, "MessageStatus": "failed", "ErrorCode": "21610"}
    wrong_key = hooks.twilio.signed(sent["StatusCallback"], tampered, auth_token="not-our-token")[1]
    other_url = hooks.twilio.signed("https://evil.example/hooks/twilio/status?n=1", params)[1]
    for data, signed in ((tampered, headers), (tampered, wrong_key), (params, other_url), (params, {})):
        assert hooks.client.post(path, data=data, headers=signed).status_code == 403
    row = hooks.get(notification_id)
    assert (row.status, row.delivered_at) == ("sent", None)
    assert hooks.preferences("sms") == {}


def test_signature_over_the_public_url_seen_through_the_proxy(hooks):
    notification_id = hooks.notification(hooks.shop_ids[0], provider_message_id="SM" + "b" * 32)
    message = {"sid": "SM" + "b" * 32, "to": PHONE, "StatusCallback": "https://hooks.example.net/hooks/twilio/status"}
    response = hooks.post_twilio(
        hooks.twilio.status_callback(message, "delivered"),
        **{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hooks.example.net"},
    )
    assert response.status_code == 200 and hooks.get(notification_id).status == "delivered"


# --- Twilio's HMAC-SHA256 signatures: a Webhooks Rule's SharedKey ---------------------------------------

# Computed with Twilio's own SDK (twilio 9.13.0, twilio/request_validator.py):
# RequestValidator("twilio-shared-key-secret").compute_signature(SDK_URL, SDK_PARAMS, algorithm) for HMAC_SHA256
# and for the default HMAC_SHA1.
SDK_URL = INBOUND_URL
SDK_PARAMS = {
    "MessageSid": "SM" + "c" * 32,
    "From": PHONE,
    "To": FakeTwilio.FROM_NUMBER,
    "Body": "หยุด",
    "AccountSid": FakeTwilio.ACCOUNT_SID,
}
SDK_HMAC_SHA256 = "2BQAZwYl1NLZsAy+FgBEtxmuQwTwqi2vFkTX6QUoKZw="
SDK_HMAC_SHA1 = "TB7dEh+iFwBT0IAPJTBv5M9wwJg="
RULE_HEADER = {SIGNATURE_SETTINGS_HEADER: f"key={FakeTwilio.SHARED_KEY_SID},algorithm=HMAC_SHA256"}


def test_twilio_signatures_are_computed_as_twilios_sdk_computes_them():
    from app.notifications.channels.sms import twilio_signature

    secret = FakeTwilio.SHARED_KEY_SECRET
    assert twilio_sign(secret, SDK_URL, SDK_PARAMS) == SDK_HMAC_SHA1
    assert twilio_sign(secret, SDK_URL, SDK_PARAMS, "HMAC_SHA256") == SDK_HMAC_SHA256
    assert twilio_signature(secret, SDK_URL, SDK_PARAMS.items()) == SDK_HMAC_SHA1
    assert twilio_signature(secret, SDK_URL, SDK_PARAMS.items(), "HMAC_SHA256") == SDK_HMAC_SHA256


def test_stop_signed_by_twilios_sdk_with_hmac_sha256_is_applied(hooks):
    shop_id = hooks.shop_ids[0]
    hooks.notification(shop_id)
    headers = {"X-Twilio-Signature": SDK_HMAC_SHA256, **RULE_HEADER}
    response = hooks.client.post("/hooks/twilio/inbound", data=SDK_PARAMS, headers=headers)
    assert response.status_code == 200 and "unsubscribed" in response.get_data(as_text=True)
    assert hooks.preferences("sms")[shop_id].is_opted_out


def test_delivery_report_signed_by_a_webhooks_rule_with_hmac_sha256_is_recorded(hooks):
    hooks.twilio.webhook_rule = "HMAC_SHA256"
    notification_id = hooks.notification(hooks.shop_ids[0])
    sent = hooks.send_sms(notification_id, save_sid=True)
    request = hooks.twilio.status_callback(sent, "delivered")
    assert request[2][SIGNATURE_SETTINGS_HEADER].endswith("algorithm=HMAC_SHA256")
    assert hooks.post_twilio(request).status_code == 200
    assert hooks.get(notification_id).status == "delivered"


def test_forged_hmac_sha256_reports_are_refused_and_change_nothing(hooks):
    hooks.twilio.webhook_rule = "HMAC_SHA256"
    notification_id = hooks.notification(hooks.shop_ids[0])
    sent = hooks.send_sms(notification_id, save_sid=True)
    path, params, headers = hooks.twilio.status_callback(sent, "failed", 21610)
    url = sent["StatusCallback"]
    rule = headers[SIGNATURE_SETTINGS_HEADER]
    forgeries = [
        (params, hooks.twilio.signed(url, params, auth_token="guessed-shared-key")[1]),
        (params, hooks.twilio.signed(url, params, auth_token=FakeTwilio.AUTH_TOKEN)[1]),  # not the rule's key
        (params, {k: v for k, v in headers.items() if k != SIGNATURE_SETTINGS_HEADER}),  # mode header dropped
        (params, {**headers, SIGNATURE_SETTINGS_HEADER: rule.replace("HMAC_SHA256", "HMAC_SHA1")}),
        (params, {**headers, SIGNATURE_SETTINGS_HEADER: rule.replace("HMAC_SHA256", "HMAC_MD5")}),
        ({**params, "ErrorCode": "30003"}, headers),  # tampered after signing
    ]
    for data, signed in forgeries:
        assert hooks.client.post(path, data=data, headers=signed).status_code == 403
    row = hooks.get(notification_id)
    assert (row.status, row.delivered_at) == ("sent", None)
    assert hooks.preferences("sms") == {}


def test_hmac_sha256_requests_need_the_shared_key_setting(make_app):
    with FakeTwilio() as twilio:
        app = make_app(extra=twilio.extra(TWILIO_WEBHOOK_SHARED_KEY_SECRET=""))
        if provider_hooks_bp.name not in app.blueprints:
            app.register_blueprint(provider_hooks_bp)
        client = app.test_client()
        headers = {"X-Twilio-Signature": SDK_HMAC_SHA256, **RULE_HEADER}
        assert client.post("/hooks/twilio/inbound", data=SDK_PARAMS, headers=headers).status_code == 403
        path, params, signed = twilio.inbound(INBOUND_URL, PHONE, "HELP")  # the Auth Token still works
        assert client.post(path, data=params, headers=signed).status_code == 200


# --- Twilio inbound keywords -------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["STOP", " stop ", "Unsubscribe", "STOPALL", "Stop please", "หยุด", "หยุดส่ง"])
def test_stop_opts_the_number_out_at_every_shop_that_knows_it(hooks, body):
    with_consent, with_notification, stranger = hooks.shop_ids
    with hooks.app.app_context():
        record_opt_in(db.session, with_consent, "sms", PHONE, source="checkout")
        db.session.commit()
    hooks.notification(with_notification)
    response = hooks.post_twilio(hooks.twilio.inbound(INBOUND_URL, PHONE, body))
    assert response.status_code == 200 and response.mimetype == "application/xml"
    text = response.get_data(as_text=True)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    assert "unsubscribed" in text and "ยกเลิก" in text
    preferences = hooks.preferences("sms")
    assert sorted(preferences) == [with_consent, with_notification]  # nothing created for a shop that never knew it
    assert all(p.is_opted_out and p.source == "twilio:stop" for p in preferences.values())
    # A number no shop knows gets the very same answer.
    assert hooks.post_twilio(hooks.twilio.inbound(INBOUND_URL, "+66899999999", body)).data == response.data


@pytest.mark.parametrize("body", ["START", "unstop", "เริ่ม"])
def test_start_opts_the_number_back_in(hooks, body):
    shop_id = hooks.shop_ids[0]
    hooks.notification(shop_id)
    hooks.post_twilio(hooks.twilio.inbound(INBOUND_URL, PHONE, "STOP"))
    assert hooks.preferences("sms")[shop_id].is_opted_out
    response = hooks.post_twilio(hooks.twilio.inbound(INBOUND_URL, PHONE, body))
    assert "subscribed again" in response.get_data(as_text=True)
    preference = hooks.preferences("sms")[shop_id]
    assert (preference.is_opted_out, preference.updates_consent, preference.source) == (False, True, "twilio:start")


@pytest.mark.parametrize("body", ["HELP", "info", "ช่วยเหลือ"])
def test_help_answers_in_english_and_thai_and_changes_nothing(hooks, body):
    hooks.notification(hooks.shop_ids[0])
    text = hooks.post_twilio(hooks.twilio.inbound(INBOUND_URL, PHONE, body)).get_data(as_text=True)
    assert "Reply STOP to unsubscribe" in text and "ตอบกลับ STOP หรือ หยุด" in text
    assert "Msg &amp; data rates may apply" in text  # escaped inside the TwiML
    assert hooks.preferences("sms") == {}


@pytest.mark.parametrize("body", ["Thanks, see you soon", "Cancel my order please", ""])
def test_other_messages_get_no_reply(hooks, body):
    hooks.notification(hooks.shop_ids[0])
    response = hooks.post_twilio(hooks.twilio.inbound(INBOUND_URL, PHONE, body))
    assert response.get_data(as_text=True) == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    assert hooks.preferences("sms") == {}


def test_twilio_advanced_opt_out_classification_wins(hooks):
    shop_id = hooks.shop_ids[0]
    hooks.notification(shop_id)
    hooks.post_twilio(hooks.twilio.inbound(INBOUND_URL, PHONE, "Arrêtez", opt_out_type="STOP"))
    assert hooks.preferences("sms")[shop_id].is_opted_out


def test_forged_inbound_stop_is_refused(hooks):
    hooks.notification(hooks.shop_ids[0])
    path, params, _ = hooks.twilio.inbound(INBOUND_URL, PHONE, "STOP")
    forged = hooks.twilio.signed(INBOUND_URL, params, auth_token="guessed")[1]
    assert hooks.client.post(path, data=params, headers=forged).status_code == 403
    assert hooks.preferences("sms") == {}


def test_twiml_escapes_text():
    body = twiml("<b>5 & 6</b>").get_data(as_text=True)
    assert "<Message>&lt;b&gt;5 &amp; 6&lt;/b&gt;</Message>" in body


# --- LINE webhook ------------------------------------------------------------------------------------


def test_line_webhook_with_a_forged_signature_is_refused(hooks):
    user_id = new_user_id()
    with hooks.app.app_context():
        record_opt_in(db.session, hooks.shop_ids[0], "line", user_id, source="line:connect")
        db.session.commit()
    assert hooks.post_line(hooks.line.unfollow(user_id), secret="wrong-secret").status_code == 401
    body, _ = hooks.line.webhook(hooks.line.unfollow(user_id))
    assert hooks.client.post("/hooks/line", data=body, headers={"Content-Type": "application/json"}).status_code == 401
    assert not hooks.preferences("line")[hooks.shop_ids[0]].is_opted_out


def test_line_verification_request_is_acknowledged(hooks):
    response = hooks.post_line()  # LINE's "Verify" button sends no events
    assert response.status_code == 200 and response.get_json() == {}


def test_connect_code_links_the_line_user_and_replies(hooks, redis_conn):
    shop_id = hooks.shop_ids[1]
    user_id = new_user_id()
    with hooks.app.app_context():
        code = make_line_connect_code(shop_id, "Jon@Example.com", 7001)
    event = hooks.line.text_message(user_id, code)
    assert hooks.post_line(event).status_code == 200
    preference = hooks.preferences("line")[shop_id]
    assert (preference.address, preference.email, preference.shopify_customer_id) == (user_id, "jon@example.com", 7001)
    assert preference.updates_consent and not preference.is_opted_out and preference.source == "line:connect"
    hooks.work(redis_conn)
    [reply] = hooks.line.replies
    assert reply["replyToken"] == event["replyToken"]
    assert "connected" in reply["messages"][0]["text"] and "เชื่อมต่อ" in reply["messages"][0]["text"]


def test_invalid_connect_code_links_nothing_and_says_so(hooks, redis_conn):
    with hooks.app.app_context():
        code = make_line_connect_code(hooks.shop_ids[0], "jon@example.com", None)
    assert hooks.post_line(hooks.line.text_message(new_user_id(), code[:-3] + "abc")).status_code == 200
    assert hooks.post_line(hooks.line.text_message(new_user_id(), "hello, where is my parcel?")).status_code == 200
    assert hooks.preferences("line") == {}
    hooks.work(redis_conn)
    [reply] = hooks.line.replies  # only the message with a code gets an answer
    assert "not valid" in reply["messages"][0]["text"]


def test_unfollow_opts_the_user_out_at_every_shop_that_knows_them(hooks):
    first, second, stranger = hooks.shop_ids
    user_id = new_user_id()
    with hooks.app.app_context():
        for shop_id in (first, second):
            record_opt_in(db.session, shop_id, "line", user_id, source="line:connect", email="jon@example.com")
        db.session.commit()
    assert hooks.post_line(hooks.line.follow(user_id)).status_code == 200
    assert not any(p.is_opted_out for p in hooks.preferences("line").values())
    assert hooks.post_line(hooks.line.unfollow(user_id), hooks.line.unfollow(new_user_id())).status_code == 200
    preferences = hooks.preferences("line")
    assert sorted(preferences) == [first, second]
    assert all(p.is_opted_out and p.source == "line:unfollow" for p in preferences.values())
