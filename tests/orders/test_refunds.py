"""refunds/create through the real intake: the amount and the currency it is in, as real shops send them."""

from __future__ import annotations

import copy
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.orders.models import Refund
from tests.conftest import load_fixture
from tests.tracking.test_timeline import ORDER_ID, T0, order_payload


def stored_refund() -> tuple[Decimal, str | None]:
    refund = db.session.execute(select(Refund)).scalar_one()
    return refund.amount, refund.currency


def refund_payload(**changes) -> dict:
    payload = copy.deepcopy(load_fixture("refunds_create.json"))
    payload.update(order_id=ORDER_ID, **changes)
    return payload


def test_refund_whose_transactions_have_no_currency_takes_it_from_the_line_items(ctx, post_webhook, run_jobs):
    # Shopify's own sample: every transaction says `currency: null`, the refund line items' money sets say USD.
    payload = refund_payload()
    assert {t["currency"] for t in payload["transactions"]} == {None}
    post_webhook("refunds/create", payload)
    run_jobs()
    assert stored_refund() == (Decimal("85.00"), "USD")


def test_refund_amount_and_currency_come_from_the_transactions_money_set(ctx, post_webhook, run_jobs):
    payload = refund_payload(refund_line_items=[])
    for transaction, amount in zip(payload["transactions"], ("2450.00", "330.00"), strict=True):
        transaction["amount_set"] = {
            "shop_money": {"amount": amount, "currency_code": "THB"},
            "presentment_money": {"amount": transaction["amount"], "currency_code": "USD"},
        }
    post_webhook("refunds/create", payload)
    run_jobs()
    assert stored_refund() == (Decimal("2780.00"), "THB")


def test_refund_without_any_currency_takes_the_orders(ctx, post_webhook, run_jobs):
    thb = {"amount": "1370.00", "currency_code": "THB"}
    post_webhook(
        "orders/create",
        order_payload(T0, currency="THB", current_total_price_set={"shop_money": thb, "presentment_money": thb}),
    )
    post_webhook("refunds/create", refund_payload(refund_line_items=[], total_duties_set=None))
    run_jobs()
    assert stored_refund() == (Decimal("85.00"), "THB")


def test_a_transactions_own_currency_is_kept(ctx, post_webhook, run_jobs):
    payload = refund_payload()
    for transaction in payload["transactions"]:
        transaction["currency"] = "EUR"
    post_webhook("refunds/create", payload)
    run_jobs()
    assert stored_refund() == (Decimal("85.00"), "EUR")
