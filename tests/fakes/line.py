"""A local HTTP server speaking the LINE Messaging API (push with retry keys, reply), and signed webhooks.

Push: POST /v2/bot/message/push, `Authorization: Bearer`, optional `X-Line-Retry-Key` (a UUID); an
already accepted key answers 409 with `x-line-accepted-request-id`. Reply: POST /v2/bot/message/reply
with a reply token that this fake issued for a webhook event and that is used at most once.
Webhook signatures are computed here from LINE's documentation, independently of the app's code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes._server import LoopbackServer

_MESSAGES = {
    400: "The request body has 1 error(s)",
    401: "Authentication failed. Confirm that the access token in the authorization header is valid.",
    403: "The user hasn't added the LINE Official Account as a friend or has blocked it.",
    429: "The API rate limit has been exceeded. Try again later.",
    500: "An error occurred in the server.",
}


def line_sign(channel_secret: str, body: bytes) -> str:
    """X-Line-Signature: base64 HMAC-SHA256 of the request body with the channel secret."""
    return base64.b64encode(hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()).decode()


def new_user_id() -> str:
    return "U" + secrets.token_hex(16)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out on purpose (a test of slowness) has hung up: nothing to report.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeLine(LoopbackServer):
    ACCESS_TOKEN = "line-channel-access-token"
    CHANNEL_SECRET = "line-channel-secret"
    BOT_USER_ID = "U" + "f" * 32

    def __init__(self) -> None:
        self.pushes: list[dict[str, Any]] = []  # accepted pushes: what reached users
        self.replies: list[dict[str, Any]] = []
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.accepted_keys: dict[str, tuple[str, list[dict[str, str]]]] = {}  # retry key -> (request id, sent)
        self.reply_tokens: set[str] = set()  # issued by webhook events, not yet used
        self.errors_for: dict[str, int] = {}  # userId -> HTTP status answered to pushes for that user
        self.fail_next: list[int] = []  # statuses to answer with before behaving
        self.delay_next: list[float] = []  # seconds to wait before answering the next requests
        self.drop_next_response = False  # accept the next push, then cut the connection
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-line-request-id", str(uuid.uuid4()))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, details: list[dict[str, str]] | None = None) -> None:
                body: dict[str, Any] = {"message": _MESSAGES.get(status, "error")}
                if details:
                    body["details"] = details
                self._send(status, body)

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._send(400, {"message": "The request body could not be parsed as JSON"})
                    return
                fake.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if fake.delay_next:
                    time.sleep(fake.delay_next.pop(0))
                if fake.fail_next:
                    self._error(fake.fail_next.pop(0))
                    return
                if self.headers.get("Authorization") != f"Bearer {fake.ACCESS_TOKEN}":
                    self._error(401)
                    return
                problems = _invalid_messages(body.get("messages"))
                if problems:
                    self._error(400, problems)
                    return
                if self.path == "/v2/bot/message/push":
                    self._push(body)
                elif self.path == "/v2/bot/message/reply":
                    token = body.get("replyToken")
                    if token not in fake.reply_tokens:
                        self._send(400, {"message": "Invalid reply token"})
                        return
                    fake.reply_tokens.discard(token)
                    fake.replies.append(body)
                    self._send(200, {"sentMessages": _sent(body["messages"])})
                else:
                    self._send(404, {"message": "Not found"})

            def _push(self, body: dict[str, Any]) -> None:
                key = self.headers.get("X-Line-Retry-Key")
                if key is not None:
                    try:
                        uuid.UUID(key)
                    except ValueError:
                        self._send(400, {"message": "The value for the 'X-Line-Retry-Key' header is invalid"})
                        return
                    if key in fake.accepted_keys:
                        request_id, sent = fake.accepted_keys[key]
                        self._send(
                            409,
                            {"message": "The retry key is already accepted", "sentMessages": sent},
                            {"x-line-accepted-request-id": request_id},
                        )
                        return
                to = body.get("to")
                if not isinstance(to, str) or not to.startswith("U"):
                    self._error(400, [{"message": "Invalid user ID", "property": "to"}])
                    return
                if to in fake.errors_for:
                    self._error(fake.errors_for[to])
                    return
                sent = _sent(body["messages"])
                request_id = str(uuid.uuid4())
                if key is not None:
                    fake.accepted_keys[key] = (request_id, sent)
                fake.pushes.append({"to": to, "messages": body["messages"], "retry_key": key})
                if fake.drop_next_response:
                    fake.drop_next_response = False
                    self.close_connection = True  # accepted, but the answer never reaches the client
                    return
                self._send(200, {"sentMessages": sent}, {"x-line-request-id": request_id})

        self.server = _Server(("127.0.0.1", 0), Handler)

    def extra(self, **overrides: str) -> dict[str, str]:
        """LINE_* settings that point the app at this server."""
        values = {
            "LINE_CHANNEL_ACCESS_TOKEN": self.ACCESS_TOKEN,
            "LINE_CHANNEL_SECRET": self.CHANNEL_SECRET,
            "LINE_API_URL": self.url,
        }
        values.update(overrides)
        return {k: v for k, v in values.items() if v}

    # --- webhooks LINE sends to us -----------------------------------------------------------------

    def webhook(self, *events: dict[str, Any], secret: str | None = None) -> tuple[bytes, dict[str, str]]:
        """(body, headers) of a webhook delivery carrying `events`, signed with the channel secret."""
        body = json.dumps({"destination": self.BOT_USER_ID, "events": list(events)}, ensure_ascii=False).encode()
        signature = line_sign(secret or self.CHANNEL_SECRET, body)
        return body, {"Content-Type": "application/json; charset=utf-8", "X-Line-Signature": signature}

    def _event(self, kind: str, user_id: str, reply: bool) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": kind,
            "mode": "active",
            "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": user_id},
            "webhookEventId": "01" + secrets.token_hex(12).upper(),
            "deliveryContext": {"isRedelivery": False},
        }
        if reply:
            token = secrets.token_hex(16)
            self.reply_tokens.add(token)
            event["replyToken"] = token
        return event

    def follow(self, user_id: str) -> dict[str, Any]:
        return {**self._event("follow", user_id, reply=True), "follow": {"isUnblocked": False}}

    def unfollow(self, user_id: str) -> dict[str, Any]:
        return self._event("unfollow", user_id, reply=False)

    def text_message(self, user_id: str, text: str) -> dict[str, Any]:
        return {
            **self._event("message", user_id, reply=True),
            "message": {
                "type": "text",
                "id": str(secrets.randbelow(10**17)),
                "quoteToken": secrets.token_urlsafe(24),
                "text": text,
            },
        }


def _invalid_messages(messages: Any) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
        return [{"message": "Size must be between 1 and 5", "property": "messages"}]
    problems = []
    for index, message in enumerate(messages):
        text = message.get("text") if isinstance(message, dict) else None
        if not isinstance(message, dict) or message.get("type") != "text" or not isinstance(text, str) or not text:
            problems.append({"message": "Must be a text message with text", "property": f"messages[{index}]"})
        elif len(text.encode("utf-16-le")) // 2 > 5000:  # LINE counts UTF-16 code units
            problems.append({"message": "Length must be between 0 and 5000", "property": f"messages[{index}].text"})
    return problems


def _sent(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"id": str(secrets.randbelow(10**17)), "quoteToken": secrets.token_urlsafe(24)} for _ in messages]
