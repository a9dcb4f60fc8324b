"""The models: counted once per order version, undone on cancellation, and a full rebuild agrees."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.recommendations.model_build import decay_weight, rebuild_models
from app.recommendations.models import CoPurchase, NextPurchase, OrderBasket, Popularity
from tests.recommendations.conftest import CAP, SHORTS, SOCKS, T0, TEE, TEE_M, order_payload


def _state() -> dict:
    return {
        "co": {
            (r.product_id, r.other_product_id): (round(r.score, 6), r.orders)
            for r in db.session.execute(select(CoPurchase)).scalars()
            if r.orders
        },
        "next": {
            (r.product_id, r.next_product_id): (round(r.score, 6), r.customers)
            for r in db.session.execute(select(NextPurchase)).scalars()
            if r.customers
        },
        "pop": {
            r.product_id: (round(r.score, 6), r.orders)
            for r in db.session.execute(select(Popularity)).scalars()
            if r.orders
        },
    }


def _order(order_id, lines, days, customer=77, **changes):
    return order_payload(
        order_id,
        lines,
        customer_id=customer,
        email=f"c{customer}@example.com",
        created=T0 + timedelta(days=days),
        **changes,
    )


def test_an_order_counts_once_however_often_it_arrives(ctx, deliver):
    first = _order(1, [(TEE, TEE_M), (SHORTS, 201)], 0)
    deliver(("orders/create", first), ("orders/create", first), ("orders/updated", first))
    co = db.session.execute(select(CoPurchase).where(CoPurchase.product_id == TEE)).scalar_one()
    assert co.other_product_id == SHORTS and co.orders == 1
    assert co.score == pytest.approx(decay_weight(T0))


def test_a_new_version_replaces_what_the_old_one_counted_and_a_cancellation_undoes_it(ctx, deliver):
    deliver(("orders/create", _order(1, [(TEE, TEE_M), (SHORTS, 201)], 0)))
    edited = _order(1, [(TEE, TEE_M), (CAP, 301)], 0, updated_at="2026-10-02T00:00:00Z")
    deliver(("orders/updated", edited))
    assert set(_state()["co"]) == {(TEE, CAP), (CAP, TEE)}
    cancelled = dict(edited, cancelled_at="2026-10-03T00:00:00Z", updated_at="2026-10-03T00:00:00Z")
    deliver(("orders/cancelled", cancelled))
    assert _state() == {"co": {}, "next": {}, "pop": {}}


def test_next_purchases_follow_a_customers_orders_in_time(ctx, deliver):
    deliver(
        ("orders/create", _order(1, [(TEE, TEE_M)], 0)),
        ("orders/create", _order(2, [(SOCKS, 401), (CAP, 301)], 20)),
    )
    assert set(_state()["next"]) == {(TEE, SOCKS), (TEE, CAP)}


def test_a_full_rebuild_agrees_with_the_incremental_updates(ctx, deliver):
    deliver(
        ("orders/create", _order(1, [(TEE, TEE_M), (SHORTS, 201)], 0)),
        ("orders/create", _order(2, [(SOCKS, 401), (CAP, 301), (TEE, TEE_M)], 10)),
        ("orders/create", _order(3, [(SHORTS, 201), (CAP, 301)], 3, customer=78)),
        ("orders/create", _order(4, [(CAP, 301)], 30, customer=78)),
    )
    incremental = _state()
    from app.shopify.models import Shop

    shop = db.session.execute(select(Shop)).scalar_one()
    counts = rebuild_models(db.session, shop.id)
    assert counts["orders"] == 4
    assert _state() == incremental
    second = db.session.execute(select(OrderBasket).where(OrderBasket.shopify_order_id == 2)).scalar_one()
    assert second.credited_from == sorted([TEE, SHORTS])  # what the customer bought just before


def test_the_daily_rebuild_queues_each_installed_shop_once(ctx, deliver, redis_conn):
    from rq import Queue

    from app.recommendations.jobs import rebuild_all_shops
    from app.shopify.models import Shop

    deliver(("orders/create", _order(1, [(TEE, TEE_M), (SHORTS, 201)], 0)))
    shop = db.session.execute(select(Shop)).scalar_one()
    shop.is_installed = True
    db.session.add(Shop(domain="gone.myshopify.com", is_installed=False))
    db.session.commit()
    assert rebuild_all_shops() == 1
    assert rebuild_all_shops() == 1  # a rebuild already queued is not queued twice
    assert Queue("bulk", connection=redis_conn).job_ids.count(f"recs-rebuild-{shop.id}") == 1
