"""Who may call `/ext`: Shopify's UI extensions, proved by their session token.

Checkout and customer-account extension tokens are not exchangeable: HS256 with the app secret (the current or
the previous one), `aud` = our API key, a 5-minute life. Shopify's `shopifyapp` verifies the signature, the
times (10 s leeway) and the audience; on top of that the claims Shopify always sends must be there, `dest` must
be a shop domain we serve (anchored) and `iss`, when present, the same shop. `sub` (a customer GID) is the
logged-in buyer; it is the only customer a request may ask about.

CORS: every origin is answered with `*` and no credentials. Shopify runs the extensions in a Web Worker whose
origin "may change without notice" and asks servers to answer any origin with `Access-Control-Allow-Origin: *`
(its UI extensions configuration docs; `shopifyapp` answers the same). The origin was never a secret: the token
is the only gate, and nothing here reads a cookie. Rate limits are per shop and session (`sid`) and per address."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, Response, current_app, g, jsonify, request
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

from app.extensions import db
from app.shopify.sdk import request_input, shopify_app
from app.shopify.shops import InvalidShopDomain, get_shop, normalize_shop_domain

log = logging.getLogger(__name__)

# Without `exp` a token would never expire (PyJWT checks it only when present).
REQUIRED_CLAIMS = ("dest", "aud", "exp", "iat")
CUSTOMER_GID = re.compile(r"^gid://shopify/Customer/([1-9][0-9]{0,19})$")
PER_SESSION = RateLimitItemPerMinute(60, namespace="AC-EXT-SESSION")
PER_CLIENT = RateLimitItemPerMinute(120, namespace="AC-EXT-CLIENT")
_LIMITER_KEY = "aftercart.extension_limits"
_lock = threading.Lock()

CHECKOUT = "checkout"
CUSTOMER_ACCOUNT = "customer_account"


@dataclass(frozen=True)
class ExtensionCaller:
    """What a verified token says: the shop, the logged-in customer (Shopify's numeric id) if any, the session."""

    shop_id: int
    customer_id: int | None
    session_id: str
    claims: dict[str, Any]


def extension_blueprint(name: str, import_name: str, surface: str) -> Blueprint:
    """A blueprint under `/ext/<surface>` whose every request carries a valid extension session token."""
    blueprint = Blueprint(name, import_name, url_prefix="/ext/" + surface.replace("_", "-"))
    blueprint.before_request(_guard(surface))
    blueprint.after_request(_cors_headers)
    return blueprint


def error(status: int, code: str, reason: str | None = None) -> Response:
    body: dict[str, Any] = {"error": code}
    if reason:
        body["reason"] = reason
    response = jsonify(body)
    response.status_code = status
    return response


def _guard(surface: str) -> Callable[[], Response | None]:
    def guard() -> Response | None:
        if request.method == "OPTIONS":
            return _preflight()
        verify = (
            shopify_app().verify_checkout_ui_ext_req
            if surface == CHECKOUT
            else shopify_app().verify_customer_account_ui_ext_req
        )
        result = verify(request_input())
        if not result.ok or result.id_token is None:
            return error(401, "unauthorized", result.log.code if result.log else None)
        caller = _caller(dict(result.id_token.claims))
        if caller is None:
            return error(401, "unauthorized", "invalid_claims")
        if not _admit(caller):
            return error(429, "rate_limited")
        g.caller = caller
        return None

    return guard


def _caller(claims: dict[str, Any]) -> ExtensionCaller | None:
    if any(claims.get(name) in (None, "") for name in REQUIRED_CLAIMS):
        return None
    try:
        domain = normalize_shop_domain(str(claims["dest"]))
    except InvalidShopDomain:
        return None
    # Shopify documents `dest` as the shop; an `iss` naming another shop (https://<shop>/admin) contradicts it.
    # An `iss` of another form is not a shop and is left to the signature.
    issuer = str(claims.get("iss") or "")
    try:
        if issuer and normalize_shop_domain(urlparse(issuer).hostname or issuer) != domain:
            return None
    except InvalidShopDomain:
        pass
    customer_id = None
    if claims.get("sub") is not None:
        match = CUSTOMER_GID.match(str(claims["sub"]))
        if match is None:
            return None
        customer_id = int(match.group(1))
    shop = get_shop(db.session, domain)
    if shop is None or shop.redacted_at is not None or not shop.is_installed:
        return None
    g.shop = shop
    session = str(claims.get("sid") or claims.get("jti") or "")[:128]
    return ExtensionCaller(shop.id, customer_id, session, claims)


def _preflight() -> Response:
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = "GET, POST"
    response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
    response.headers["Access-Control-Max-Age"] = "7200"
    return response


def _cors_headers(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-store"
    return response


class _Limits:
    def __init__(self, redis_url: str | None) -> None:
        storage = (
            RedisStorage(redis_url, wrap_exceptions=True, socket_timeout=0.5, socket_connect_timeout=0.5)
            if redis_url
            else MemoryStorage()
        )
        self.primary = MovingWindowRateLimiter(storage)
        self.fallback = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, caller: ExtensionCaller, client: str) -> bool:
        for limiter in (self.primary, self.fallback):
            try:
                return limiter.hit(PER_SESSION, str(caller.shop_id), caller.session_id) and limiter.hit(
                    PER_CLIENT, client
                )
            except Exception:  # Redis down or slow: this process's own memory, never unlimited
                log.warning("extension limits: Redis unreachable, using this process's memory")
        return False


def _admit(caller: ExtensionCaller) -> bool:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    limits = app.extensions.get(_LIMITER_KEY)
    if limits is None:
        with _lock:
            limits = app.extensions.get(_LIMITER_KEY)
            if limits is None:
                limits = app.extensions[_LIMITER_KEY] = _Limits(app.config["SETTINGS"].redis_url)
    return limits.hit(caller, (request.remote_addr or "unknown")[:64])
