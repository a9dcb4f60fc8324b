"""The shopper's audience kit: what every feature's pages under /proxy (Shopify's app proxy) share.

Every /proxy request is verified with the app-proxy signature (hex HMAC, 90 s window; Shopify's
`shopifyapp` package, else the form Shopify documents, which that package computes differently for some
queries) before `shop` or `logged_in_customer_id` is trusted (`proxy_blueprint` gives a feature a blueprint
that does so); then the shopper proves the order with its number plus email or phone, or a signed link
token (`lookup_order`, rate-limited). Also the shopper's locale and time zone, and the Liquid-safe Jinja
environment. It knows no feature: each feature's pages live in its own `storefront.py`, on this kit.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, g, jsonify, request
from jinja2 import Environment
from markupsafe import Markup, escape

from app.extensions import db
from app.i18n import negotiate_locale, t, zone
from app.orders.models import Order
from app.orders.queries import find_order_by_id, find_order_for_shopper
from app.shopify.sdk import request_input, shopify_app
from app.shopify.shops import InvalidShopDomain, get_shop, normalize_shop_domain
from app.shopify.signatures import verify_app_proxy_query
from app.storefront.links import read_track_token
from app.storefront.ratelimit import lookup_limits

__all__ = [
    "LOOKUP_MESSAGE_KEYS",
    "LookupFailure",
    "client_key",
    "json_error",
    "liquid_env",
    "lookup_order",
    "neutralise_liquid",
    "proxy_blueprint",
    "lookup_limits",
    "shopper_locale",
    "shopper_tz",
    "verify_app_proxy_signature",
]

_SINGLE_VALUE_PARAMS = ("shop", "signature", "timestamp", "logged_in_customer_id", "path_prefix")


def proxy_blueprint(name: str, import_name: str, url_prefix: str = "/proxy") -> Blueprint:
    """A blueprint under the app proxy whose every request passes `verify_app_proxy_signature` first."""
    blueprint = Blueprint(name, import_name, url_prefix=url_prefix)
    blueprint.before_request(verify_app_proxy_signature)
    return blueprint


def verify_app_proxy_signature() -> Response | None:
    """before_request of every /proxy blueprint: Shopify's signature, then the shop (as `g.shop`)."""
    raw = parse_qs(urlparse(request.url).query, keep_blank_values=True)
    if any(len(raw.get(name, [])) > 1 for name in _SINGLE_VALUE_PARAMS):
        return _proxy_error(401, "unauthorized")
    result = shopify_app().verify_app_proxy_req(request_input())
    if result.ok:
        customer_id = result.logged_in_customer_id
    elif _signed_as_documented():
        customer_id = request.args.get("logged_in_customer_id")
    else:
        return _proxy_error(401, "unauthorized")
    try:
        domain = normalize_shop_domain(request.args.get("shop"))
    except InvalidShopDomain:
        return _proxy_error(401, "unauthorized")
    shop = get_shop(db.session, domain)
    if shop is None or shop.redacted_at is not None:
        return _proxy_error(404, "not_found")
    g.shop = shop
    g.logged_in_customer_id = customer_id or None
    return None


def _signed_as_documented() -> bool:
    # `shopifyapp` sorts the parameters by key, Shopify's documentation sorts the `key=value` strings: they
    # differ when a key is another key followed by a character below "=" (`order`, `order2`), and Shopify
    # signs the documented way. Either form needs our secret, so accepting both is safe.
    settings = current_app.config["SETTINGS"]
    return verify_app_proxy_query(
        request.query_string.decode("utf-8", "replace"),
        (settings.shopify_api_secret, settings.shopify_api_secret_previous),
        now=time.time(),
    )


def _proxy_error(status: int, code: str) -> Response:
    response = jsonify(error=code)
    response.status_code = status
    return response


def client_key() -> str:
    """Who is asking, for the lookup limits: the connecting address, which forwarded headers change only
    through the proxy hops the operator trusts (TRUSTED_PROXY_HOPS; app/__init__.py)."""
    return (request.remote_addr or "unknown")[:64]


def shopper_locale() -> str:
    """The shopper's language: `?locale=`, else the browser's, else English."""
    return negotiate_locale(request.args.get("locale"), request.accept_languages.best)


def shopper_tz(shop_tz: str | None) -> ZoneInfo:
    """The shopper's time zone when the page says it (`?tz=`), else the shop's."""
    return zone(request.args.get("tz"), fallback=shop_tz or "UTC")


class LookupFailure(Exception):
    """Why a lookup found no order: an HTTP status and a code (`LOOKUP_MESSAGE_KEYS` has its text)."""

    def __init__(self, status: int, code: str):
        super().__init__(code)
        self.status, self.code = status, code


def lookup_order(shop_id: int, token: str | None = None) -> Order | None:
    """Resolve the order the shopper asks for, or None when the request asks for nothing yet."""
    token = token or request.args.get("token")
    order_ref = request.args.get("order")
    if not token and not order_ref and not request.args.get("email") and not request.args.get("phone"):
        return None
    if token:
        # A signed link is not a guess: it spends none of the lookup budget (a forged one finds nothing).
        return _resolve(shop_id, token, None)
    limits, client = lookup_limits(), client_key()
    if not limits.admit(shop_id, client, order_ref):
        raise LookupFailure(429, "rate_limited")
    try:
        return _resolve(shop_id, None, order_ref)
    except LookupFailure as failure:
        if failure.code == "not_found":
            limits.record_failure(shop_id, client, order_ref)
        raise


def _resolve(shop_id: int, token: str | None, order_ref: str | None) -> Order:
    if token:
        target = read_track_token(token)
        if target is None or target.shop_id != shop_id:
            raise LookupFailure(404, "not_found")
        order = find_order_by_id(db.session, shop_id, target.order_id)
    else:
        email, phone = request.args.get("email"), request.args.get("phone")
        if email and "@" not in email and not phone:
            email, phone = None, email  # the page's one field takes either
        if not order_ref or not (email or phone):
            raise LookupFailure(400, "invalid")
        if len(order_ref) > 40 or len(email or "") > 320 or len(phone or "") > 40:
            raise LookupFailure(400, "invalid")
        order = find_order_for_shopper(db.session, shop_id, order_ref, email, phone)
    if order is None:
        raise LookupFailure(404, "not_found")
    return order


LOOKUP_MESSAGE_KEYS = {
    "not_found": "track.not_found",
    "invalid": "track.invalid",
    "rate_limited": "track.rate_limited",
}


def json_error(status: int, code: str, message_key: str) -> Response:
    """A JSON error for the storefront's scripts, its message in the shopper's language; never cached."""
    response = jsonify(error=code, message=t(shopper_locale(), message_key))
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def neutralise_liquid(value: Any) -> Any:
    """Jinja finalize hook for pages Shopify renders as Liquid: no `{{`/`{%` can reach Liquid
    (official check APP_PROXY_LIQUID_INJECTION), so braces in any value become entities."""
    if value is None:
        return ""
    text = value if isinstance(value, Markup) else escape(value)
    return Markup(str(text).replace("{", "&#123;").replace("}", "&#125;"))


def liquid_env() -> Environment:
    """The app's Jinja environment with `neutralise_liquid` as finalize, for pages Shopify renders as Liquid."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    env = app.extensions.get("aftercart_liquid_env")
    if env is None:
        env = app.jinja_env.overlay(finalize=neutralise_liquid)
        app.extensions["aftercart_liquid_env"] = env
    return env
