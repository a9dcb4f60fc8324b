"""The signed link of a review request (`/l/reviews/<token>`): opaque, naming one request of one shop; it cannot be
forged or moved to another request, and needs no login."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

_SALT = "aftercart.review-link.v1"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SETTINGS"].secret_key, salt=_SALT)


def make_review_token(shop_id: int, request_id: int) -> str:
    return _serializer().dumps([shop_id, request_id])


def read_review_token(token: str | None) -> tuple[int, int] | None:
    try:
        shop_id, request_id = _serializer().loads(token or "")
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(shop_id, int) or not isinstance(request_id, int) or isinstance(shop_id, bool):
        return None
    return shop_id, request_id


def review_page_path(shop_id: int, request_id: int) -> str:
    return f"/l/reviews/{make_review_token(shop_id, request_id)}"


_PRODUCT_SALT = "aftercart.review-product.v1"


def make_product_token(shop_id: int, product_id: int) -> str:
    """A link to one product's published review data outside the storefront (the demo's block preview)."""
    return URLSafeSerializer(current_app.config["SETTINGS"].secret_key, salt=_PRODUCT_SALT).dumps([shop_id, product_id])


def read_product_token(token: str) -> tuple[int, int] | None:
    try:
        shop_id, product_id = URLSafeSerializer(current_app.config["SETTINGS"].secret_key, salt=_PRODUCT_SALT).loads(
            token
        )
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(shop_id, int) or not isinstance(product_id, int):
        return None
    return shop_id, product_id
