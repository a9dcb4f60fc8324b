"""Requests as Shopify's app proxy forwards them: the shopper's query plus shop, logged_in_customer_id,
path_prefix and timestamp, signed the way Shopify documents it, written here independently of the app's code.

https://shopify.dev/docs/apps/build/online-store/app-proxies/authenticate-app-proxies: the `signature` is the
hex HMAC-SHA256 of every other parameter as a `key=value` string (a repeated key's values joined with ","),
the strings sorted, then concatenated with no separator.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable
from urllib.parse import urlencode

from tests.conftest import SHOP

PATH_PREFIX = "/apps/aftercart"


def _key_values(pairs: Iterable[tuple[str, str]]) -> list[str]:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return [f"{key}={','.join(values)}" for key, values in grouped.items()]


def documented_message(pairs: Iterable[tuple[str, str]]) -> str:
    """The message Shopify signs: `key=v1,v2` strings sorted as strings, concatenated."""
    return "".join(sorted(_key_values(pairs)))


def by_key_message(pairs: Iterable[tuple[str, str]]) -> str:
    """The message sorted by key instead (what the `shopifyapp` package computes); it differs from the
    documented one only when a key is another key followed by a character below "=" (`order`, `order2`)."""
    return "".join(sorted(_key_values(pairs), key=lambda key_value: key_value.split("=", 1)[0]))


def proxy_query(
    params: dict[str, str] | Iterable[tuple[str, str]],
    secret: str = "test-secret",
    shop: str = SHOP,
    timestamp: int | None = None,
    message=documented_message,
) -> str:
    """The query string Shopify's app proxy sends: the shopper's params (a list of pairs may repeat a key)
    plus Shopify's own, and the signature over all of them."""
    pairs = list(params.items()) if isinstance(params, dict) else list(params)
    keys = {key for key, _ in pairs}
    if "logged_in_customer_id" not in keys:
        pairs.append(("logged_in_customer_id", ""))  # Shopify sends it empty for a guest
    pairs += [("shop", shop), ("path_prefix", PATH_PREFIX), ("timestamp", str(timestamp or int(time.time())))]
    signature = hmac.new(secret.encode(), message(pairs).encode(), hashlib.sha256).hexdigest()
    return urlencode([*pairs, ("signature", signature)])
