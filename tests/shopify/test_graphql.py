"""The Admin GraphQL client against the fake Shopify: throttling, retries, typed errors."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from app.extensions import db
from app.shopify.graphql import (
    AdminClient,
    AuthFailed,
    GraphQLError,
    Throttled,
    TransientError,
    UserErrors,
)
from app.shopify.models import Shop
from tests.conftest import SHOP
from tests.fakes.shopify import FakeShopify, order_node

# The test app secret ("test-secret") is shorter than PyJWT's recommended 32 bytes; real secrets are not.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

SHOP_QUERY = "{ shop { name myshopifyDomain } }"
ORDER_IDS_QUERY = "query Ids($first: Int!) { orders(first: $first) { nodes { id } } }"
TAGS_ADD = """
mutation AddTags($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } }
}
"""


class Waits:
    """An injectable sleep that records each wait; `real=True` also waits (the fake's bucket refills
    in real time)."""

    def __init__(self, real: bool) -> None:
        self.real = real
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.real:
            time.sleep(seconds)


def _client(shop_id: int, waits: Waits, **options: Any) -> AdminClient:
    return AdminClient(shop_id, sleep=waits, **options)


def _put_orders(fake: FakeShopify, count: int) -> None:
    for i in range(count):
        fake.put_order(SHOP, order_node(1000 + i, updated_at=f"2026-01-01T00:00:{i:02d}Z", number=1001 + i))


def test_query_goes_to_the_pinned_version_with_the_shop_token(
    install_shop: Callable[..., int], fake_shopify: FakeShopify, fake_app: Flask
):
    shop_id = install_shop()
    waits = Waits(real=False)
    with _client(shop_id, waits) as client:
        data = client.execute(SHOP_QUERY)
        status = client.throttle_status

    assert data == {"shop": {"name": "snowdevil", "myshopifyDomain": SHOP}}
    (request,) = fake_shopify.graphql_requests(SHOP)
    version = fake_app.config["SETTINGS"].shopify_api_version
    assert request.path == f"/admin/api/{version}/graphql.json"
    assert request.headers["x-shopify-access-token"] in fake_shopify.live_access_tokens(SHOP)
    assert request.json == {"query": SHOP_QUERY}
    assert status is not None and status.maximum_available == 2000 and status.restore_rate == 100
    assert waits.calls == []


def test_throttled_answer_is_retried_once_the_bucket_refills(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    waits = Waits(real=True)

    with _client(shop_id, waits) as client:
        fake_shopify.set_bucket(SHOP, maximum=100, available=0, restore_rate=50)
        data = client.execute(ORDER_IDS_QUERY, {"first": 5})

    assert data == {"orders": {"nodes": []}}
    first, second = fake_shopify.graphql_requests(SHOP)
    assert first.status == 200 and first.response["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert "data" in second.response
    # 5 nodes x 1 + 2 for the connection = 7 points, restored at 50 points/s: at most 0.14 s.
    (wait,) = waits.calls
    assert 0.05 < wait <= 7 / 50 + 0.001


def test_client_waits_for_the_bucket_instead_of_being_throttled(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    _put_orders(fake_shopify, 28)
    fake_shopify.set_bucket(SHOP, maximum=50, restore_rate=100)
    waits = Waits(real=True)

    with _client(shop_id, waits) as client:
        client.execute(ORDER_IDS_QUERY, {"first": 28})  # 30 points requested, 29 used: 21 left
        client.execute(ORDER_IDS_QUERY, {"first": 28})

    responses = [r.response for r in fake_shopify.graphql_requests(SHOP)]
    assert all("errors" not in r for r in responses)
    assert len(responses) == 2
    # 9 points short at 100 points/s, less whatever refilled between the two calls.
    (wait,) = waits.calls
    assert 0 < wait <= (30 - 21) / 100 + 0.001


def test_bucket_too_low_for_a_short_wait_raises_before_sending(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    _put_orders(fake_shopify, 28)
    fake_shopify.set_bucket(SHOP, maximum=50, restore_rate=1)
    waits = Waits(real=False)

    with _client(shop_id, waits) as client:
        client.execute(ORDER_IDS_QUERY, {"first": 28})
        with pytest.raises(Throttled) as raised:
            client.execute(ORDER_IDS_QUERY, {"first": 28})

    assert raised.value.retry_after == pytest.approx(9, abs=0.5)
    assert len(fake_shopify.graphql_requests(SHOP)) == 1
    assert waits.calls == []


def test_long_throttle_is_left_to_the_job_queue(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    fake_shopify.set_bucket(SHOP, maximum=100, available=0, restore_rate=1)
    waits = Waits(real=False)

    with _client(shop_id, waits) as client, pytest.raises(Throttled) as raised:
        client.execute(ORDER_IDS_QUERY, {"first": 5})

    assert raised.value.retry_after == pytest.approx(7, abs=0.5)
    assert len(fake_shopify.graphql_requests(SHOP)) == 1
    assert waits.calls == []


def test_http_429_is_retried_after_retry_after(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    fake_shopify.script(SHOP, 429, headers={"Retry-After": "1.5"})
    waits = Waits(real=False)

    with _client(shop_id, waits) as client:
        data = client.execute(SHOP_QUERY)

    assert data["shop"]["name"] == "snowdevil"
    assert [r.status for r in fake_shopify.graphql_requests(SHOP)] == [429, 200]
    assert waits.calls == [1.5]


def test_persistent_429_raises_throttled_after_bounded_retries(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    for _ in range(5):
        fake_shopify.script(SHOP, 429, headers={"Retry-After": "2.0"})
    waits = Waits(real=False)

    with _client(shop_id, waits, max_retries=2) as client, pytest.raises(Throttled) as raised:
        client.execute(SHOP_QUERY)

    assert raised.value.retry_after == 2.0
    assert len(fake_shopify.graphql_requests(SHOP)) == 3
    assert waits.calls == [2.0, 2.0]


def test_refused_token_marks_the_shop_for_reauth(install_shop: Callable[..., int], fake_shopify, fake_app: Flask):
    shop_id = install_shop()
    fake_shopify.revoke_tokens(SHOP)
    waits = Waits(real=False)

    with _client(shop_id, waits) as client:
        with pytest.raises(AuthFailed) as raised:
            client.execute(SHOP_QUERY)
        assert raised.value.status == 401
        # Marked: the next call fails without going to Shopify.
        with pytest.raises(AuthFailed):
            client.execute(SHOP_QUERY)

    db.session.expire_all()
    assert db.session.get(Shop, shop_id).needs_reauth
    assert len(fake_shopify.graphql_requests(SHOP)) == 1


def test_server_errors_are_retried_for_queries_then_raise_transient(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    for _ in range(3):
        fake_shopify.script(SHOP, 503)
    waits = Waits(real=False)

    with (
        _client(shop_id, waits, backoff=0.25, max_retries=2) as client,
        pytest.raises(TransientError) as raised,
    ):
        client.execute(SHOP_QUERY)

    assert raised.value.status == 503
    assert [r.status for r in fake_shopify.graphql_requests(SHOP)] == [503, 503, 503]
    assert waits.calls == [0.25, 0.5]


def test_one_gateway_error_is_absorbed_for_a_query(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    fake_shopify.script(SHOP, 502)

    with _client(shop_id, Waits(real=False)) as client:
        assert client.execute(SHOP_QUERY)["shop"]["name"] == "snowdevil"
    assert [r.status for r in fake_shopify.graphql_requests(SHOP)] == [502, 200]


def test_mutation_is_not_resent_after_a_gateway_error(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    fake_shopify.put_order(SHOP, order_node(7, updated_at="2026-01-01T00:00:00Z"))
    fake_shopify.script(SHOP, 502)

    with _client(shop_id, Waits(real=False)) as client, pytest.raises(TransientError):
        client.mutate(TAGS_ADD, {"id": "gid://shopify/Order/7", "tags": ["vip"]}, "tagsAdd")
    assert len(fake_shopify.graphql_requests(SHOP)) == 1
    assert fake_shopify.shop(SHOP).orders["gid://shopify/Order/7"]["tags"] == []


def test_unreachable_shopify_is_transient(install_shop: Callable[..., int], make_app: Callable[..., Flask]):
    shop_id = install_shop()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    unreachable = make_app(shopify_admin_origin=f"http://127.0.0.1:{port}")
    waits = Waits(real=False)
    with unreachable.app_context():
        with _client(shop_id, waits, backoff=0.1) as client, pytest.raises(TransientError):
            client.execute(SHOP_QUERY)
        db.session.remove()
    assert waits.calls == [0.1, 0.2]


def test_mutation_user_errors_are_raised(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()
    fake_shopify.put_order(SHOP, order_node(7, updated_at="2026-01-01T00:00:00Z"))

    with _client(shop_id, Waits(real=False)) as client:
        with pytest.raises(UserErrors) as raised:
            client.mutate(TAGS_ADD, {"id": "gid://shopify/Order/404", "tags": ["vip"]}, "tagsAdd")
        payload = client.mutate(TAGS_ADD, {"id": "gid://shopify/Order/7", "tags": ["vip"]}, "tagsAdd")

    assert raised.value.user_errors == [{"field": ["id"], "message": "Order does not exist"}]
    assert str(raised.value) == "id: Order does not exist"
    assert payload == {"node": {"id": "gid://shopify/Order/7"}, "userErrors": []}
    assert fake_shopify.shop(SHOP).orders["gid://shopify/Order/7"]["tags"] == ["vip"]


def test_graphql_errors_carry_shopify_messages(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()

    with _client(shop_id, Waits(real=False)) as client, pytest.raises(GraphQLError) as raised:
        client.execute("{ shop { name } orderz(first: 1) { nodes { id } } }")

    assert type(raised.value) is GraphQLError
    assert "Field 'orderz' doesn't exist on type 'QueryRoot'" in str(raised.value)
    assert raised.value.errors[0]["extensions"]["code"] == "undefinedField"
    assert len(fake_shopify.graphql_requests(SHOP)) == 1  # not retried


def test_query_over_the_cost_limit_is_refused_not_retried(install_shop: Callable[..., int], fake_shopify):
    shop_id = install_shop()

    with _client(shop_id, Waits(real=False)) as client, pytest.raises(GraphQLError) as raised:
        client.execute("{ orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id } } } } }")

    assert raised.value.errors[0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert len(fake_shopify.graphql_requests(SHOP)) == 1
