"""Who is the merchant? Session-token (ID token) verification for the embedded admin under /app.

Shopify's `shopifyapp` package verifies the token (HS256, aud, exp/nbf with 10 s leeway, current
and previous secret), builds the bounce through App Bridge for document loads without a token,
and the 401 + `X-Shopify-Retry-Invalid-Session-Request` answer for fetches. We add the checks
that ShopifyAPI's decoder makes too: required claims, an anchored shop domain, and iss/dest agreement.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from flask import Response, current_app, g, request

from app.config import DEMO_SHOP_DOMAIN
from app.extensions import db
from app.shopify.models import Shop
from app.shopify.sdk import request_input, shopify_app, to_flask_response
from app.shopify.shops import get_shop, is_valid_shop_domain, shop_id_for_domain

PATCH_ID_TOKEN_PATH = "/app/patch-id-token"
REQUIRED_CLAIMS = ("iss", "dest", "aud", "sub", "exp", "nbf", "jti", "sid")


@dataclass(frozen=True)
class AdminSession:
    shop: Shop
    user_id: str | None
    id_token: str | None
    is_document: bool
    is_demo: bool = False


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _unauthorized(retry: bool) -> Response:
    headers = {"X-Shopify-Retry-Invalid-Session-Request": "1"} if retry else {}
    return Response("Unauthorized", status=401, headers=headers)


def _claims_are_consistent(claims: dict[str, Any]) -> bool:
    if any(not claims.get(name) for name in REQUIRED_CLAIMS):
        return False
    dest_host = urlparse(str(claims["dest"])).hostname
    iss_host = urlparse(str(claims["iss"])).hostname
    return bool(dest_host) and dest_host == iss_host and is_valid_shop_domain(dest_host)


def _demo_session() -> AdminSession | None:
    """Outside Shopify's iframe nothing can mint a session token; the demo alone opens as its owner."""
    settings = current_app.config["SETTINGS"]
    if not settings.demo_login or settings.is_production:
        return None
    if request.headers.get("Authorization") or request.args.get("id_token"):
        return None
    shop = get_shop(db.session, DEMO_SHOP_DOMAIN)
    if shop is None:
        return None
    return AdminSession(shop=shop, user_id="demo-owner", id_token=None, is_document=True, is_demo=True)


def authenticate_admin() -> AdminSession | Response:
    """Verify the request's session token; return the session, or the response to send instead."""
    demo = _demo_session()
    if demo is not None:
        return demo
    is_document = not request.headers.get("Authorization")
    if is_document and request.method not in SAFE_METHODS:
        # A token in the query string can ride along on a cross-site form post (CSRF); a change of state needs
        # the Authorization header, which only App Bridge's fetch in the admin's own frame can set.
        return _unauthorized(retry=False)
    result = shopify_app().verify_app_home_req(request_input(), PATCH_ID_TOKEN_PATH)
    if not result.ok:
        return to_flask_response(result.response)
    claims = dict(result.id_token.claims) if result.id_token else {}
    if not _claims_are_consistent(claims):
        return _unauthorized(retry=not is_document)
    domain = urlparse(str(claims["dest"])).hostname or ""
    shop_id_for_domain(db.session, domain)
    shop = get_shop(db.session, domain)
    assert shop is not None
    session = AdminSession(
        shop=shop, user_id=str(claims.get("sub")), id_token=result.id_token.token, is_document=is_document
    )
    g.admin_response_headers = dict(result.response.headers or {}) if result.response else {}
    return session


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Views under /app: g.admin is the verified AdminSession; the shop's token is ensured on page loads."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        outcome = authenticate_admin()
        if isinstance(outcome, Response):
            return outcome
        g.admin = outcome
        if not outcome.is_demo and outcome.id_token:
            from app.shopify.tokens import TokenError, TokenUnavailable, ensure_offline_token

            try:
                ensure_offline_token(outcome.shop, outcome.id_token)
            except TokenUnavailable:
                # Shopify unreachable or slow: a retry with a fresh session token would not help.
                return Response("Shopify is not reachable right now; try again shortly.", status=503)
            except TokenError:
                return _unauthorized(retry=True)
        response = current_app.make_response(view(*args, **kwargs))
        shop_domain = outcome.shop.domain
        response.headers["Content-Security-Policy"] = (
            f"frame-ancestors https://{shop_domain} https://admin.shopify.com;"
        )
        for name, value in (getattr(g, "admin_response_headers", {}) or {}).items():
            if name.lower() == "link":
                response.headers[name] = value
        return response

    return wrapper
