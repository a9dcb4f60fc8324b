"""Shopify request signatures computed with the standard library's HMAC and compared in constant time.

Webhook HMACs are checked on the raw body bytes: Shopify's own Python package takes the body as
text, which is only byte-exact for UTF-8 bodies (see docs/architecture.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


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
