"""Attacks on the shopper lookup (order number + email or phone): spoofed client addresses, one order's emails
guessed from many addresses, Redis down; and what must never be limited (signed links)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.orders.models import Order
from app.storefront.links import make_track_token
from tests.conftest import free_port
from tests.storefront.test_tracking_page import signed_query, split_order  # noqa: F401  (split_order: a fixture)


def _track(client, params: dict, address: str = "203.0.113.50", **headers):
    return client.get(
        "/proxy/api/track?" + signed_query(params), environ_base={"REMOTE_ADDR": address}, headers=headers
    ).status_code


def test_a_client_cannot_buy_fresh_guesses_with_a_forged_forwarded_for(client, split_order):  # noqa: F811
    statuses = [
        _track(client, {"order": str(4000 + n), "email": "x@example.com"}, **{"X-Forwarded-For": f"10.9.{n}.1"})
        for n in range(12)
    ]
    assert statuses[:10] == [404] * 10 and statuses[10:] == [429, 429]


def test_one_orders_emails_cannot_be_guessed_from_many_addresses(client, split_order):  # noqa: F811
    statuses = [_track(client, {"order": "1001", "email": f"guess{n}@example.com"}, f"192.0.2.{n}") for n in range(7)]
    assert statuses == [404] * 5 + [429, 429]


def test_signed_links_spend_no_lookup_budget(client, split_order):  # noqa: F811
    token = make_track_token(split_order.id, _order_id(split_order))
    statuses = [_track(client, {"token": token}) for _ in range(32)]
    assert statuses == [200] * 32
    page = client.get(f"/l/track/{token}", environ_base={"REMOTE_ADDR": "203.0.113.50"})
    assert page.status_code == 200


def test_limits_fail_closed_when_redis_is_down(make_app, split_order):  # noqa: F811
    down = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0").test_client()
    statuses = [_track(down, {"order": str(5000 + n), "email": "x@example.com"}) for n in range(6)]
    assert 429 in statuses  # a strict in-process budget, not unlimited guessing
    assert statuses[0] == 404  # the page itself stays up


def _order_id(shop) -> int:
    return db.session.execute(select(Order.id).where(Order.shop_id == shop.id, Order.order_number == 1001)).scalar_one()
