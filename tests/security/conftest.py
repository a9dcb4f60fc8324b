"""Fixtures the attack cases share: an app whose Shopify calls go to the fake Shopify."""

from tests.shopify.conftest import fake_app, fake_shopify, install_shop  # noqa: F401  (fixtures)
