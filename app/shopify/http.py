"""The one HTTP client for calls to Shopify (OAuth token endpoint and Admin API), routable to a local fake."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from flask import current_app

# Connect fast, but leave room for a large GraphQL page or a slow token endpoint.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0, pool=5.0)


class _OriginRewritingTransport(httpx.HTTPTransport):
    """Send every request to one origin while keeping the `Host` header (the shop's domain).

    Only used when SHOPIFY_ADMIN_ORIGIN is set, which config restricts to loopback: tests and
    the demo run a local server that speaks Shopify's wire format and tells shops apart by Host.
    """

    def __init__(self, origin: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        parts = urlsplit(origin)
        if not parts.scheme or not parts.hostname:
            raise ValueError(f"SHOPIFY_ADMIN_ORIGIN must be an absolute URL (got {origin!r})")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # httpx set the Host header from the original URL when the request was built.
        request.url = request.url.copy_with(scheme=self._scheme, host=self._host, port=self._port)
        return super().handle_request(request)


def shopify_http_client(timeout: httpx.Timeout | float | None = None) -> httpx.Client:
    """A new httpx.Client for Shopify calls; close it (or use it as a context manager) when done."""
    settings = current_app.config["SETTINGS"]
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    if settings.shopify_admin_origin:
        return httpx.Client(transport=_OriginRewritingTransport(settings.shopify_admin_origin), timeout=timeout)
    return httpx.Client(timeout=timeout)
