"""Shop access tokens: encryption at rest (with key rotation), token exchange, and refresh under a row lock.

Shopify's expiring offline tokens last an hour and come with a refresh token that rotates on every
use, so the pair is always stored together, in one transaction, under a lock on the shop's row
(SHOPIFY-FACTS.md §3.2). HTTP goes through `shopify_http_client()` so tests reach a local fake.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from shopify_app import TokenExchangeAccessToken
from sqlalchemy import Connection, or_, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.db import utcnow
from app.extensions import db
from app.shopify.http import shopify_http_client
from app.shopify.models import Shop
from app.shopify.sdk import shopify_app

log = logging.getLogger(__name__)

# Refresh this long before the access token expires, so a job never starts with a token that dies mid-way.
REFRESH_MARGIN = timedelta(minutes=5)
# On an admin page load we hold an ID token; use it to start a fresh pair before the refresh token lapses.
REFRESH_TOKEN_RENEW_MARGIN = timedelta(days=1)
# How long a caller waits for another process that is refreshing the same shop's token.
LOCK_TIMEOUT = "10s"
# Session tokens: HS256 with the app secret, 10 s leeway as in Shopify's own libraries.
ID_TOKEN_LEEWAY_SECONDS = 10
# shopifyapp result codes: the grant is gone for good (only the merchant can restore it), or the
# failure is passing (network, Shopify 5xx or 429 after the library's own retries).
_REAUTH_CODES = frozenset({"invalid_grant", "refresh_token_expired"})
_PASSING_CODES = frozenset({"network_error", "server_error", "rate_limit_exceeded"})


class TokenError(Exception):
    """A shop's access token could not be obtained."""


class ReauthRequired(TokenError):
    """No usable grant is left (no token, refresh rejected or expired); the merchant must open the app."""


class TokenUnavailable(TokenError):
    """A passing failure (network, Shopify 5xx, lock wait timed out); retrying later may succeed."""


# --- encryption at rest ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _fernet() -> MultiFernet:
    keys = current_app.config["SETTINGS"].token_encryption_keys
    if not keys:
        raise TokenError("TOKEN_ENCRYPTION_KEY is not set")
    return _multi_fernet(tuple(keys))


def encrypt_token(token: str) -> bytes:
    """Encrypt with the first TOKEN_ENCRYPTION_KEY entry."""
    return _fernet().encrypt(token.encode())


def decrypt_token(data: bytes) -> str:
    """Decrypt with any TOKEN_ENCRYPTION_KEY entry; raises TokenError when none matches."""
    try:
        return _fernet().decrypt(bytes(data)).decode()
    except InvalidToken as exc:
        raise TokenError("a stored token cannot be decrypted with any TOKEN_ENCRYPTION_KEY entry") from exc


def rotate_token_encryption() -> int:
    """Re-encrypt every stored token with the first key; returns the number of shops touched.

    All rows are locked and rewritten in one transaction, so a refresh running at the same time
    cannot be overwritten by a re-encrypted older pair. Idempotent. Raises TokenError (and changes
    nothing) when a token cannot be decrypted with any configured key.
    """
    fernet = _fernet()
    shops = (
        db.session.execute(
            select(Shop)
            .where(or_(Shop.access_token_encrypted.is_not(None), Shop.refresh_token_encrypted.is_not(None)))
            .order_by(Shop.id)
            .with_for_update(key_share=True)
        )
        .scalars()
        .all()
    )
    for shop in shops:
        try:
            if shop.access_token_encrypted is not None:
                shop.access_token_encrypted = fernet.rotate(bytes(shop.access_token_encrypted))
            if shop.refresh_token_encrypted is not None:
                shop.refresh_token_encrypted = fernet.rotate(bytes(shop.refresh_token_encrypted))
        except InvalidToken as exc:
            db.session.rollback()
            raise TokenError(
                f"the tokens of {shop.domain} match no TOKEN_ENCRYPTION_KEY entry; nothing was re-encrypted"
            ) from exc
    db.session.commit()
    return len(shops)


# --- token exchange on admin page loads -----------------------------------------------------------


