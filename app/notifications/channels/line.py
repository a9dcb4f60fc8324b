"""LINE Messaging API: push messages, replies to webhook events, and the connect code that links a LINE user.

Protocol (https://developers.line.biz/en/reference/messaging-api/):
POST {LINE_API_URL}/v2/bot/message/push with `Authorization: Bearer <channel access token>` and
{"to": userId, "messages": [{"type": "text", "text": …}]}; 200 answers {"sentMessages": [{"id"}]}
and an `x-line-request-id` header. `X-Line-Retry-Key` (a UUID) makes a retried push safe: LINE answers
409 with `x-line-accepted-request-id` when it already accepted that key
(https://developers.line.biz/en/docs/messaging-api/retrying-api-request/).
POST /v2/bot/message/reply takes a webhook event's single-use `replyToken` instead of `to`.

Settings: LINE_CHANNEL_ACCESS_TOKEN (sending), LINE_CHANNEL_SECRET (webhook signature),
LINE_BOT_BASIC_ID (e.g. @123abcde, for the "Get updates on LINE" link), LINE_API_URL (tests).
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from rq import Retry

from app.jobs import with_app_context
from app.notifications.channels import (
    OutgoingMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
    configured,
    register,
)
from app.notifications.channels._http import fit_text, is_safe_api_url, response_json

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.line.me"
MAX_TEXT = 5000  # LINE's limit for one text message, in UTF-16 code units
USER_ID = re.compile(r"\AU[0-9a-f]{32}\Z")
# Fixed namespace: the same idempotency key gives the same retry key on every worker, forever.
_RETRY_KEY_NAMESPACE = uuid.UUID("6f1d3a52-8c1e-5b8e-9a57-3f0c2b7d4e10")

CONNECT_PREFIX = "AC-"
# itsdangerous tokens: payload.timestamp.signature, the payload led by "." when zlib-compressed.
CONNECT_CODE = re.compile(r"AC-\.?[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")
CONNECT_CODE_MAX_AGE = 30 * 24 * 3600
_CONNECT_SALT = "aftercart.line-connect.v1"

# A reply token lives about a minute: retry quickly, and not for long.
REPLY_RETRY = Retry(max=2, interval=[5, 15])


def line_retry_key(idempotency_key: str) -> str:
    """The `X-Line-Retry-Key` for a notification: LINE wants a UUID, so a stable uuid5 of our key."""
    return str(uuid.uuid5(_RETRY_KEY_NAMESPACE, idempotency_key))


@register
class LinePushChannel:
    name = "line"

    def __init__(self, access_token: str, *, api_url: str = DEFAULT_API_URL, timeout: float = 10.0):
        self.access_token = access_token
        self.api_url = api_url.rstrip("/")
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 5.0))

    @classmethod
    def from_settings(cls, settings: Any) -> LinePushChannel | None:
        extra = settings.extra
        if not configured(extra, "LINE_CHANNEL_ACCESS_TOKEN"):
            return None
        api_url = extra.get("LINE_API_URL") or DEFAULT_API_URL
        if not is_safe_api_url(api_url):
            log.error("LINE disabled: LINE_API_URL must be https (plain http only on loopback)")
            return None
        return cls(extra["LINE_CHANNEL_ACCESS_TOKEN"], api_url=api_url)

    def _post(self, path: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        try:
            with httpx.Client(timeout=self.timeout) as client:
                return client.post(
                    self.api_url + path,
                    json=payload,
                    headers={"Authorization": f"Bearer {self.access_token}", **(headers or {})},
                )
        except httpx.HTTPError as exc:
            raise TransientSendError(f"LINE unreachable or too slow: {exc}") from exc

    def send(self, message: OutgoingMessage) -> SendResult:
        """Push the text to the LINE user; safe to retry (the retry key derives from the idempotency key).

        Raises PermanentSendError (opted_out when LINE answers 403: blocked, or not a friend) or
        TransientSendError.
        """
        user_id = message.recipient.strip()
        if not USER_ID.match(user_id):
            raise PermanentSendError("not a LINE user id", code="invalid_user")
        response = self._post(
            "/v2/bot/message/push",
            {"to": user_id, "messages": [{"type": "text", "text": fit_text(message.text, MAX_TEXT)}]},
            {"X-Line-Retry-Key": line_retry_key(message.idempotency_key)},
        )
        if response.status_code == 409 and response.headers.get("x-line-accepted-request-id"):
            # Already accepted under this retry key (our earlier attempt got through): not a second copy.
            return SendResult(_sent_message_id(response) or response.headers["x-line-accepted-request-id"])
        if response.is_success:
            return SendResult(_sent_message_id(response) or response.headers.get("x-line-request-id"))
        if response.status_code == 403:
            raise PermanentSendError(
                f"LINE 403: the user blocked the account or is not a friend ({_detail(response)})",
                opted_out=True,
                code="403",
            )
        raise _error_for(response)

    def reply(self, reply_token: str, texts: list[str]) -> None:
        """Answer a webhook event (free of charge, unlike a push). Raises like send()."""
        response = self._post(
            "/v2/bot/message/reply",
            {
                "replyToken": reply_token,
                "messages": [{"type": "text", "text": fit_text(t, MAX_TEXT)} for t in texts[:5]],
            },
        )
        if not response.is_success:
            raise _error_for(response)


def _sent_message_id(response: httpx.Response) -> str | None:
    sent = response_json(response).get("sentMessages")
    if isinstance(sent, list) and sent and isinstance(sent[0], dict) and sent[0].get("id"):
        return str(sent[0]["id"])
    return None


def _detail(response: httpx.Response) -> str:
    body = response_json(response)
    details = body.get("details") if isinstance(body.get("details"), list) else []
    parts = [str(body.get("message") or response.reason_phrase or "")]
    parts += [f"{d.get('property')}: {d.get('message')}" for d in details if isinstance(d, dict)]
    return "; ".join(p for p in parts if p)[:300]


def _error_for(response: httpx.Response) -> TransientSendError | PermanentSendError:
    status = response.status_code
    if status == 429 or status >= 500:
        # 429 is also LINE's answer once the monthly message quota is spent; retries back off.
        return TransientSendError(f"LINE {status}: {_detail(response)}")
    if status == 401:
        return PermanentSendError(
            f"LINE 401: the channel access token was refused (check LINE_CHANNEL_ACCESS_TOKEN): {_detail(response)}",
            code="401",
        )
    return PermanentSendError(f"LINE {status}: {_detail(response)}", code=str(status))


@with_app_context
def send_line_reply(reply_token: str, texts: list[str]) -> bool:
    """Job: reply to a LINE webhook event. A spent or expired reply token is logged, not retried;
    TransientSendError propagates so RQ retries (briefly: the token expires)."""
    channel = LinePushChannel.from_settings(current_app.config["SETTINGS"])
    if channel is None:
        log.warning("LINE reply not sent: LINE_CHANNEL_ACCESS_TOKEN is not set")
        return False
    try:
        channel.reply(reply_token, texts)
    except PermanentSendError as exc:
        log.warning("LINE reply not sent: %s", exc.reason)
        return False
    return True


@dataclass(frozen=True)
class LineConnectTarget:
    shop_id: int
    email: str | None
    shopify_customer_id: int | None


def _connect_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SETTINGS"].secret_key, salt=_CONNECT_SALT)


def make_line_connect_code(shop_id: int, email: str | None, customer_id: int | None) -> str:
    """`AC-<token>`: names one shopper of one shop; signed, so it cannot be forged or moved to another
    shopper, and accepted for 30 days. The shopper sends it to our LINE account to connect."""
    email = email.strip().lower() if email else None
    return CONNECT_PREFIX + _connect_serializer().dumps([shop_id, email, customer_id or None])


def read_line_connect_code(code: str, max_age: int = CONNECT_CODE_MAX_AGE) -> LineConnectTarget | None:
    """The shopper a connect code names, or None when it is forged, malformed or expired."""
    token = code.strip().removeprefix(CONNECT_PREFIX)
    try:
        shop_id, email, customer_id = _connect_serializer().loads(token, max_age=max_age)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(shop_id, int) or not (email is None or isinstance(email, str)):
        return None
    if customer_id is not None and not isinstance(customer_id, int):
        return None
    if not (email or customer_id):
        return None
    return LineConnectTarget(shop_id=shop_id, email=email, shopify_customer_id=customer_id)


def find_connect_code(text: str | None) -> str | None:
    """The first `AC-…` code in a chat message, as typed or as pre-filled by line_connect_url()."""
    match = CONNECT_CODE.search(text or "")
    return match.group(0) if match else None


def line_connect_url(code: str) -> str | None:
    """A link that opens a chat with our LINE account with the code typed in, or None without
    LINE_BOT_BASIC_ID (https://developers.line.biz/en/docs/messaging-api/using-line-url-scheme/)."""
    basic_id = (current_app.config["SETTINGS"].extra.get("LINE_BOT_BASIC_ID") or "").strip()
    if not basic_id:
        return None
    if not basic_id.startswith("@"):
        basic_id = "@" + basic_id
    return f"https://line.me/R/oaMessage/{quote(basic_id, safe='@')}/?{quote(code, safe='')}"
