"""Shopify's own `shopifyapp` package, configured from our settings, and the request/response shapes it speaks."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from shopify_app import ShopifyApp


def shopify_app() -> ShopifyApp:
    """The app's one `ShopifyApp` (verifies session tokens, proxy requests; exchanges tokens)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    instance = app.extensions.get("aftercart_shopify_app")
    if instance is None:
        settings = app.config["SETTINGS"]
        instance = ShopifyApp(
            client_id=settings.shopify_api_key,
            client_secret=settings.shopify_api_secret,
            old_client_secret=settings.shopify_api_secret_previous,
        )
        app.extensions["aftercart_shopify_app"] = instance
    return instance


def request_input() -> dict[str, Any]:
    """The current Flask request as `shopifyapp` reads it.

    The URL is the app's own public one (SHOPIFY_APP_URL) with the request's path and query, never the Host
    the client sent: shopifyapp builds redirects (the patch-ID-token page) from it."""
    query = request.query_string.decode("latin-1")
    base = current_app.config["SETTINGS"].shopify_app_url or request.host_url.rstrip("/")
    return {
        "method": request.method,
        "headers": dict(request.headers),
        "url": base + request.path + (f"?{query}" if query else ""),
        "body": request.get_data(as_text=True),
    }


def to_flask_response(res: Any) -> Response:
    """A `shopifyapp` response as a Flask one."""
    return Response(res.body or "", status=res.status, headers=dict(res.headers or {}))
