"""LINE pushes through a local server speaking the Messaging API: retry keys, error mapping, connect codes."""

from __future__ import annotations

import uuid
from dataclasses import replace
from urllib.parse import unquote

import pytest

from app.notifications.channels import OutgoingMessage, PermanentSendError, TransientSendError, get_channel
from app.notifications.channels.line import (
    LinePushChannel,
    find_connect_code,
    line_connect_url,
    line_retry_key,
    make_line_connect_code,
    read_line_connect_code,
)
from tests.conftest import free_port
from tests.fakes.line import FakeLine

USER = "U" + "4af4980629" * 3 + "ab"


def message(**changes) -> OutgoingMessage:
    values = {
        "notification_id": 7,
        "shop_domain": "snowdevil.myshopify.com",
        "channel": "line",
        "recipient": USER,
        "subject": None,
        "text": "คำสั่งซื้อ #1001 ของคุณกำลังจัดส่ง https://aftercart.test/l/c/abc",
        "html": None,
        "sender_name": "Snow Devil",
        "reply_to": None,
        "idempotency_key": "aftercart-1-7",
    }
    values.update(changes)
    return OutgoingMessage(**values)


@pytest.fixture()
def line():
    with FakeLine() as fake:
        yield fake


def channel_for(ctx, extra) -> LinePushChannel:
    channel = get_channel("line", replace(ctx.config["SETTINGS"], extra=extra))
    assert isinstance(channel, LinePushChannel)
    return channel


def test_not_configured_without_access_token(ctx):
    assert get_channel("line", replace(ctx.config["SETTINGS"], extra={"LINE_CHANNEL_SECRET": "s"})) is None


def test_push_sends_text_with_bearer_token_and_uuid_retry_key(ctx, line):
    result = channel_for(ctx, line.extra()).send(message())
    [push] = line.pushes
    assert push["to"] == USER
    assert push["messages"] == [{"type": "text", "text": message().text}]
    assert uuid.UUID(push["retry_key"]).version == 5
    assert push["retry_key"] == line_retry_key("aftercart-1-7")
    assert result.provider_message_id and result.provider_message_id.isdigit()  # sentMessages[0].id


def test_retry_after_a_lost_answer_is_not_delivered_twice(ctx, line):
    channel = channel_for(ctx, line.extra())
    line.drop_next_response = True  # LINE accepted the push but the answer never arrived
    with pytest.raises(TransientSendError):
        channel.send(message())
    result = channel.send(message())  # the job's retry: same notification, same key
    assert len(line.pushes) == 1
    first, retry = (headers["x-line-retry-key"] for _, headers, _ in line.requests)
    assert first == retry
    assert result.provider_message_id  # 409 with x-line-accepted-request-id counts as sent
    channel.send(message(notification_id=8, idempotency_key="aftercart-1-8"))
    assert len(line.pushes) == 2  # another notification is another message


def test_blocked_or_unfriended_user_is_opted_out(ctx, line):
    line.errors_for[USER] = 403
    with pytest.raises(PermanentSendError) as caught:
        channel_for(ctx, line.extra()).send(message())
    assert caught.value.opted_out is True and caught.value.code == "403"


def test_bad_request_and_bad_token_are_permanent(ctx, line):
    line.errors_for[USER] = 400
    with pytest.raises(PermanentSendError) as caught:
        channel_for(ctx, line.extra()).send(message())
    assert caught.value.opted_out is False and caught.value.code == "400"
    with pytest.raises(PermanentSendError) as caught:
        channel_for(ctx, line.extra(LINE_CHANNEL_ACCESS_TOKEN="revoked")).send(message())
    assert caught.value.code == "401" and "LINE_CHANNEL_ACCESS_TOKEN" in caught.value.reason
    with pytest.raises(PermanentSendError):
        channel_for(ctx, line.extra()).send(message(recipient="someone@example.com"))
    assert len(line.requests) == 2  # not a LINE user id: never sent


@pytest.mark.parametrize("status", [429, 500])
def test_throttling_and_server_errors_are_transient(ctx, line, status):
    channel = channel_for(ctx, line.extra())
    line.fail_next.append(status)
    with pytest.raises(TransientSendError):
        channel.send(message())
    channel.send(message())
    assert len(line.pushes) == 1


def test_timeout_and_refused_connection_are_transient(ctx, line):
    slow = LinePushChannel(FakeLine.ACCESS_TOKEN, api_url=line.url, timeout=0.2)
    line.delay_next.append(1.0)
    with pytest.raises(TransientSendError):
        slow.send(message())
    with pytest.raises(TransientSendError):
        channel_for(ctx, line.extra(LINE_API_URL=f"http://127.0.0.1:{free_port()}")).send(message())


def test_long_text_fits_line_limit(ctx, line):
    channel = channel_for(ctx, line.extra())
    channel.send(message(text="ก" * 6000))
    assert len(line.pushes[0]["messages"][0]["text"]) == 5000
    channel.send(message(text="📦" * 3000, idempotency_key="aftercart-1-9"))  # LINE counts UTF-16 units
    assert len(line.pushes[1]["messages"][0]["text"]) == 2500


def test_connect_code_names_one_shopper_and_cannot_be_forged(ctx):
    code = make_line_connect_code(3, " Jon@Example.com ", 7001)
    assert code.startswith("AC-") and len(code) < 120
    target = read_line_connect_code(code)
    assert (target.shop_id, target.email, target.shopify_customer_id) == (3, "jon@example.com", 7001)
    assert find_connect_code(f"Connect me please {code}!") == code
    assert find_connect_code("hello") is None
    payload, timestamp, signature = code[3:].split(".")
    assert read_line_connect_code(f"AC-{payload}.{timestamp}.{signature[:-2]}xx") is None
    other = make_line_connect_code(4, "jon@example.com", 7001)
    assert read_line_connect_code(f"AC-{other[3:].split('.')[0]}.{timestamp}.{signature}") is None
    assert read_line_connect_code(code, max_age=-1) is None  # expired


def test_connect_url_opens_a_chat_with_the_code_typed_in(ctx):
    code = make_line_connect_code(3, "jon@example.com", None)
    settings = ctx.config["SETTINGS"]
    assert line_connect_url(code) is None  # no LINE_BOT_BASIC_ID
    ctx.config["SETTINGS"] = replace(settings, extra={"LINE_BOT_BASIC_ID": "@123abcde"})
    try:
        url = line_connect_url(code)
    finally:
        ctx.config["SETTINGS"] = settings
    assert url.startswith("https://line.me/R/oaMessage/@123abcde/?")
    assert unquote(url.split("/?", 1)[1]) == code
