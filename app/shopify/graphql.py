"""Admin GraphQL API client: one per shop, aware of the cost-based rate limit, with typed errors.

Shopify meters the Admin API with a leaky bucket of query-cost points per app and store, reported
in every response's `extensions.cost` (SHOPIFY-FACTS.md §6.1). The client remembers the last
bucket state and the cost of each query, waits briefly when the bucket can't cover the next
request, and retries THROTTLED answers and HTTP 429 a bounded number of times. Waits longer than
`max_wait` are left to the job queue: the client raises Throttled(retry_after=...) instead.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.shopify.http import shopify_http_client
from app.shopify.models import Shop
from app.shopify.tokens import ReauthRequired, TokenUnavailable, get_access_token, mark_needs_reauth

log = logging.getLogger(__name__)

# Gateway errors: the request probably never ran, so a query (never a mutation) may be sent again.
_RETRYABLE_STATUS = frozenset({502, 503, 504})
_MUTATION_RE = re.compile(r"\A\s*(?:#[^\n]*\n\s*)*mutation\b")


class GraphQLError(Exception):
    """The Admin API answered with errors (or not at all). `errors` and `data` are as received."""

    def __init__(
        self,
        message: str,
        *,
        errors: list[Any] | None = None,
        data: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.errors = errors or []
        self.data = data
        self.status = status


class Throttled(GraphQLError):
    """Still rate limited after the allowed waits; try again in `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TransientError(GraphQLError):
    """Shopify 5xx, a network failure or a timeout: worth retrying later."""


class AuthFailed(GraphQLError):
    """The token was refused or cannot be had; the shop is marked `needs_reauth`."""


class UserErrors(GraphQLError):
    """A mutation ran but reported `userErrors` (invalid input, business rule)."""

    def __init__(self, user_errors: list[dict[str, Any]]) -> None:
        messages = []
        for error in user_errors:
            field = ".".join(str(part) for part in error.get("field") or [])
            messages.append(f"{field}: {error.get('message')}" if field else str(error.get("message")))
        super().__init__("; ".join(messages), errors=user_errors)
        self.user_errors = user_errors


@dataclass(frozen=True)
class ThrottleStatus:
    """The bucket as last reported by Shopify, and when (on the client's monotonic clock)."""

    maximum_available: float
    currently_available: float
    restore_rate: float
    observed_at: float

    def available(self, now: float) -> float:
        restored = self.restore_rate * max(0.0, now - self.observed_at)
        return min(self.maximum_available, self.currently_available + restored)

    def seconds_until(self, cost: float, now: float) -> float:
        """How long until the bucket holds `cost` points (0 when it already does)."""
        missing = cost - self.available(now)
        if missing <= 0:
            return 0.0
        return math.inf if self.restore_rate <= 0 else missing / self.restore_rate


def _messages(errors: Any) -> str:
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list):
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    return str(errors)


def _is_throttled(errors: Any) -> bool:
    return isinstance(errors, list) and any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors
    )


def _retry_after(response: httpx.Response, default: float) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default


class AdminClient:
    """Admin GraphQL API calls for one shop; create one per shop (it keeps that shop's bucket state).

    `sleep`, `clock`, `max_wait` and `backoff` are injectable so tests don't wait for real.
    Use it as a context manager, or call close(), to release its connections.
    """

    def __init__(
        self,
        shop_id: int,
        *,
        max_retries: int = 2,
        max_wait: float = 2.0,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        settings = current_app.config["SETTINGS"]
        domain = db.session.execute(select(Shop.domain).where(Shop.id == shop_id)).scalar_one_or_none()
        if domain is None:
            raise GraphQLError(f"no shop with id {shop_id}")
        self.shop_id = shop_id
        self.domain = domain
        self.url = f"https://{domain}/admin/api/{settings.shopify_api_version}/graphql.json"
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.backoff = backoff
        self._sleep = sleep
        self._clock = clock
        self._http = shopify_http_client()
        self.throttle_status: ThrottleStatus | None = None
        self._query_costs: dict[str, float] = {}

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a query or mutation and return its `data`.

        Raises Throttled, TransientError, AuthFailed (after marking the shop), or GraphQLError for
        any other error. Queries are retried after gateway errors and network failures; mutations
        only after answers that guarantee they did not run (THROTTLED, 429).
        """
        is_mutation = bool(_MUTATION_RE.match(query))
        attempt = 0
        while True:
            self._wait_for_bucket(query)
            try:
                response = self._post(query, variables)
            except httpx.TransportError as exc:
                if not is_mutation and attempt < self.max_retries:
                    attempt += 1
                    self._pause(self._backoff_delay(attempt), f"network error ({exc!r})")
                    continue
                raise TransientError(f"{self.domain}: network error: {exc!r}") from exc

            status = response.status_code
            if status in (401, 403):
                mark_needs_reauth(self.shop_id)
                raise AuthFailed(f"{self.domain}: access token refused (HTTP {status})", status=status)
            if status == 429:
                wait = _retry_after(response, default=1.0)
                if attempt < self.max_retries and wait <= self.max_wait:
                    attempt += 1
                    self._pause(wait, "HTTP 429")
                    continue
                raise Throttled(f"{self.domain}: rate limited (HTTP 429)", retry_after=wait, status=status)
            if status >= 500:
                if status in _RETRYABLE_STATUS and not is_mutation and attempt < self.max_retries:
                    attempt += 1
                    self._pause(self._backoff_delay(attempt), f"HTTP {status}")
                    continue
                raise TransientError(f"{self.domain}: Shopify answered HTTP {status}", status=status)
            if status != 200:
                # 400 (malformed request), 402 (shop frozen), 404 (no such shop or version), 423 (locked)...
                raise GraphQLError(f"{self.domain}: HTTP {status}: {response.text[:500]}", status=status)
            body = self._json(response)

            cost = self._record_cost(query, body)
            errors = body.get("errors")
            if errors and _is_throttled(errors):
                requested = (cost or {}).get("requestedQueryCost")
                if self.throttle_status is not None and requested is not None:
                    wait = self.throttle_status.seconds_until(float(requested), self._clock())
                else:
                    wait = self._backoff_delay(attempt + 1)
                if attempt < self.max_retries and wait <= self.max_wait:
                    attempt += 1
                    self._pause(wait, "THROTTLED")
                    continue
                raise Throttled(f"{self.domain}: throttled", retry_after=wait, errors=errors)
            if errors:
                raise GraphQLError(
                    f"{self.domain}: {_messages(errors)}",
                    errors=errors if isinstance(errors, list) else None,
                    data=body.get("data"),
                )
            data = body.get("data")
            if not isinstance(data, dict):
                raise GraphQLError(f"{self.domain}: response has no data")
            return data

    def mutate(self, query: str, variables: dict[str, Any] | None, payload_key: str) -> dict[str, Any]:
        """Run a mutation and return its payload (`data[payload_key]`); raises UserErrors when it has any."""
        data = self.execute(query, variables)
        payload = data.get(payload_key)
        if not isinstance(payload, dict):
            raise GraphQLError(f"{self.domain}: no {payload_key!r} in the response", data=data)
        user_errors = payload.get("userErrors") or []
        if user_errors:
            raise UserErrors(user_errors)
        return payload

    # --- internals --------------------------------------------------------------------------------

    def _post(self, query: str, variables: dict[str, Any] | None) -> httpx.Response:
        try:
            token = get_access_token(self.shop_id)
        except ReauthRequired as exc:
            raise AuthFailed(f"{self.domain}: {exc}") from exc
        except TokenUnavailable as exc:
            raise TransientError(f"{self.domain}: {exc}") from exc
        body: dict[str, Any] = {"query": query}
        if variables:
            body["variables"] = variables
        return self._http.post(
            self.url,
            json=body,
            headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
        )

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientError(
                f"{self.domain}: HTTP {response.status_code} with a body that is not JSON",
                status=response.status_code,
            ) from exc
        if not isinstance(body, dict):
            raise GraphQLError(f"{self.domain}: unexpected response body", status=response.status_code)
        return body

    def _record_cost(self, query: str, body: dict[str, Any]) -> dict[str, Any] | None:
        cost = (body.get("extensions") or {}).get("cost")
        if not isinstance(cost, dict):
            return None
        bucket = cost.get("throttleStatus") or {}
        try:
            self.throttle_status = ThrottleStatus(
                maximum_available=float(bucket["maximumAvailable"]),
                currently_available=float(bucket["currentlyAvailable"]),
                restore_rate=float(bucket["restoreRate"]),
                observed_at=self._clock(),
            )
        except (KeyError, TypeError, ValueError):
            log.warning("%s: unreadable throttleStatus %r", self.domain, bucket)
        if cost.get("requestedQueryCost") is not None:
            self._query_costs[query] = float(cost["requestedQueryCost"])
        return cost

    def _wait_for_bucket(self, query: str) -> None:
        expected = self._query_costs.get(query)
        status = self.throttle_status
        if expected is None or status is None or expected > status.maximum_available:
            return  # unknown cost, or one the server will refuse outright (MAX_COST_EXCEEDED)
        wait = status.seconds_until(expected, self._clock())
        if wait <= 0:
            return
        if wait > self.max_wait:
            raise Throttled(
                f"{self.domain}: the bucket needs {wait:.1f}s to cover a {expected:g}-point query",
                retry_after=wait,
            )
        self._pause(wait, "bucket low")

    def _backoff_delay(self, attempt: int) -> float:
        return min(self.max_wait, self.backoff * 2 ** (attempt - 1))

    def _pause(self, seconds: float, reason: str) -> None:
        log.info("%s: waiting %.2fs (%s)", self.domain, seconds, reason)
        self._sleep(seconds)
