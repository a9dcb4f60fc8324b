"""Signed links to the returns pages: the token naming one return (its status page's second factor), and the
paths of the pages a link opens directly, outside the storefront (`/l/returns/...`, like `/l/track/...`)."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from app.storefront.links import make_track_token

_SALT = "aftercart.return-link.v1"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SETTINGS"].secret_key, salt=_SALT)


def make_return_token(shop_id: int, return_id: int) -> str:
    """A link naming one return of one shop (the status page's second factor)."""
    return _serializer().dumps([shop_id, return_id])


def read_return_token(token: str | None) -> tuple[int, int] | None:
    try:
        shop_id, return_id = _serializer().loads(token or "")
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(shop_id, int) or not isinstance(return_id, int):
        return None
    return shop_id, return_id


def return_status_path(shop_id: int, return_id: int) -> str:
    """The return's status page, opened from a message without the storefront's app-proxy signature."""
    return f"/l/returns/status/{make_return_token(shop_id, return_id)}"


def returns_portal_path(shop_id: int, order_id: int) -> str:
    """The returns portal for one order, opened from a link: the order's tracking token proves the order."""
    return f"/l/returns/{make_track_token(shop_id, order_id)}"
