"""SMS through a local server speaking Twilio's Messages API: parameters, auth and error mapping."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from app.notifications.channels import OutgoingMessage, PermanentSendError, TransientSendError, get_channel
from app.notifications.channels.sms import TwilioSmsChannel, fit_text
from tests.conftest import free_port
from tests.fakes.twilio import FakeTwilio

PHONE = "+66812345678"


def message(text: str = "Your order #1001 is on its way: https://aftercart.test/l/c/abc", **changes) -> OutgoingMessage:
    values = {
        "notification_id": 42,
        "shop_domain": "snowdevil.myshopify.com",
        "channel": "sms",
        "recipient": PHONE,
        "subject": None,
        "text": text,
        "html": None,
        "sender_name": "Snow Devil",
        "reply_to": None,
        "idempotency_key": "aftercart-1-42",
    }
    values.update(changes)
    return OutgoingMessage(**values)


@pytest.fixture()
def twilio():
    with FakeTwilio() as fake:
        yield fake


def channel_for(ctx, extra) -> TwilioSmsChannel:
    settings = replace(ctx.config["SETTINGS"], extra=extra)
    channel = get_channel("sms", settings)
    assert isinstance(channel, TwilioSmsChannel)
    return channel


def test_not_configured_without_credentials_or_sender(ctx, twilio):
    settings = ctx.config["SETTINGS"]
    assert get_channel("sms", replace(settings, extra={})) is None
    assert get_channel("sms", replace(settings, extra=twilio.extra(TWILIO_FROM_NUMBER=""))) is None
    # Basic-auth credentials never travel in clear text to anything but a local fake.
    assert get_channel("sms", replace(settings, extra=twilio.extra(TWILIO_API_URL="http://api.example.com"))) is None


def test_sms_is_created_with_twilio_parameters(ctx, twilio):
    result = channel_for(ctx, twilio.extra()).send(message())
    [sent] = twilio.messages
    assert result.provider_message_id == sent["sid"] and sent["sid"].startswith("SM")
    assert sent["To"] == PHONE and sent["From"] == FakeTwilio.FROM_NUMBER
    assert sent["Body"] == "Your order #1001 is on its way: https://aftercart.test/l/c/abc"
    assert "MessagingServiceSid" not in sent
    # The status hook on our public URL, naming the notification (the URL is part of what Twilio signs).
    callback = urlsplit(sent["StatusCallback"])
    assert (callback.scheme, callback.netloc, callback.path) == ("https", "aftercart.test", "/hooks/twilio/status")
    assert parse_qs(callback.query) == {"n": ["42"]}


def test_messaging_service_and_explicit_callback_url(ctx, twilio):
    extra = twilio.extra(
        TWILIO_FROM_NUMBER="",
        TWILIO_MESSAGING_SERVICE_SID=FakeTwilio.MESSAGING_SERVICE_SID,
        TWILIO_STATUS_CALLBACK_URL="https://hooks.aftercart.test/hooks/twilio/status?v=1",
    )
    channel_for(ctx, extra).send(message(recipient="081-234-5678"))
    [sent] = twilio.messages
    assert sent["MessagingServiceSid"] == FakeTwilio.MESSAGING_SERVICE_SID and "From" not in sent
    assert sent["To"] == PHONE  # normalised to E.164 before it leaves
    assert sent["StatusCallback"] == "https://hooks.aftercart.test/hooks/twilio/status?v=1&n=42"


def test_recipient_who_replied_stop_is_opted_out_for_good(ctx, twilio):
    twilio.errors_for[PHONE] = 21610
    with pytest.raises(PermanentSendError) as caught:
        channel_for(ctx, twilio.extra()).send(message())
    assert caught.value.opted_out is True and caught.value.code == "21610"
    assert twilio.messages == []


@pytest.mark.parametrize("code", [21211, 21614, 21408])
def test_invalid_or_unreachable_numbers_are_permanent(ctx, twilio, code):
    twilio.errors_for[PHONE] = code
    with pytest.raises(PermanentSendError) as caught:
        channel_for(ctx, twilio.extra()).send(message())
    assert caught.value.opted_out is False and caught.value.code == str(code)
    assert f"Twilio {code}" in caught.value.reason


def test_unusable_number_fails_without_calling_twilio(ctx, twilio):
    with pytest.raises(PermanentSendError) as caught:
        channel_for(ctx, twilio.extra()).send(message(recipient="not a phone"))
    assert caught.value.opted_out is False and twilio.requests == []


def test_wrong_credentials_are_a_permanent_misconfiguration(ctx, twilio):
    with pytest.raises(PermanentSendError) as caught:
        channel_for(ctx, twilio.extra(TWILIO_AUTH_TOKEN="wrong")).send(message())
    assert caught.value.code == "20003" and caught.value.opted_out is False
    assert "TWILIO_AUTH_TOKEN" in caught.value.reason


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_transient(ctx, twilio, status):
    channel = channel_for(ctx, twilio.extra())
    twilio.fail_next.append(status)
    with pytest.raises(TransientSendError):
        channel.send(message())
    assert channel.send(message()).provider_message_id == twilio.messages[0]["sid"]  # the retry goes through


def test_timeout_and_refused_connection_are_transient(ctx, twilio):
    slow = TwilioSmsChannel(
        FakeTwilio.ACCOUNT_SID,
        FakeTwilio.AUTH_TOKEN,
        from_number=FakeTwilio.FROM_NUMBER,
        api_url=twilio.url,
        timeout=0.2,
    )
    twilio.delay_next.append(1.0)
    with pytest.raises(TransientSendError, match="may have been sent"):
        slow.send(message())
    closed = channel_for(ctx, twilio.extra(TWILIO_API_URL=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(TransientSendError, match="unreachable"):
        closed.send(message())


def test_long_text_is_cut_to_twilio_limit_keeping_the_link(ctx, twilio):
    link = "https://aftercart.test/l/c/" + "x" * 40
    thai = "พัสดุของคุณกำลังเดินทาง " * 120 + link
    channel_for(ctx, twilio.extra()).send(message(text=thai))
    body = twilio.messages[0]["Body"]
    assert len(body.encode("utf-16-le")) // 2 <= 1600
    assert body.endswith("… " + link)
    emoji = "📦" * 900  # two UTF-16 units each
    assert len(fit_text(emoji, 1600).encode("utf-16-le")) // 2 <= 1600
    assert fit_text("short", 1600) == "short"
