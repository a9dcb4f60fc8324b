"""app/uninstalled and app/scopes_update handlers."""

from __future__ import annotations

from typing import Any

from app.db import utcnow
from app.shopify.models import Shop


def on_app_uninstalled(shop: Shop, payload: dict[str, Any]) -> None:
    """Delete the shop's tokens at once; keep its data until shop/redact. Idempotent: it may repeat."""
    shop.access_token_encrypted = None
    shop.access_token_expires_at = None
    shop.refresh_token_encrypted = None
    shop.refresh_token_expires_at = None
    if shop.is_installed or shop.uninstalled_at is None:
        shop.uninstalled_at = utcnow()
    shop.is_installed = False


def on_app_scopes_update(shop: Shop, payload: dict[str, Any]) -> None:
    """Record the scopes the merchant granted (`current`), so features can check before calling."""
    current = payload.get("current")
    if isinstance(current, list):
        shop.scopes = ",".join(str(s) for s in current)
