"""A fake Shopify storefront for end-to-end tests: theme pages, extension assets and the app proxy.

Two real HTTP servers on 127.0.0.1, each in a thread:

- ``AppServer`` runs the real Aftercart Flask app (werkzeug's ``make_server``), reading the test PostgreSQL.
- ``Storefront`` plays the shop's domain:

  * ``/pages/track`` and ``/th/pages/track``: a theme page containing the real "Order tracking" app block,
    rendered from ``extensions/order-tracking/blocks/order-tracking.liquid`` by ``tests/extensions/liquid_harness.py``,
    with the block's schema ``javascript``/``stylesheet`` served from ``/extensions/order-tracking/assets/``
    (same origin here; on Shopify they come from its CDN).
  * ``/apps/aftercart/<rest>`` and ``/th/apps/aftercart/<rest>``: the app proxy, in Shopify's wire format
    (SHOPIFY-FACTS §2): forwarded to ``{app}/proxy/<rest>`` with the shopper's query plus ``shop``,
    ``logged_in_customer_id`` (empty: nobody logged in), ``path_prefix``, ``timestamp`` and ``signature`` =
    hex HMAC-SHA256 over the sorted ``k=v`` pairs concatenated (repeated keys joined by ","), with
    ``X-Forwarded-Host``/``X-Forwarded-For``; Cookie and Set-Cookie are stripped both ways.
    A ``application/liquid`` answer is rendered inside a minimal theme layout, or bare when it starts with
    ``{% layout none %}``. This is not a Liquid engine: any other ``{{`` or ``{%`` in the body would execute on
    a real storefront (APP_PROXY_LIQUID_INJECTION), so the proxy answers 500 and records it in ``liquid_errors``.

Assumption: parameters the shopper sends under Shopify's own names (``shop``, ``signature`` …) are dropped
before Shopify's are added, so the app always sees exactly one of each.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import http.client
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from tests.extensions.liquid_harness import EXTENSION, Context, render_block

SHOPIFY_PARAMS = ("shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature")
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
}
LAYOUT_NONE = "{% layout none %}"


def proxy_signature(params: Iterable[tuple[str, str]], secret: str) -> str:
    """Shopify's app-proxy signature: group repeated keys (values joined by ","), sort, concatenate, HMAC hex."""
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        if key != "signature":
            grouped.setdefault(key, []).append(value)
    message = "".join(f"{key}={','.join(values)}" for key, values in sorted(grouped.items()))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class LiquidInjection(Exception):
    """The app sent Liquid markup that a real storefront would execute."""


def render_liquid_response(body: str) -> tuple[str, bool]:
    """What the storefront does with an ``application/liquid`` body: (html, use_theme_layout).

    Only ``{% layout none %}`` at the very start is understood; any other Liquid raises LiquidInjection."""
    use_layout = True
    if body.startswith(LAYOUT_NONE):
        body, use_layout = body[len(LAYOUT_NONE) :], False
    for marker in ("{{", "{%"):
        at = body.find(marker)
        if at >= 0:
            raise LiquidInjection(f"{marker!r} at offset {at}: …{body[max(0, at - 60) : at + 60]!r}…")
    return body, use_layout


def theme_layout(content: str, *, locale: str, root_url: str, title: str, head: str = "") -> str:
    """A minimal theme.liquid: header, main (content_for_layout), footer."""
    home = html.escape(root_url)
    return f"""<!doctype html>
<html lang="{html.escape(locale)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
{head}
<style>
  body {{ margin: 0; font-family: "DejaVu Sans", "Garuda", sans-serif; font-size: 16px; color: #222; }}
  .site-header {{ height: 64px; display: flex; align-items: center; gap: 24px; padding: 0 24px;
    background: #f3f3f3; border-bottom: 1px solid #ddd; }}
  .site-header a {{ color: #222; text-decoration: none; font-weight: 700; }}
  main {{ padding: 24px; min-height: 300px; }}
  .site-footer {{ padding: 48px 24px; min-height: 160px; background: #222; color: #fff; }}
</style>
</head>
<body>
<header class="site-header"><a href="{home}">Demo shop</a><nav><a href="{home}">Shop</a></nav></header>
<main id="MainContent">
{content}
</main>
<footer class="site-footer" id="site-footer">Demo shop footer</footer>
</body>
</html>"""


class AppServer:
    """The real Flask app on a loopback port, threaded like a small production server."""

    def __init__(self, app: Flask) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, name="aftercart-app", daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> AppServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@dataclass
class ProxiedRequest:
    """One request the proxy sent on to the app, and the app's answer."""

    method: str
    shopper_path: str
    app_path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    status: int = 0
    content_type: str = ""
    app_set_cookie: bool = False


