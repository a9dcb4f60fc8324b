"""Offline tokens: exchange on the first admin load, encryption at rest, key rotation, refresh, re-auth."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet, InvalidToken
from flask import Flask
from sqlalchemy import select, text, update

from app.db import utcnow
from app.extensions import db
from app.shopify.models import Shop
from app.shopify.shops import get_shop, shop_id_for_domain
from app.shopify.tokens import (
    ReauthRequired,
    TokenError,
    TokenUnavailable,
    decrypt_token,
    encrypt_token,
    ensure_offline_token,
    get_access_token,
    rotate_token_encryption,
)
from tests.conftest import OTHER_SHOP, SHOP
from tests.fakes.shopify import (
    OFFLINE_TOKEN_TYPE,
    TOKEN_EXCHANGE_GRANT,
    FakeShopify,
    make_id_token,
)

# The test app secret ("test-secret") is shorter than PyJWT's recommended 32 bytes; real secrets are not.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _shop(shop_id: int) -> Shop:
    db.session.expire_all()
    shop = db.session.get(Shop, shop_id)
    assert shop is not None
    return shop


def _raw_tokens(shop_id: int) -> tuple[bytes, bytes]:
    with db.engine.connect() as conn:
        row = conn.execute(
            text("SELECT access_token_encrypted, refresh_token_encrypted FROM shops WHERE id = :id"),
            {"id": shop_id},
        ).one()
    return bytes(row[0]), bytes(row[1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_first_admin_page_load_exchanges_the_session_token(fake_app: Flask, fake_shopify: FakeShopify):
    id_token = make_id_token(SHOP)
    client = fake_app.test_client()

    response = client.get(f"/app?shop={SHOP}&host=YWRtaW4&embedded=1&id_token={id_token}")

    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"].rstrip(";") == (
        f"frame-ancestors https://{SHOP} https://admin.shopify.com"
    )
    exchanges = fake_shopify.token_requests(TOKEN_EXCHANGE_GRANT)
    assert len(exchanges) == 1
    sent = exchanges[0].json
    assert exchanges[0].host == SHOP
    assert sent["subject_token"] == id_token
    assert sent["requested_token_type"] == OFFLINE_TOKEN_TYPE
    assert sent["expiring"] == 1
    assert sent["client_id"] == "test-api-key"

    shop = get_shop(db.session, SHOP)
    assert shop is not None
    assert shop.is_installed and not shop.needs_reauth
    assert shop.installed_at is not None
    assert shop.scopes == fake_shopify.shop(SHOP).scopes
    assert decrypt_token(shop.access_token_encrypted) in fake_shopify.live_access_tokens(SHOP)
    now = utcnow()
    assert timedelta(minutes=59) < shop.access_token_expires_at - now <= timedelta(hours=1)
    assert timedelta(days=89) < shop.refresh_token_expires_at - now <= timedelta(days=90)

    # Later page loads find a good token and don't exchange again.
    again = client.get(f"/app?shop={SHOP}&host=YWRtaW4&embedded=1&id_token={make_id_token(SHOP)}")
    assert again.status_code == 200
    assert len(fake_shopify.token_requests(TOKEN_EXCHANGE_GRANT)) == 1


def test_admin_page_load_with_a_forged_session_token_exchanges_nothing(fake_app: Flask, fake_shopify: FakeShopify):
    forged = make_id_token(SHOP, secret="not-the-app-secret")
    response = fake_app.test_client().get(f"/app?shop={SHOP}&id_token={forged}")

    assert response.status_code in (302, 401)
    assert fake_shopify.token_requests() == []


def test_tokens_are_encrypted_at_rest(install_shop: Callable[..., int], fake_shopify: FakeShopify, fake_app: Flask):
    shop_id = install_shop()
    (access,) = fake_shopify.live_access_tokens(SHOP)
    raw_access, raw_refresh = _raw_tokens(shop_id)
    refresh = decrypt_token(raw_refresh)

    assert access.encode() not in raw_access and access.encode() not in raw_refresh
    assert refresh.encode() not in raw_refresh
    assert refresh.startswith("shprt_")
    key = fake_app.config["SETTINGS"].token_encryption_keys[0]
    assert Fernet(key).decrypt(raw_access).decode() == access


def test_key_rotation_keeps_tokens_readable(
    install_shop: Callable[..., int],
    fake_shopify: FakeShopify,
    make_app: Callable[..., Flask],
    fake_app: Flask,
):
    shop_id = install_shop()
    token = get_access_token(shop_id)
    old_key = fake_app.config["SETTINGS"].token_encryption_keys[0]
    new_key = Fernet.generate_key().decode()

    both = make_app(shopify_admin_origin=fake_shopify.origin, token_encryption_keys=(new_key, old_key))
    with both.app_context():
        assert get_access_token(shop_id) == token  # the old key still decrypts
        assert rotate_token_encryption() == 1
        assert rotate_token_encryption() == 1  # idempotent
        db.session.remove()

    raw_access, raw_refresh = _raw_tokens(shop_id)
    assert Fernet(new_key).decrypt(raw_access).decode() == token
    Fernet(new_key).decrypt(raw_refresh)
    with pytest.raises(InvalidToken):
        Fernet(old_key).decrypt(raw_access)

    only_new = make_app(shopify_admin_origin=fake_shopify.origin, token_encryption_keys=(new_key,))
    with only_new.app_context():
        assert get_access_token(shop_id) == token
        db.session.remove()
    # The app still configured with the retired key alone cannot read the tokens any more.
    with pytest.raises(TokenError):
        get_access_token(shop_id)


def test_rotation_refuses_tokens_no_key_can_read(
    install_shop: Callable[..., int], fake_shopify: FakeShopify, make_app: Callable[..., Flask]
):
    shop_id = install_shop()
    raw_before = _raw_tokens(shop_id)
    stranger = make_app(
        shopify_admin_origin=fake_shopify.origin, token_encryption_keys=(Fernet.generate_key().decode(),)
    )
    with stranger.app_context():
        with pytest.raises(TokenError, match=SHOP):
            rotate_token_encryption()
        db.session.remove()
    assert _raw_tokens(shop_id) == raw_before


def test_token_is_refreshed_before_it_expires_and_the_pair_rotates(
    install_shop: Callable[..., int], fake_shopify: FakeShopify
):
    fake_shopify.access_token_ttl = 120  # inside the 5-minute margin
    shop_id = install_shop()
    fake_shopify.access_token_ttl = 3600
    old_access = decrypt_token(_shop(shop_id).access_token_encrypted)
    old_refresh = decrypt_token(_shop(shop_id).refresh_token_encrypted)

    token = get_access_token(shop_id)

    refreshes = fake_shopify.token_requests("refresh_token")
    assert len(refreshes) == 1
    assert refreshes[0].json["refresh_token"] == old_refresh
    assert token != old_access and token in fake_shopify.live_access_tokens(SHOP)
    shop = _shop(shop_id)
    assert decrypt_token(shop.access_token_encrypted) == token
    assert decrypt_token(shop.refresh_token_encrypted) != old_refresh  # rotated, stored with the new token
    assert shop.access_token_expires_at - utcnow() > timedelta(minutes=59)
    # Fresh now: later calls use it without going back to Shopify.
    assert get_access_token(shop_id) == token
    assert len(fake_shopify.token_requests("refresh_token")) == 1


def test_concurrent_callers_refresh_once(install_shop: Callable[..., int], fake_shopify: FakeShopify, fake_app: Flask):
    fake_shopify.access_token_ttl = 120
    shop_id = install_shop()
    fake_shopify.access_token_ttl = 3600
    fake_shopify.token_endpoint_delay = 0.3  # both callers are past the first check before the refresh ends
    db.session.remove()
    start = threading.Barrier(2)
    results: list[str] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            with fake_app.app_context():
                start.wait(timeout=5)
                results.append(get_access_token(shop_id))
                db.session.remove()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert errors == []
    assert len(results) == 2 and results[0] == results[1]
    assert len(fake_shopify.token_requests("refresh_token")) == 1
    assert results[0] in fake_shopify.live_access_tokens(SHOP)


def test_expired_refresh_token_requires_reauth(install_shop: Callable[..., int], fake_shopify: FakeShopify):
    fake_shopify.access_token_ttl = 60
    shop_id = install_shop()
    # Ninety days later: both sides consider the refresh token expired.
    db.session.execute(
        update(Shop).where(Shop.id == shop_id).values(refresh_token_expires_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    for grant in fake_shopify.shop(SHOP).refresh_tokens.values():
        grant.expires_at = 0

    with pytest.raises(ReauthRequired):
        get_access_token(shop_id)

    assert _shop(shop_id).needs_reauth
    assert fake_shopify.token_requests("refresh_token") == []
    with pytest.raises(ReauthRequired):
        get_access_token(shop_id)

    # The merchant opens the app: a new exchange clears the flag.
    fake_shopify.access_token_ttl = 3600
    ensure_offline_token(_shop(shop_id), make_id_token(SHOP))
    assert not _shop(shop_id).needs_reauth
    assert get_access_token(shop_id) in fake_shopify.live_access_tokens(SHOP)
    assert len(fake_shopify.token_requests(TOKEN_EXCHANGE_GRANT)) == 2


def test_refresh_rejected_by_shopify_requires_reauth(install_shop: Callable[..., int], fake_shopify: FakeShopify):
    fake_shopify.access_token_ttl = 60
    shop_id = install_shop()
    fake_shopify.revoke_tokens(SHOP)

    with pytest.raises(ReauthRequired):
        get_access_token(shop_id)

    (refresh,) = fake_shopify.token_requests("refresh_token")
    assert refresh.status == 400 and refresh.response["error"] == "invalid_grant"
    assert _shop(shop_id).needs_reauth


def test_shop_without_a_token_requires_reauth(fake_app: Flask):
    shop_id = shop_id_for_domain(db.session, OTHER_SHOP)
    db.session.commit()

    with pytest.raises(ReauthRequired):
        get_access_token(shop_id)
    assert _shop(shop_id).needs_reauth


def test_legacy_non_expiring_token_is_replaced_by_an_expiring_one(fake_app: Flask, fake_shopify: FakeShopify):
    shop_id = shop_id_for_domain(db.session, SHOP)
    db.session.execute(
        update(Shop)
        .where(Shop.id == shop_id)
        .values(access_token_encrypted=encrypt_token("shpat_legacy"), is_installed=True, installed_at=utcnow())
    )
    db.session.commit()
    assert get_access_token(shop_id) == "shpat_legacy"  # still usable meanwhile

    ensure_offline_token(_shop(shop_id), make_id_token(SHOP))

    shop = _shop(shop_id)
    assert len(fake_shopify.token_requests(TOKEN_EXCHANGE_GRANT)) == 1
    assert shop.refresh_token_encrypted is not None and shop.access_token_expires_at is not None
    assert get_access_token(shop_id) in fake_shopify.live_access_tokens(SHOP)


def test_session_token_of_another_shop_is_refused(fake_app: Flask, fake_shopify: FakeShopify):
    shop_id = shop_id_for_domain(db.session, SHOP)
    shop = db.session.execute(select(Shop).where(Shop.id == shop_id)).scalar_one()

    with pytest.raises(TokenError, match="another shop"):
        ensure_offline_token(shop, make_id_token(OTHER_SHOP))
    assert fake_shopify.token_requests() == []
    assert _shop(shop_id).access_token_encrypted is None


def test_unreachable_shopify_is_a_passing_failure(make_app: Callable[..., Flask]):
    unreachable = make_app(shopify_admin_origin=f"http://127.0.0.1:{_free_port()}")
    with unreachable.app_context():
        shop_id = shop_id_for_domain(db.session, SHOP)
        shop = get_shop(db.session, SHOP)
        assert shop is not None
        with pytest.raises(TokenUnavailable):
            ensure_offline_token(shop, make_id_token(SHOP))
        assert _shop(shop_id).access_token_encrypted is None
        db.session.remove()
