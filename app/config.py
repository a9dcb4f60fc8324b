"""Settings: every setting and secret, read from the environment and validated once, at start."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

API_VERSION = "2026-07"

ENVIRONMENTS = ("production", "development", "test", "demo")

# The demo store's shop (seeded by `flask demo`; the admin opens as its owner in the demo only).
DEMO_SHOP_DOMAIN = "aftercart-demo.myshopify.com"

# Values only ever used when AFTERCART_ENV=demo (or test): never in production.
_DEMO_DEFAULTS = {
    "SHOPIFY_API_KEY": "demo-api-key",
    "SHOPIFY_API_SECRET": "demo-api-secret",
    "SHOPIFY_APP_URL": "http://127.0.0.1:5000",
    "SECRET_KEY": "demo-secret-key-not-for-production",
    # A fixed Fernet key (32 url-safe base64 bytes) so demo data survives restarts.
    "TOKEN_ENCRYPTION_KEY": "ZGVtby1rZXktZGVtby1rZXktZGVtby1rZXktZGVtby0=",
    "DATABASE_URL": "sqlite:///demo.db",
}

REQUIRED = (
    "SHOPIFY_API_KEY",
    "SHOPIFY_API_SECRET",
    "SHOPIFY_APP_URL",
    "SECRET_KEY",
    "TOKEN_ENCRYPTION_KEY",
    "DATABASE_URL",
)

DEFAULT_SCOPES = (
    "read_orders,read_fulfillments,read_merchant_managed_fulfillment_orders,read_customers,"
    "read_products,read_returns,write_returns,write_app_proxy"
)


class ConfigError(RuntimeError):
    """Raised at start when settings are missing or inconsistent; the message names every problem."""


def _is_loopback_url(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Settings of optional parts (channels, carriers, signing, alerts) kept as given, in Settings.extra.
EXTRA_PREFIXES = ("TWILIO_", "LINE_", "CARRIER_", "DKIM_", "ALERT_", "INTEGRATIONS_", "KLAVIYO_")


@dataclass(frozen=True)
class Settings:
    env: str
    shopify_api_key: str
    shopify_api_secret: str
    shopify_api_secret_previous: str | None
    shopify_app_url: str
    scopes: str
    shopify_api_version: str
    database_url: str
    redis_url: str | None
    secret_key: str
    token_encryption_keys: tuple[str, ...]
    smtp_url: str | None = None
    mail_from: str | None = None  # the address notifications are sent from (the shop's name is the display name)
    # Where Admin API and OAuth calls go instead of https://{shop}; loopback only (tests, demo).
    shopify_admin_origin: str | None = None
    demo_login: bool = False
    redis_socket_timeout: float = 0.5
    # Shopper lookups (order number + email/phone), a minute: attempts per client, failures per order number,
    # failures per shop (held only against clients that have failed). See app/storefront/ratelimit.py.
    lookups_per_client_per_minute: int = 10
    failed_lookups_per_order_per_minute: int = 5
    failed_lookups_per_shop_per_minute: int = 300
    # Reverse proxies in front of the app whose X-Forwarded-* headers are believed (0: none; a client could
    # write them). Behind one load balancer: 1.
    trusted_proxy_hops: int = 0
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def jobs_inline(self) -> bool:
        return not self.redis_url

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise ConfigError naming all problems at once."""
        env_vars = dict(os.environ if environ is None else environ)
        env = env_vars.get("AFTERCART_ENV", "production").strip().lower()
        problems: list[str] = []
        if env not in ENVIRONMENTS:
            problems.append(f"AFTERCART_ENV must be one of {', '.join(ENVIRONMENTS)} (got {env!r})")
            env = "production"

        def get(name: str) -> str | None:
            value = env_vars.get(name, "").strip()
            if not value and env in ("demo", "test"):
                value = _DEMO_DEFAULTS.get(name, "")
            return value or None

        missing = [name for name in REQUIRED if not get(name)]
        if missing:
            problems.append("missing required settings: " + ", ".join(missing))

        api_version = get("SHOPIFY_API_VERSION") or API_VERSION
        if not re.fullmatch(r"\d{4}-(01|04|07|10)|unstable", api_version):
            problems.append(f"SHOPIFY_API_VERSION must look like 2026-07 (got {api_version!r})")

        keys = tuple(k.strip() for k in (get("TOKEN_ENCRYPTION_KEY") or "").split(",") if k.strip())
        if keys:
            from cryptography.fernet import Fernet

            for index, key in enumerate(keys):
                try:
                    Fernet(key)
                except (ValueError, TypeError):
                    problems.append(f"TOKEN_ENCRYPTION_KEY entry {index + 1} is not a valid Fernet key")

        demo_login = env == "demo" or env_vars.get("AFTERCART_DEMO_LOGIN", "") == "1"
        if demo_login and env == "production":
            problems.append("the demo login cannot be enabled in production (unset AFTERCART_DEMO_LOGIN)")

        admin_origin = get("SHOPIFY_ADMIN_ORIGIN")
        if admin_origin and not _is_loopback_url(admin_origin):
            problems.append("SHOPIFY_ADMIN_ORIGIN may only point at a loopback address (tests and demo)")

        if env == "production":
            secret_key = get("SECRET_KEY") or ""
            if secret_key and secret_key == _DEMO_DEFAULTS["SECRET_KEY"]:
                problems.append("SECRET_KEY is the demo value; set a real secret in production")
            if (get("DATABASE_URL") or "").startswith("sqlite"):
                problems.append("DATABASE_URL must be PostgreSQL in production (SQLite is for the demo)")
            if not get("REDIS_URL"):
                problems.append("REDIS_URL is required in production (inline jobs are for the demo)")

        limits = {}
        for name, key in (
            ("TRACKING_LOOKUPS_PER_CLIENT_PER_MINUTE", "lookups_per_client_per_minute"),
            ("TRACKING_FAILED_LOOKUPS_PER_ORDER_PER_MINUTE", "failed_lookups_per_order_per_minute"),
            ("TRACKING_FAILED_LOOKUPS_PER_SHOP_PER_MINUTE", "failed_lookups_per_shop_per_minute"),
        ):
            raw = env_vars.get(name, "").strip()
            if raw:
                if raw.isdigit() and int(raw) > 0:
                    limits[key] = int(raw)
                else:
                    problems.append(f"{name} must be a positive whole number")

        hops = env_vars.get("TRUSTED_PROXY_HOPS", "").strip()
        if hops and not (hops.isdigit() and int(hops) <= 5):
            problems.append("TRUSTED_PROXY_HOPS must be a whole number from 0 to 5")

        if problems:
            raise ConfigError("Invalid configuration:\n  - " + "\n  - ".join(problems))

        return cls(
            env=env,
            shopify_api_key=get("SHOPIFY_API_KEY") or "",
            shopify_api_secret=get("SHOPIFY_API_SECRET") or "",
            shopify_api_secret_previous=get("SHOPIFY_API_SECRET_PREVIOUS"),
            shopify_app_url=(get("SHOPIFY_APP_URL") or "").rstrip("/"),
            scopes=get("SCOPES") or DEFAULT_SCOPES,
            shopify_api_version=api_version,
            database_url=_normalise_database_url(get("DATABASE_URL") or ""),
            redis_url=get("REDIS_URL"),
            secret_key=get("SECRET_KEY") or "",
            token_encryption_keys=keys,
            smtp_url=get("SMTP_URL"),
            mail_from=get("MAIL_FROM")
            or f"notifications@{urlparse(get('SHOPIFY_APP_URL') or 'http://localhost').hostname}",
            shopify_admin_origin=admin_origin.rstrip("/") if admin_origin else None,
            demo_login=demo_login,
            extra={k: v for k, v in env_vars.items() if k.startswith(EXTRA_PREFIXES)},
            trusted_proxy_hops=int(hops or 0),
            **limits,
        )


def _normalise_database_url(url: str) -> str:
    # Heroku-style URLs say postgres://; SQLAlchemy wants an explicit driver.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