@dataclass
class Storefront:
    app_origin: str
    shop: str = "snowdevil.myshopify.com"
    secret: str = "test-secret"
    proxy_prefix: str = "/apps/aftercart"
    app_proxy_url: str = "/proxy"
    block_settings: dict[str, Any] = field(default_factory=dict)
    port: int = 0
    proxied: list[ProxiedRequest] = field(default_factory=list)
    liquid_errors: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def asset_url(self, name: str) -> str:
        return f"/extensions/order-tracking/assets/{name}"

    # --- theme pages ------------------------------------------------------------------------------------------

    def block_page(self, locale: str, root_url: str) -> str:
        rendered = render_block(Context(locale=locale, root_url=root_url, settings=self.block_settings))
        head = ""
        if rendered.schema.get("stylesheet"):
            head += f'<link rel="stylesheet" href="{self.asset_url(rendered.schema["stylesheet"])}">\n'
        if rendered.schema.get("javascript"):
            head += f'<script src="{self.asset_url(rendered.schema["javascript"])}" defer></script>\n'
        section = f'<div class="shopify-section"><div class="page-width">{rendered.html}</div></div>'
        return theme_layout(section, locale=locale, root_url=root_url, title="Track your order", head=head)

    # --- the app proxy ----------------------------------------------------------------------------------------

    def signed_query(self, shopper_query: str, customer_id: str = "") -> list[tuple[str, str]]:
        params = [(k, v) for k, v in parse_qsl(shopper_query, keep_blank_values=True) if k not in SHOPIFY_PARAMS]
        params += [
            ("shop", self.shop),
            ("logged_in_customer_id", customer_id),
            ("path_prefix", self.proxy_prefix),
            ("timestamp", str(int(time.time()))),
        ]
        params.append(("signature", proxy_signature(params, self.secret)))
        return params

    def forward(self, handler: BaseHTTPRequestHandler, locale: str, root_url: str, rest: str) -> None:
        url = urlsplit(handler.path)
        query = self.signed_query(url.query)
        app_path = f"{self.app_proxy_url}{rest}?{urlencode(query)}"
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "cookie"}
        headers["X-Forwarded-Host"] = self.shop
        headers["X-Forwarded-For"] = handler.client_address[0]
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        record = ProxiedRequest(handler.command, url.path, app_path, query, headers)
        self.proxied.append(record)

        target = urlsplit(self.app_origin)
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        try:
            conn.request(handler.command, app_path, body=body, headers=headers)
            answer = conn.getresponse()
            payload = answer.read()
            answer_headers = answer.getheaders()
            status = answer.status
        finally:
            conn.close()

        content_type = answer.getheader("Content-Type", "")
        record.status, record.content_type = status, content_type
        record.app_set_cookie = any(k.lower() == "set-cookie" for k, _ in answer_headers)
        out_headers = [(k, v) for k, v in answer_headers if k.lower() not in HOP_BY_HOP and k.lower() != "set-cookie"]

        if content_type.split(";")[0].strip().lower() == "application/liquid":
            try:
                content, use_layout = render_liquid_response(payload.decode("utf-8"))
            except LiquidInjection as exc:
                self.liquid_errors.append(f"{handler.path}: {exc}")
                text = f"Liquid injection: the app's application/liquid answer contains executable Liquid: {exc}"
                send(handler, 500, text.encode(), [("Content-Type", "text/plain; charset=utf-8")])
                return
            if use_layout:
                content = theme_layout(content, locale=locale, root_url=root_url, title="Demo shop")
            out_headers = [(k, v) for k, v in out_headers if k.lower() != "content-type"]
            out_headers.append(("Content-Type", "text/html; charset=utf-8"))
            payload = content.encode()
        send(handler, status, payload, out_headers)

    # --- server -----------------------------------------------------------------------------------------------

    def route(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        locale, root_url = "en", "/"
        if path == "/th" or path.startswith("/th/"):
            locale, root_url, path = "th", "/th", path[3:] or "/"
        if path == "/pages/track" and handler.command == "GET":
            page = self.block_page(locale, root_url).encode()
            send(handler, 200, page, [("Content-Type", "text/html; charset=utf-8")])
        elif path.startswith("/extensions/order-tracking/assets/") and handler.command == "GET":
            name = path.rsplit("/", 1)[1]
            asset = EXTENSION / "assets" / name
            if name not in {p.name for p in (EXTENSION / "assets").iterdir()}:
                send(handler, 404, b"not found", [("Content-Type", "text/plain")])
                return
            kind = {".css": "text/css", ".js": "text/javascript"}.get(asset.suffix, "application/octet-stream")
            send(handler, 200, asset.read_bytes(), [("Content-Type", f"{kind}; charset=utf-8")])
        elif path == self.proxy_prefix or path.startswith(self.proxy_prefix + "/"):
            self.forward(handler, locale, root_url, path[len(self.proxy_prefix) :])
        else:
            send(handler, 404, b"not found", [("Content-Type", "text/plain")])

    def __enter__(self) -> Storefront:
        storefront = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                storefront.route(self)

            do_POST = do_GET  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-storefront", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
    handler.send_response(status)
    for key, value in headers:
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)
