"""Shopify request signatures computed with the standard library's HMAC and compared in constant time.

Webhook HMACs are checked on the raw body bytes: Shopify's own Python package takes the body as
text, which is only byte-exact for UTF-8 bodies (see docs/architecture.md). The app-proxy signature is
checked here in the form Shopify documents, which that package computes differently for some queries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qsl


def webhook_hmac(secret: str, body: bytes) -> str:
    """Base64 HMAC-SHA256 of the raw body, as in `X-Shopify-Hmac-Sha256`."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_webhook_hmac(body: bytes, header_value: str | None, secrets: Iterable[str | None]) -> bool:
    """True when the header matches the body under any of the secrets (current, then previous)."""
    if not header_value:
        return False
    try:
        received = base64.b64decode(header_value.strip(), validate=True)
    except (ValueError, TypeError):
        return False
    matched = False
    for secret in secrets:
        if not secret:
            continue
        expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        # Evaluate every secret (no early exit) so timing does not reveal which one matched.
        matched |= hmac.compare_digest(expected, received)
    return matched


APP_PROXY_MAX_AGE = 90  # seconds either side of now, as Shopify's own verifiers allow


def app_proxy_message(pairs: Iterable[tuple[str, str]]) -> str:
    """What Shopify signs for an app-proxy request: every parameter but `signature` as `key=value` (a
    repeated key's values joined with ","), the strings sorted, concatenated with no separator.

    https://shopify.dev/docs/apps/build/online-store/app-proxies/authenticate-app-proxies. Sorting the
    strings is not sorting by key: "order2=x" sorts before "order=y" because "2" is below "=".
    """
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        if key != "signature":
            grouped.setdefault(key, []).append(value)
    return "".join(sorted(f"{key}={','.join(values)}" for key, values in grouped.items()))


def verify_app_proxy_query(query: str, secrets: Iterable[str | None], now: float) -> bool:
    """True when the raw query string carries Shopify's documented app-proxy signature under one of the
    secrets (current, then previous) and a whole-number `timestamp` within 90 s of `now`.

    Exactly one `signature` and one `timestamp` are required; the caller refuses other repeated
    security parameters. Every secret is tried (no early exit), compared in constant time.
    """
    pairs = parse_qsl(query, keep_blank_values=True)
    signatures = [value for key, value in pairs if key == "signature"]
    timestamps = [value for key, value in pairs if key == "timestamp"]
    if len(signatures) != 1 or not signatures[0] or len(timestamps) != 1:
        return False
    stamp = timestamps[0]
    if not stamp.isascii() or not stamp.isdigit() or abs(now - int(stamp)) > APP_PROXY_MAX_AGE:
        return False
    message = app_proxy_message(pairs).encode()
    received = signatures[0].encode()
    matched = False
    for secret in secrets:
        if secret:
            expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().encode()
            matched |= hmac.compare_digest(expected, received)
    return matched
