"""Fixtures for Shopify plumbing tests: a fake Shopify on loopback and an app pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from app.extensions import db
from app.shopify.shops import get_shop, shop_id_for_domain
from app.shopify.tokens import ensure_offline_token
from tests.conftest import SHOP
from tests.fakes.shopify import FakeShopify, fake_shopify, make_id_token

__all__ = ["fake_shopify"]


@pytest.fixture()
def fake_app(make_app: Callable[..., Flask], fake_shopify: FakeShopify) -> Iterator[Flask]:
    """An app whose Shopify calls go to the fake, with its application context pushed."""
    application = make_app(shopify_admin_origin=fake_shopify.origin)
    with application.app_context():
        yield application
        db.session.remove()


@pytest.fixture()
def install_shop(fake_app: Flask) -> Callable[..., int]:
    """Install a shop the way a first admin page load does (token exchange against the fake)."""

    def install(domain: str = SHOP) -> int:
        shop_id = shop_id_for_domain(db.session, domain)
        shop = get_shop(db.session, domain)
        assert shop is not None
        ensure_offline_token(shop, make_id_token(domain))
        return shop_id

    return install
