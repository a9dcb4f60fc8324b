"""Settings are validated once, at start, with one message naming every problem."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from app import create_app
from app.config import ConfigError, Settings

PRODUCTION = {
    "AFTERCART_ENV": "production",
    "SHOPIFY_API_KEY": "key",
    "SHOPIFY_API_SECRET": "secret",
    "SHOPIFY_APP_URL": "https://aftercart.example.com",
    "SECRET_KEY": "a-long-random-secret",
    "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "DATABASE_URL": "postgres://u@db.example.com/aftercart",
    "REDIS_URL": "redis://redis.example.com:6379/0",
}


def test_production_settings_load_and_normalise_the_database_url():
    settings = Settings.from_env(PRODUCTION)
    assert settings.is_production and not settings.demo_login and not settings.jobs_inline
    assert settings.database_url == "postgresql+psycopg://u@db.example.com/aftercart"
    assert settings.shopify_api_version == "2026-07"


def test_every_missing_setting_is_named_in_one_error():
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"AFTERCART_ENV": "production"})
    message = str(error.value)
    for name in (
        "SHOPIFY_API_KEY",
        "SHOPIFY_API_SECRET",
        "SHOPIFY_APP_URL",
        "SECRET_KEY",
        "TOKEN_ENCRYPTION_KEY",
        "DATABASE_URL",
        "REDIS_URL",
    ):
        assert name in message


def test_the_demo_login_cannot_be_switched_on_in_production():
    with pytest.raises(ConfigError, match="demo login"):
        Settings.from_env({**PRODUCTION, "AFTERCART_DEMO_LOGIN": "1"})


def test_production_refuses_demo_secrets_sqlite_and_non_loopback_fake_shopify():
    bad = {
        **PRODUCTION,
        "SECRET_KEY": "demo-secret-key-not-for-production",
        "DATABASE_URL": "sqlite:///x.db",
        "SHOPIFY_ADMIN_ORIGIN": "http://10.0.0.5:9000",
        "TOKEN_ENCRYPTION_KEY": "not-a-key",
    }
    with pytest.raises(ConfigError) as error:
        Settings.from_env(bad)
    message = str(error.value)
    assert "SECRET_KEY is the demo value" in message
    assert "PostgreSQL" in message
    assert "SHOPIFY_ADMIN_ORIGIN" in message
    assert "not a valid Fernet key" in message


def test_demo_runs_on_embedded_defaults():
    settings = Settings.from_env({"AFTERCART_ENV": "demo"})
    assert settings.jobs_inline and settings.demo_login
    assert settings.database_url.startswith("sqlite")


def test_production_app_never_opens_the_admin_without_a_session_token():
    app = create_app(Settings.from_env(PRODUCTION))
    response = app.test_client().get("/app")
    # No id_token: bounce through App Bridge's patch page, never a page rendered as an owner.
    assert response.status_code == 302
    assert "/app/patch-id-token" in response.headers["Location"]
    fetch = app.test_client().get("/app/api/webhook-events", headers={"Authorization": "Bearer not-a-jwt"})
    assert fetch.status_code == 401
    assert fetch.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
