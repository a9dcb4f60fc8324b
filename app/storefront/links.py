"""Signed links for anyone holding one (`/l/...`): the tracking token notifications carry, and the headers every
link page sends."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, current_app
from itsdangerous import BadSignature, URLSafeSerializer

_SALT = "aftercart.track-link.v1"


@dataclass(frozen=True)
class TrackTarget:
    shop_id: int
    order_id: int


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SETTINGS"].secret_key, salt=_SALT)


def make_track_token(shop_id: int, order_id: int) -> str:
    """A token naming one order of one shop; it cannot be forged or moved to another order."""
    return _serializer().dumps([shop_id, order_id])


def read_track_token(token: str) -> TrackTarget | None:
    try:
        shop_id, order_id = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(shop_id, int) or not isinstance(order_id, int):
        return None
    return TrackTarget(shop_id=shop_id, order_id=order_id)


def deny_framing(response: Response) -> Response:
    """after_request of every `/l/...` blueprint: no other site may frame a link page (a one-button unsubscribe
    or a subscribe form inside an invisible frame is a clickjacking target)."""
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    response.headers["X-Frame-Options"] = "DENY"
    return response
