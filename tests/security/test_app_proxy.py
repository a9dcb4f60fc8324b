"""Attacks on the app proxy's proof (every /proxy route): forged, stale, tampered, repeated or missing parameters.

The genuine request passes (asserted first), so each 401 is the proof refusing, never a missing order. Requests
are signed in both forms the app accepts: Shopify's documented one and the one the `shopifyapp` package computes.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import parse_qsl, urlencode

import pytest

from tests.conftest import OTHER_SHOP, SHOP
from tests.fakes.app_proxy import PATH_PREFIX, by_key_message, documented_message, proxy_query

URL = "/proxy/api/track?"
# `order2` makes the documented message differ from the one sorted by key, so both of the app's checks are attacked.
PAIRS = [("order", "1001"), ("order2", "gift"), ("email", "jon@example.com")]
BOTH_FORMS = pytest.mark.parametrize("message", [documented_message, by_key_message], ids=["documented", "by-key"])


def sign(pairs: list[tuple[str, str]], secret: str = "test-secret", message=documented_message) -> str:
    """Exactly these pairs, signed: for requests Shopify would never send (no timestamp, a repeated parameter)."""
    signature = hmac.new(secret.encode(), message(pairs).encode(), hashlib.sha256).hexdigest()
    return urlencode([*pairs, ("signature", signature)])


def shopify_pairs(timestamp: str | None = None) -> list[tuple[str, str]]:
    stamp = timestamp if timestamp is not None else str(int(time.time()))
    return [*PAIRS, ("logged_in_customer_id", ""), ("shop", SHOP), ("path_prefix", PATH_PREFIX), ("timestamp", stamp)]


@BOTH_FORMS
def test_the_genuine_request_passes(client, shop_with_order, message):
    assert client.get(URL + proxy_query(PAIRS, message=message)).status_code == 200
    assert client.get(URL + sign(shopify_pairs(), message=message)).status_code == 200


@BOTH_FORMS
def test_a_signature_made_with_another_secret_is_refused(client, shop_with_order, message):
    assert client.get(URL + proxy_query(PAIRS, secret="guessed-secret", message=message)).status_code == 401


@BOTH_FORMS
@pytest.mark.parametrize("age", [91, 300, -91, -3600], ids=["91s-old", "5min-old", "91s-ahead", "1h-ahead"])
def test_a_timestamp_outside_90_seconds_is_refused(client, shop_with_order, message, age):
    query = proxy_query(PAIRS, timestamp=int(time.time()) - age, message=message)
    assert client.get(URL + query).status_code == 401


@BOTH_FORMS
@pytest.mark.parametrize(
    "tamper",
    [
        lambda q: q.replace("order=1001", "order=1002"),
        lambda q: q.replace("order2=gift", "order2=gifts"),
        lambda q: q + "&token=x",
        lambda q: q.replace("order2=gift&", ""),
        lambda q: q.replace("order2=gift", "order3=gift"),
        lambda q: q.replace("email=jon", "email=eve"),
        lambda q: q.replace("%2Fapps%2Faftercart", "%2Fapps%2Fother"),
        lambda q: q.replace(SHOP, OTHER_SHOP),
        lambda q: q.replace("signature=", "signature=0"),
    ],
    ids=["value", "other-value", "added", "removed", "renamed", "email", "path-prefix", "shop", "signature"],
)
def test_a_query_changed_after_signing_is_refused(client, shop_with_order, message, tamper):
    query = proxy_query(PAIRS, message=message)
    assert tamper(query) != query
    assert client.get(URL + tamper(query)).status_code == 401


@pytest.mark.parametrize("name", ["shop", "signature", "timestamp", "logged_in_customer_id", "path_prefix"])
def test_a_repeated_security_parameter_is_refused_even_when_signed(client, shop_with_order, name):
    pairs = shopify_pairs()
    if name == "signature":
        query = sign(pairs)
        query += "&signature=" + query.rsplit("signature=", 1)[1]
    else:
        # Signed over both values ("shop=a,b"), as a repeated parameter is: only the repetition is wrong.
        value = {"shop": OTHER_SHOP, "timestamp": str(int(time.time()) - 1), "logged_in_customer_id": "42"}
        query = sign([*pairs, (name, value.get(name, "/apps/other"))])
    assert client.get(URL + query).status_code == 401


def test_a_query_without_a_signature_or_a_timestamp_is_refused(client, shop_with_order):
    assert client.get(URL + urlencode(shopify_pairs())).status_code == 401
    assert client.get(URL + urlencode([*shopify_pairs(), ("signature", "")])).status_code == 401
    without_timestamp = [(k, v) for k, v in shopify_pairs() if k != "timestamp"]
    assert client.get(URL + sign(without_timestamp)).status_code == 401


@pytest.mark.parametrize("stamp", ["", "soon", "1e9", "1794798000.5"])
def test_a_timestamp_that_is_not_a_whole_number_is_refused_even_when_signed(client, shop_with_order, stamp):
    assert client.get(URL + sign(shopify_pairs(timestamp=stamp))).status_code == 401


def test_a_timestamp_folded_into_the_shop_parameter_is_refused(client, shop_with_order):
    # "shop=S" + "timestamp=T" is also the message of the one parameter shop="Stimestamp=T": the signature
    # still matches, so only the missing timestamp (and the shop's name) can refuse it.
    params = dict(parse_qsl(proxy_query(PAIRS), keep_blank_values=True))
    params["shop"] += "timestamp=" + params.pop("timestamp")
    assert client.get(URL + urlencode(params)).status_code == 401
