"""SMS through Twilio's Programmable Messaging REST API, Twilio's request signature, and the small HTTP
helpers the LINE channel shares (fit_text, is_safe_api_url, response_json).

Protocol (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource):
POST {TWILIO_API_URL}/2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP basic auth
(AccountSid:AuthToken), form-encoded To, From or MessagingServiceSid, Body, StatusCallback.
201 answers the message resource (`sid` "SM…"); errors answer {code, message, more_info, status}
(https://www.twilio.com/docs/api/errors).

Settings: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, and TWILIO_MESSAGING_SERVICE_SID (preferred: sender
pool and Advanced Opt-Out) or TWILIO_FROM_NUMBER; optional TWILIO_STATUS_CALLBACK_URL (default
{SHOPIFY_APP_URL}/hooks/twilio/status when that is https), TWILIO_WEBHOOK_SHARED_KEY_SECRET (the SharedKey
of a Webhooks Rule that signs our hooks with HMAC-SHA256) and TWILIO_API_URL (tests).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from app.notifications.channels import (
    OutgoingMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
    configured,
    register,
)
from app.notifications.channels._http import fit_text, is_safe_api_url, response_json
from app.notifications.preferences import normalise_phone

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.twilio.com"
STATUS_HOOK_PATH = "/hooks/twilio/status"
# Twilio refuses bodies over 1600 characters, counted in UTF-16 code units (Thai is UCS-2 anyway).
MAX_BODY = 1600
# "Attempt to send to unsubscribed recipient": the number replied STOP to this sender.
OPTED_OUT_CODE = "21610"
# Query parameter of the status callback naming our notification, for a callback that arrives before
# the send job has stored the message sid. Part of the signed URL, so it cannot be forged.
NOTIFICATION_PARAM = "n"


def with_notification_param(url: str, notification_id: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != NOTIFICATION_PARAM]
    query.append((NOTIFICATION_PARAM, str(notification_id)))
    return urlunsplit(parts._replace(query=urlencode(query)))


# A Twilio Webhooks Rule signs with its SharedKey instead of the Auth Token, with the algorithm it names
# here: `key=<SharedKey sid>,algorithm=HMAC_SHA256` (twilio-python's RequestValidator reads it the same way).
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
HMAC_SHA1 = "HMAC_SHA1"
_SIGNATURE_HASHES = {HMAC_SHA1: hashlib.sha1, "HMAC_SHA256": hashlib.sha256}


def twilio_signature(secret: str, url: str, params: Iterable[tuple[str, str]], algorithm: str = HMAC_SHA1) -> str:
    """`X-Twilio-Signature`: base64 HMAC of the URL followed by each POST parameter as key+value, with
    the Auth Token and SHA-1, or a Webhooks Rule's SharedKey and its algorithm (HMAC_SHA1, HMAC_SHA256).

    Parameters are sorted by key, and repeated keys by value, as Twilio's own validators do
    (https://www.twilio.com/docs/usage/webhooks/webhooks-security). Raises KeyError for another algorithm.
    """
    data = url + "".join(key + value for key, value in sorted(set(params)))
    digest = hmac.new(secret.encode(), data.encode(), _SIGNATURE_HASHES[algorithm]).digest()
    return base64.b64encode(digest).decode()


def signature_algorithm(settings_header: str | None) -> str | None:
    """The algorithm named by `X-Twilio-Webhooks-Signature-Settings` (HMAC_SHA1 without the header or
    without `algorithm=`), or None when it names one we do not know."""
    for part in (settings_header or "").split(","):
        name, separator, value = part.partition("=")
        if separator and name.strip() == "algorithm" and value.strip():
            algorithm = value.strip().upper()
            return algorithm if algorithm in _SIGNATURE_HASHES else None
    return HMAC_SHA1


def _port_variants(url: str) -> list[str]:
    # Twilio may sign https://host/path while we see https://host:443/path, or the reverse.
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if not parts.hostname or default is None:
        return [url]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port in (None, default):
        return [
            urlunsplit(parts._replace(netloc=host)),
            urlunsplit(parts._replace(netloc=f"{host}:{default}")),
        ]
    return [url]


def verify_twilio_signature(
    secret: str | None,
    urls: Iterable[str],
    params: Iterable[tuple[str, str]],
    header_value: str | None,
    algorithm: str = HMAC_SHA1,
) -> bool:
    """True when the header is Twilio's signature of the params at one of the URLs we may be reached by,
    made with `secret` (the Auth Token, or a Webhooks Rule's SharedKey) and `algorithm`.

    Every candidate is computed and compared in constant time (no early exit).
    """
    if not secret or not header_value or algorithm not in _SIGNATURE_HASHES:
        return False
    received = header_value.strip().encode()
    params = list(params)
    matched = False
    for url in dict.fromkeys(u for candidate in urls for u in _port_variants(candidate)):
        matched |= hmac.compare_digest(twilio_signature(secret, url, params, algorithm).encode(), received)
    return matched


@register
class TwilioSmsChannel:
    name = "sms"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback_url: str | None = None,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 10.0,
    ):
        if not (from_number or messaging_service_sid):
            raise ValueError("Twilio needs TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback_url = status_callback_url
        self.api_url = api_url.rstrip("/")
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 5.0))

    @classmethod
    def from_settings(cls, settings: Any) -> TwilioSmsChannel | None:
        extra = settings.extra
        if not configured(extra, "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
            return None
        if not (extra.get("TWILIO_MESSAGING_SERVICE_SID") or extra.get("TWILIO_FROM_NUMBER")):
            log.warning("Twilio SMS disabled: set TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER")
            return None
        api_url = extra.get("TWILIO_API_URL") or DEFAULT_API_URL
        if not is_safe_api_url(api_url):
            log.error("Twilio SMS disabled: TWILIO_API_URL must be https (plain http only on loopback)")
            return None
        callback = extra.get("TWILIO_STATUS_CALLBACK_URL")
        app_url = getattr(settings, "shopify_app_url", "") or ""
        if not callback and app_url.startswith("https://"):
            callback = app_url.rstrip("/") + STATUS_HOOK_PATH
        return cls(
            extra["TWILIO_ACCOUNT_SID"],
            extra["TWILIO_AUTH_TOKEN"],
            from_number=extra.get("TWILIO_FROM_NUMBER") or None,
            messaging_service_sid=extra.get("TWILIO_MESSAGING_SERVICE_SID") or None,
            status_callback_url=callback or None,
            api_url=api_url,
        )

    def send(self, message: OutgoingMessage) -> SendResult:
        """Create the message at Twilio; the sid is the provider message id.

        Twilio has no idempotency key for sends: a timeout after Twilio accepted the request is
        reported as transient and a retry may send a second copy (the job's `sending_started_at`
        is the record of that risk). Raises PermanentSendError (opted_out for error 21610) or
        TransientSendError.
        """
        to = normalise_phone(message.recipient)
        if to is None:
            raise PermanentSendError("not a valid phone number", code="invalid_number")
        form = {"To": to, "Body": fit_text(message.text, MAX_BODY)}
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        else:
            form["From"] = self.from_number or ""
        if self.status_callback_url:
            form["StatusCallback"] = with_notification_param(self.status_callback_url, message.notification_id)
        url = f"{self.api_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        try:
            with httpx.Client(timeout=self.timeout) as client:
                response = client.post(
                    url, data=form, auth=(self.account_sid, self.auth_token), headers={"Accept": "application/json"}
                )
        except httpx.TimeoutException as exc:
            raise TransientSendError(
                f"Twilio did not answer in time (the message may have been sent): {exc}", maybe_sent=True
            ) from exc
        except httpx.HTTPError as exc:
            raise TransientSendError(f"Twilio unreachable: {exc}") from exc
        if response.is_success:
            sid = response_json(response).get("sid")
            if not sid:
                raise TransientSendError(f"Twilio answered {response.status_code} without a message sid")
            return SendResult(provider_message_id=str(sid))
        raise _error_for(response)


def _error_for(response: httpx.Response) -> TransientSendError | PermanentSendError:
    status = response.status_code
    body = response_json(response)
    code = str(body["code"]) if body.get("code") is not None else None
    detail = str(body.get("message") or response.reason_phrase or "")[:300]
    label = f"Twilio {code}" if code else f"Twilio HTTP {status}"
    if status == 429 or status >= 500:
        return TransientSendError(f"{label}: {detail}")
    if status in (401, 403):
        return PermanentSendError(
            f"{label}: Twilio refused our credentials (check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN): {detail}",
            code=code,
        )
    if code == OPTED_OUT_CODE:
        return PermanentSendError(f"{label}: the recipient replied STOP to this sender", opted_out=True, code=code)
    # 21211 invalid number, 21614 not a mobile number, 21408 region not enabled, 21612 unreachable
    # carrier and the like: the same request will never succeed.
    return PermanentSendError(f"{label}: {detail}", code=code or str(status))