def _needs_exchange(shop: Shop, now: datetime) -> bool:
    if shop.needs_reauth or not shop.is_installed:
        return True
    # No refresh token means no token at all, or a legacy non-expiring one that must be migrated.
    if shop.access_token_encrypted is None or shop.refresh_token_encrypted is None:
        return True
    expires = shop.refresh_token_expires_at
    return expires is not None and expires <= now + REFRESH_TOKEN_RENEW_MARGIN


def _verified_claims(id_token: str, domain: str) -> dict[str, Any]:
    """Decode the session token again (signature, aud, exp/nbf) and check it names this shop."""
    settings = current_app.config["SETTINGS"]
    secrets = [settings.shopify_api_secret]
    if settings.shopify_api_secret_previous:
        secrets.append(settings.shopify_api_secret_previous)
    claims: dict[str, Any] | None = None
    for secret in secrets:
        try:
            claims = jwt.decode(
                id_token,
                secret,
                algorithms=["HS256"],
                audience=settings.shopify_api_key,
                leeway=ID_TOKEN_LEEWAY_SECONDS,
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise TokenError(f"session token rejected: {exc}") from exc
    if claims is None:
        raise TokenError("session token rejected: bad signature")
    dest = str(claims.get("dest") or "")
    if dest.removeprefix("https://").rstrip("/") != domain:
        raise TokenError("session token is for another shop")
    return claims


def ensure_offline_token(shop: Shop, id_token: str) -> None:
    """Make sure `shop` holds an expiring offline token, exchanging the session token when it doesn't.

    Called on every verified admin page load; a no-op unless the shop has no token, a legacy
    non-expiring one, `needs_reauth`, or a refresh token about to lapse. The shop's row is locked
    during the exchange, so concurrent page loads exchange once. Commits the caller's session.
    Raises TokenError when the session token or the exchange is rejected.
    """
    if not _needs_exchange(shop, utcnow()):
        return
    claims = _verified_claims(id_token, shop.domain)
    locked = db.session.execute(
        select(Shop).where(Shop.id == shop.id).with_for_update(key_share=True).execution_options(populate_existing=True)
    ).scalar_one()
    if not _needs_exchange(locked, utcnow()):
        db.session.commit()
        return
    with shopify_http_client() as client:
        result = shopify_app().exchange_using_token_exchange(
            "offline",
            id_token={"exchangeable": True, "token": id_token, "claims": claims},
            expiring=True,
            http_client=client,
        )
    if not result.ok or result.access_token is None:
        # Commit, not roll back: the request may have just created this shop's row.
        db.session.commit()
        error = TokenUnavailable if result.log.code in _PASSING_CODES else TokenError
        raise error(f"token exchange for {shop.domain} failed: {result.log.code}")
    _store_pair(locked, result.access_token, keep_refresh_token=False)
    now = utcnow()
    if not locked.is_installed or locked.installed_at is None:
        locked.installed_at = now
    locked.is_installed = True
    locked.uninstalled_at = None
    locked.needs_reauth = False
    db.session.commit()
    log.info("stored a new offline token for %s", shop.domain)


# --- access tokens for API calls ------------------------------------------------------------------


def _expires_soon(expires_at: datetime | None) -> bool:
    # No expiry: a legacy non-expiring token, usable until the merchant opens the app and we migrate it.
    return expires_at is not None and expires_at <= utcnow() + REFRESH_MARGIN


def get_access_token(shop_id: int) -> str:
    """A usable access token for the shop, refreshed first when it expires within REFRESH_MARGIN.

    The refresh runs in its own transaction under `SELECT ... FOR NO KEY UPDATE` on the shop's row
    and re-checks the expiry once the lock is held, so concurrent callers refresh once and the
    rotated pair is stored atomically. Don't call it while your own session holds an uncommitted
    UPDATE of this shop's row (the lock wait would time out).
    Raises ReauthRequired (after setting `needs_reauth`) when there is no token or the grant is
    gone, TokenUnavailable on passing failures, TokenError otherwise.
    """
    row = db.session.execute(
        select(Shop.access_token_encrypted, Shop.access_token_expires_at, Shop.needs_reauth).where(Shop.id == shop_id)
    ).one_or_none()
    if row is None:
        raise TokenError(f"no shop with id {shop_id}")
    if row.needs_reauth:
        raise ReauthRequired(f"shop {shop_id} must be re-authorised by the merchant")
    if row.access_token_encrypted is None:
        mark_needs_reauth(shop_id)
        raise ReauthRequired(f"shop {shop_id} has no access token")
    if not _expires_soon(row.access_token_expires_at):
        return decrypt_token(row.access_token_encrypted)
    return _refresh_access_token(shop_id)


def _refresh_access_token(shop_id: int) -> str:
    session = Session(db.engine, expire_on_commit=False)
    try:
        _set_lock_timeout(session)
        shop = session.execute(select(Shop).where(Shop.id == shop_id).with_for_update(key_share=True)).scalar_one()
        if shop.needs_reauth:
            raise ReauthRequired(f"shop {shop.domain} must be re-authorised by the merchant")
        if shop.access_token_encrypted is not None and not _expires_soon(shop.access_token_expires_at):
            return decrypt_token(shop.access_token_encrypted)  # another caller refreshed while we waited
        refresh_expires = shop.refresh_token_expires_at
        if shop.refresh_token_encrypted is None or (refresh_expires is not None and refresh_expires <= utcnow()):
            shop.needs_reauth = True
            session.commit()
            raise ReauthRequired(f"the refresh token of {shop.domain} is missing or expired")
        with shopify_http_client() as client:
            result = shopify_app().refresh_token_exchanged_access_token(
                {
                    "shop": shop.domain.removesuffix(".myshopify.com"),
                    "refresh_token": decrypt_token(shop.refresh_token_encrypted),
                    # No expiry: we decided to refresh (REFRESH_MARGIN); the library would skip it
                    # while more than 60 s remain.
                    "expires": None,
                    "refresh_token_expires": _iso(refresh_expires),
                    "access_mode": "offline",
                },
                http_client=client,
            )
        if not result.ok or result.access_token is None:
            if result.log.code in _REAUTH_CODES:
                shop.needs_reauth = True
                session.commit()
                raise ReauthRequired(f"Shopify rejected the refresh token of {shop.domain}")
            session.rollback()
            error = TokenUnavailable if result.log.code in _PASSING_CODES else TokenError
            raise error(f"token refresh for {shop.domain} failed: {result.log.code}")
        _store_pair(shop, result.access_token, keep_refresh_token=True)
        session.commit()
        log.info("refreshed the access token of %s", shop.domain)
        return result.access_token.token
    except OperationalError as exc:
        session.rollback()
        # Typically the lock wait timed out behind another refresh of this shop.
        raise TokenUnavailable(f"database error while refreshing the token of shop {shop_id}: {exc.orig}") from exc
    finally:
        session.close()


def mark_needs_reauth(shop_id: int) -> bool:
    """Set `needs_reauth` in a transaction of its own, leaving the caller's work uncommitted.

    Best effort: the caller raises its own error either way, so a failure here (the row stayed
    locked past LOCK_TIMEOUT) is logged and reported as False.
    """
    try:
        with db.engine.begin() as conn:
            _set_lock_timeout(conn)
            conn.execute(update(Shop).where(Shop.id == shop_id).values(needs_reauth=True))
    except OperationalError:
        log.exception("could not mark shop %s for re-authorisation", shop_id)
        return False
    return True


# --- helpers --------------------------------------------------------------------------------------


def _set_lock_timeout(conn: Session | Connection) -> None:
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    if bind.dialect.name == "postgresql":
        conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))


def _parse_expiry(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _store_pair(shop: Shop, token: TokenExchangeAccessToken, *, keep_refresh_token: bool) -> None:
    shop.access_token_encrypted = encrypt_token(token.token)
    shop.access_token_expires_at = _parse_expiry(token.expires)
    if token.refresh_token:
        shop.refresh_token_encrypted = encrypt_token(token.refresh_token)
        shop.refresh_token_expires_at = _parse_expiry(token.refresh_token_expires)
    elif not keep_refresh_token:
        shop.refresh_token_encrypted = None
        shop.refresh_token_expires_at = None
    if token.scope:
        shop.scopes = token.scope
