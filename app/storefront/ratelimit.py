"""Limits on shopper lookups (order number + email or phone): moving windows with the `limits` package, in Redis.

What each limit is for:
- per client, every guess: one visitor cannot try more than a few combinations a minute;
- per order number, failures: nobody can work through emails for one order, from any number of addresses;
- per shop, failures, applied only to clients that have already failed: an enumeration spread over many
  addresses is stopped without locking out a shopper whose first lookup is genuine.
A signed link is not a guess and spends nothing. Who the client is comes from `request.remote_addr`, which
forwarded headers set only through the proxy hops the operator trusts (`TRUSTED_PROXY_HOPS`, default none).

If Redis cannot be reached the limits fail closed: they fall back to this process's own memory with a fraction
of the budget, so the page stays up but guessing gets slower, never freer.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from flask import Flask, current_app
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)

# While Redis is unreachable, each process allows this share of the usual budget (at least one attempt).
FALLBACK_SHARE = 0.3
_EXTENSION_KEY = "aftercart.lookup_limits"
_lock = threading.Lock()


@dataclass(frozen=True)
class Budget:
    per_client: RateLimitItem
    per_order_failures: RateLimitItem
    per_shop_failures: RateLimitItem


class LookupLimits:
    """The app's lookup limiter: Redis when configured (else memory, as in the demo), memory as the fallback."""

    def __init__(self, app: Flask) -> None:
        settings = app.config["SETTINGS"]
        self.budget = _budget(
            settings.lookups_per_client_per_minute,
            settings.failed_lookups_per_order_per_minute,
            settings.failed_lookups_per_shop_per_minute,
        )
        self.fallback_budget = _budget(
            *(
                max(1, int(n * FALLBACK_SHARE))
                for n in (
                    settings.lookups_per_client_per_minute,
                    settings.failed_lookups_per_order_per_minute,
                    settings.failed_lookups_per_shop_per_minute,
                )
            )
        )
        storage: Storage = (
            RedisStorage(settings.redis_url, wrap_exceptions=True, socket_timeout=0.5, socket_connect_timeout=0.5)
            if settings.redis_url
            else MemoryStorage()
        )
        self.primary = MovingWindowRateLimiter(storage)
        self.fallback = MovingWindowRateLimiter(MemoryStorage())

    def admit(self, shop_id: int, client: str, order_ref: str | None) -> bool:
        """Count one guess by `client`; True when it may go ahead."""
        try:
            return _admit(self.primary, self.budget, shop_id, client, order_ref)
        except Exception:  # StorageError and friends: Redis down or slow
            log.warning("lookup limits: Redis unreachable, using this process's strict limits")
            return _admit(self.fallback, self.fallback_budget, shop_id, client, order_ref)

    def record_failure(self, shop_id: int, client: str, order_ref: str | None) -> None:
        """A guess that found nothing: it counts against the client, the order number and the shop."""
        try:
            _record_failure(self.primary, self.budget, shop_id, client, order_ref)
        except Exception:
            _record_failure(self.fallback, self.fallback_budget, shop_id, client, order_ref)


def _budget(per_client: int, per_order: int, per_shop: int) -> Budget:
    return Budget(
        RateLimitItemPerMinute(per_client, namespace="AC-LOOKUP"),
        RateLimitItemPerMinute(per_order, namespace="AC-LOOKUP-ORDER-FAIL"),
        RateLimitItemPerMinute(per_shop, namespace="AC-LOOKUP-SHOP-FAIL"),
    )


def _order_key(order_ref: str | None) -> str:
    return " ".join((order_ref or "").split()).upper().lstrip("#")[:40]


def _admit(limiter: MovingWindowRateLimiter, budget: Budget, shop_id: int, client: str, order_ref: str | None) -> bool:
    shop = str(shop_id)
    if not limiter.test(budget.per_order_failures, shop, _order_key(order_ref)):
        return False
    if not limiter.test(budget.per_shop_failures, shop) and _has_failed(limiter, budget, shop, client):
        return False
    return limiter.hit(budget.per_client, shop, client)


def _has_failed(limiter: MovingWindowRateLimiter, budget: Budget, shop: str, client: str) -> bool:
    # A failure also spends the client's failure counter, which shares the per-client window's length.
    _, remaining = limiter.get_window_stats(budget.per_client, shop, "failed", client)
    return remaining < budget.per_client.amount


def _record_failure(
    limiter: MovingWindowRateLimiter, budget: Budget, shop_id: int, client: str, order_ref: str | None
) -> None:
    shop = str(shop_id)
    limiter.hit(budget.per_client, shop, "failed", client)
    limiter.hit(budget.per_order_failures, shop, _order_key(order_ref))
    limiter.hit(budget.per_shop_failures, shop)


def lookup_limits() -> LookupLimits:
    """The running app's limiter (created on first use)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    limits = app.extensions.get(_EXTENSION_KEY)
    if limits is None:
        with _lock:
            limits = app.extensions.get(_EXTENSION_KEY)
            if limits is None:
                limits = app.extensions[_EXTENSION_KEY] = LookupLimits(app)
    return limits
