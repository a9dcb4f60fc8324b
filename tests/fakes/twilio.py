"""A local HTTP server speaking Twilio's Messages API, and Twilio-signed requests for our hooks.

Create: POST /2010-04-01/Accounts/{AccountSid}/Messages.json, basic auth, form-encoded; 201 with the
message resource, or Twilio's error body {code, message, more_info, status}. The signature helpers
are written here from Twilio's documentation, independently of the app's own code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
from collections.abc import Iterable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes._server import LoopbackServer

# Error codes and texts as Twilio answers them (https://www.twilio.com/docs/api/errors).
ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
    21211: (400, "Invalid 'To' Phone Number"),
    21408: (400, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
}
_BY_STATUS = {429: 20429, 500: 20500, 503: 20500}


# A Webhooks Rule signs with its SharedKey and the algorithm it names, and says so in this header
# (https://www.twilio.com/docs/usage/webhooks/webhook-rules): `key=<SharedKey sid>,algorithm=HMAC_SHA256`.
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
_HASHES = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}


def twilio_sign(
    secret: str, url: str, params: Iterable[tuple[str, str]] | dict[str, str], algorithm: str = "HMAC_SHA1"
) -> str:
    """X-Twilio-Signature as Twilio computes it: URL, then each key+value sorted by key (then value),
    base64 HMAC with the Auth Token (HMAC_SHA1), or a Webhooks Rule's SharedKey and algorithm."""
    pairs = list(params.items()) if isinstance(params, dict) else list(params)
    payload = url
    for key in sorted({k for k, _ in pairs}):
        for value in sorted({v for k, v in pairs if k == key}):
            payload += key + value
    return base64.b64encode(hmac.new(secret.encode(), payload.encode(), _HASHES[algorithm]).digest()).decode()


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out on purpose (a test of slowness) has hung up: nothing to report.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeTwilio(LoopbackServer):
    ACCOUNT_SID = "AC" + "0" * 31 + "1"
    AUTH_TOKEN = "twilio-auth-token"
    SHARED_KEY_SID = "webhooks_sharedkey_" + "0" * 24
    SHARED_KEY_SECRET = "twilio-shared-key-secret"
    FROM_NUMBER = "+15005550006"
    MESSAGING_SERVICE_SID = "MG" + "0" * 31 + "2"

    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []  # accepted creates, in order
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.errors_for: dict[str, int] = {}  # To number -> Twilio error code, answered every time
        self.fail_next: list[int] = []  # HTTP statuses to answer with before behaving
        self.delay_next: list[float] = []  # seconds to wait before answering the next requests
        # The algorithm of a Webhooks Rule matching our URLs (e.g. "HMAC_SHA256"): requests to us are then
        # signed with its SharedKey and carry SIGNATURE_SETTINGS_HEADER. None: the Auth Token and HMAC_SHA1.
        self.webhook_rule: str | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Twilio-Request-Id", _sid("RQ"))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, code: int) -> None:
                status, message = ERRORS[code]
                self._send(
                    status,
                    {
                        "code": code,
                        "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status,
                    },
                )

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                fake.requests.append((self.path, form))
                if fake.delay_next:
                    time.sleep(fake.delay_next.pop(0))
                if fake.fail_next:
                    status = fake.fail_next.pop(0)
                    self._error(_BY_STATUS.get(status, 20500))
                    return
                expected = f"/2010-04-01/Accounts/{fake.ACCOUNT_SID}/Messages.json"
                if not self._authorised():
                    self._error(20003)
                    return
                if self.path != expected:
                    self._send(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
                    return
                to = form.get("To", "")
                if not to:
                    self._error(21604)
                    return
                if not (form.get("From") or form.get("MessagingServiceSid")):
                    self._error(21603)
                    return
                body = form.get("Body", "")
                if not body:
                    self._error(21602)
                    return
                if len(body.encode("utf-16-le")) // 2 > 1600:
                    self._error(21617)
                    return
                if to in fake.errors_for:
                    self._error(fake.errors_for[to])
                    return
                now = formatdate(usegmt=True)
                sid = _sid("SM")
                fake.messages.append({"sid": sid, "to": to, **form})
                self._send(
                    201,
                    {
                        "sid": sid,
                        "account_sid": fake.ACCOUNT_SID,
                        "messaging_service_sid": form.get("MessagingServiceSid"),
                        "from": form.get("From"),
                        "to": to,
                        "body": body,
                        "status": "accepted" if form.get("MessagingServiceSid") else "queued",
                        "num_segments": "1",
                        "num_media": "0",
                        "direction": "outbound-api",
                        "api_version": "2010-04-01",
                        "price": None,
                        "price_unit": "USD",
                        "error_code": None,
                        "error_message": None,
                        "date_created": now,
                        "date_updated": now,
                        "date_sent": None,
                        "uri": f"/2010-04-01/Accounts/{fake.ACCOUNT_SID}/Messages/{sid}.json",
                        "subresource_uris": {
                            "media": f"/2010-04-01/Accounts/{fake.ACCOUNT_SID}/Messages/{sid}/Media.json"
                        },
                    },
                )

            def _authorised(self) -> bool:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return False
                try:
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                except ValueError:
                    return False
                return hmac.compare_digest(f"{user}:{password}", f"{fake.ACCOUNT_SID}:{fake.AUTH_TOKEN}")

        self.server = _Server(("127.0.0.1", 0), Handler)

    def extra(self, **overrides: str) -> dict[str, str]:
        """TWILIO_* settings that point the app at this server."""
        values = {
            "TWILIO_ACCOUNT_SID": self.ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": self.AUTH_TOKEN,
            "TWILIO_WEBHOOK_SHARED_KEY_SECRET": self.SHARED_KEY_SECRET,
            "TWILIO_FROM_NUMBER": self.FROM_NUMBER,
            "TWILIO_API_URL": self.url,
        }
        values.update(overrides)
        return {k: v for k, v in values.items() if v}

    # --- requests Twilio makes to us ---------------------------------------------------------------

    def signed(self, url: str, params: dict[str, str], auth_token: str | None = None) -> tuple[str, dict[str, str]]:
        """(path with query, headers) for POSTing `params` to our `url` as Twilio would; `auth_token`
        replaces the secret it signs with (the Auth Token, or the rule's SharedKey secret)."""
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"I-Twilio-Idempotency-Token": secrets.token_hex(16)}
        if self.webhook_rule:
            secret = auth_token or self.SHARED_KEY_SECRET
            headers[SIGNATURE_SETTINGS_HEADER] = f"key={self.SHARED_KEY_SID},algorithm={self.webhook_rule}"
            headers["X-Twilio-Signature"] = twilio_sign(secret, url, params, self.webhook_rule)
        else:
            headers["X-Twilio-Signature"] = twilio_sign(auth_token or self.AUTH_TOKEN, url, params)
        return path, headers

    def status_callback(
        self, message: dict[str, str], status: str, error_code: int | None = None
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """A delivery report for a message this server accepted, to the StatusCallback it was given."""
        params = {
            "SmsSid": message["sid"],
            "SmsStatus": status,
            "MessageStatus": status,
            "MessageSid": message["sid"],
            "AccountSid": self.ACCOUNT_SID,
            "To": message["to"],
            "From": message.get("From") or self.FROM_NUMBER,
            "ApiVersion": "2010-04-01",
        }
        if message.get("MessagingServiceSid"):
            params["MessagingServiceSid"] = message["MessagingServiceSid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        path, headers = self.signed(message["StatusCallback"], params)
        return path, params, headers

    def inbound(
        self, url: str, from_number: str, body: str, opt_out_type: str | None = None
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """An incoming SMS to our number, as Twilio posts it to the number's messaging webhook."""
        sid = _sid("SM")
        params = {
            "ToCountry": "TH",
            "ToState": "",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "ToCity": "",
            "FromZip": "",
            "SmsSid": sid,
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": body,
            "FromCountry": "TH",
            "To": self.FROM_NUMBER,
            "ToZip": "",
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": self.ACCOUNT_SID,
            "From": from_number,
            "ApiVersion": "2010-04-01",
        }
        if opt_out_type:
            params["OptOutType"] = opt_out_type
        path, headers = self.signed(url, params)
        return path, params, headers
