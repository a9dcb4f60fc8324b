"""Session tokens as Shopify's checkout and customer-account extensions send them (HS256 with the app secret),
and a shop with order #1001 (two parcels, one delivered) through the real intake."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from sqlalchemy import select

from app.extensions import db
from app.shopify.models import Shop
from tests.conftest import SHOP
from tests.tracking.test_timeline import ORDER_ID, split_order_deliveries

API_KEY = "test-api-key"
SECRET = "test-secret"
CUSTOMER_ID = 115310627314723954  # the customer of tests/fixtures/shopify/orders_create.json
ORDER_GID = f"gid://shopify/Order/{ORDER_ID}"
ORIGIN = "https://extensions.shopifycdn.com"
# The suite's app secret is short; Shopify's are 32+ characters. PyJWT warns on both sides of the test.
SHORT_TEST_SECRET = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def session_token(
    *,
    shop: str = SHOP,
    customer_id: int | None = CUSTOMER_ID,
    secret: str = SECRET,
    audience: str = API_KEY,
    lifetime: int = 300,
    issued_ago: int = 0,
    drop: tuple[str, ...] = (),
    **overrides: Any,
) -> str:
    now = int(time.time()) - issued_ago
    claims: dict[str, Any] = {
        "iss": f"https://{shop}/admin",
        "dest": shop,
        "aud": audience,
        "exp": now + lifetime,
        "nbf": now,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "sid": uuid.uuid4().hex,
    }
    if customer_id is not None:
        claims["sub"] = f"gid://shopify/Customer/{customer_id}"
    claims.update(overrides)
    for name in drop:
        claims.pop(name, None)
    return jwt.encode(claims, secret, algorithm="HS256")


def headers(token: str | None = None, origin: str | None = ORIGIN) -> dict[str, str]:
    result = {}
    if token is not None:
        result["Authorization"] = f"Bearer {token}"
    if origin is not None:
        result["Origin"] = origin
    return result


@pytest.fixture()
def shop_with_order(ctx, post_webhook, run_jobs) -> Shop:
    for topic, payload in split_order_deliveries():
        assert post_webhook(topic, payload).status_code == 200
    run_jobs()
    shop = db.session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
    shop.is_installed = True
    db.session.commit()
    return shop
