"""Lifecycle and privacy webhooks: each acts in the job, and the data is really gone or really assembled."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.extensions import db
from app.orders.models import Fulfillment, Order
from app.shopify.compliance import customer_identifiers_in_events
from app.shopify.models import ComplianceRequest, Shop, WebhookEvent
from tests.conftest import OTHER_SHOP, SHOP, load_fixture


def _order(order_id: int, email: str, customer_id: int | None, phone: str | None = None) -> dict:
    payload = load_fixture("orders_create.json")
    payload.update(id=order_id, name=f"#{order_id}", order_number=order_id, email=email, phone=phone)
    payload["customer"] = (
        {"id": customer_id, "email": email, "first_name": "Jane", "phone": phone} if customer_id else None
    )
    return payload


def _seed(post_webhook, run_jobs) -> None:
    post_webhook("orders/create", _order(1, "jane@example.com", 42, "+66811111111"))
    post_webhook("orders/create", _order(2, "JANE@example.com", None))  # guest checkout, same email
    post_webhook("orders/create", _order(3, "someone@example.com", 77))
    post_webhook("orders/create", _order(1, "jane@example.com", 42), shop=OTHER_SHOP)
    fulfillment = load_fixture("fulfillments_create.json")
    post_webhook("fulfillments/create", dict(fulfillment, order_id=1, tracking_numbers=["1Z999AA10123456784"]))
    run_jobs()


def _shop_id(domain: str) -> int:
    return db.session.execute(select(Shop.id).where(Shop.domain == domain)).scalar_one()


def test_data_request_assembles_what_we_hold_for_the_merchant(ctx, post_webhook, run_jobs):
    _seed(post_webhook, run_jobs)
    payload = load_fixture("customers_data_request.json")
    payload.update(shop_domain=SHOP, customer={"id": 42, "email": "jane@example.com", "phone": None})
    payload["orders_requested"] = [1]
    assert post_webhook("customers/data_request", payload).status_code == 200
    assert db.session.execute(select(func.count()).select_from(ComplianceRequest)).scalar() == 0  # not inline
    run_jobs()
    record = db.session.execute(select(ComplianceRequest)).scalar_one()
    assert record.topic == "customers/data_request" and record.status == "completed"
    assert record.shop_id == _shop_id(SHOP)
    orders = {o["order"]: o for o in record.report["orders"]}
    assert set(orders) == {"#1", "#2"}  # by id and by email, never the other customer or shop
    assert orders["#1"]["phone"] == "+66811111111"
    assert orders["#1"]["shipments"][0]["tracking_numbers"] == ["1Z999AA10123456784"]
    assert record.data_request_id == payload["data_request"]["id"]


def test_customer_redact_erases_pii_everywhere_we_keep_it(ctx, post_webhook, run_jobs):
    _seed(post_webhook, run_jobs)
    payload = load_fixture("customers_redact.json")
    payload.update(shop_domain=SHOP, customer={"id": 42, "email": "jane@example.com", "phone": "+66811111111"})
    payload["orders_to_redact"] = [1, 2]
    post_webhook("customers/redact", payload)
    run_jobs()
    shop_id = _shop_id(SHOP)
    rows = (
        db.session.execute(select(Order).where(Order.shop_id == shop_id).order_by(Order.shopify_order_id))
        .scalars()
        .all()
    )
    by_id = {o.shopify_order_id: o for o in rows}
    for order_id in (1, 2):
        order = by_id[order_id]
        assert (order.email, order.phone, order.customer_first_name, order.shopify_customer_id) == (None,) * 4
    assert by_id[3].email == "someone@example.com"  # other customers untouched
    # Raw webhook bodies that mentioned her are erased too (the redact request's own body included).
    assert customer_identifiers_in_events(shop_id, "jane@example.com") == 0
    assert customer_identifiers_in_events(shop_id, "+66811111111") == 0
    assert customer_identifiers_in_events(shop_id, "someone@example.com") == 1
    # The other shop's data is not this request's business.
    other = db.session.execute(select(Order).where(Order.shop_id == _shop_id(OTHER_SHOP))).scalar_one()
    assert other.email == "jane@example.com"
    record = db.session.execute(
        select(ComplianceRequest).where(ComplianceRequest.topic == "customers/redact")
    ).scalar_one()
    assert record.report["orders_redacted"] == 2


def test_redact_also_clears_an_earlier_data_request_report(ctx, post_webhook, run_jobs):
    _seed(post_webhook, run_jobs)
    customer = {"id": 42, "email": "jane@example.com", "phone": None}
    post_webhook("customers/data_request", dict(load_fixture("customers_data_request.json"), customer=customer))
    run_jobs()
    post_webhook(
        "customers/redact",
        dict(load_fixture("customers_redact.json"), customer=customer, orders_to_redact=[]),
    )
    run_jobs()
    report = db.session.execute(
        select(ComplianceRequest.report).where(ComplianceRequest.topic == "customers/data_request")
    ).scalar_one()
    assert report is None


def test_uninstall_deletes_tokens_keeps_data_and_is_idempotent(ctx, post_webhook, run_jobs):
    _seed(post_webhook, run_jobs)
    shop = db.session.get(Shop, _shop_id(SHOP))
    shop.access_token_encrypted = b"encrypted-access"
    shop.refresh_token_encrypted = b"encrypted-refresh"
    shop.is_installed = True
    db.session.commit()
    for _ in range(2):
        assert post_webhook("app/uninstalled", {"id": 1, "domain": SHOP}).status_code == 200
    run_jobs()
    db.session.expire_all()
    shop = db.session.get(Shop, _shop_id(SHOP))
    assert shop.access_token_encrypted is None and shop.refresh_token_encrypted is None
    assert shop.is_installed is False and shop.uninstalled_at is not None
    assert db.session.execute(select(func.count()).where(Order.shop_id == shop.id)).scalar() == 3
    # A late order webhook after uninstall is still accepted (Shopify may send it).
    assert post_webhook("orders/updated", _order(3, "someone@example.com", 77)).status_code == 200
    run_jobs()


def test_scopes_update_records_granted_scopes(ctx, post_webhook, run_jobs):
    post_webhook(
        "app/scopes_update",
        {"id": 1, "previous": ["read_orders"], "current": ["read_orders", "write_returns"]},
    )
    run_jobs()
    assert db.session.execute(select(Shop.scopes)).scalar_one() == "read_orders,write_returns"


def test_shop_redact_erases_the_shop_and_only_that_shop(ctx, post_webhook, run_jobs):
    _seed(post_webhook, run_jobs)
    payload = dict(load_fixture("shop_redact.json"), shop_domain=SHOP)
    post_webhook("shop/redact", payload)
    run_jobs()
    shop_id, other_id = _shop_id(SHOP), _shop_id(OTHER_SHOP)
    for model in (Order, Fulfillment):
        assert db.session.execute(select(func.count()).where(model.shop_id == shop_id)).scalar() == 0
    assert (
        db.session.execute(
            select(func.count()).where(WebhookEvent.shop_id == shop_id, WebhookEvent.payload.is_not(None))
        ).scalar()
        == 0
    )
    assert db.session.execute(select(func.count()).where(Order.shop_id == other_id)).scalar() == 1
    shop = db.session.get(Shop, shop_id)
    assert shop.redacted_at is not None and shop.access_token_encrypted is None
    record = db.session.execute(select(ComplianceRequest).where(ComplianceRequest.shop_id == shop_id)).scalar_one()
    assert record.topic == "shop/redact" and record.status == "completed"


def test_compliance_webhook_with_bad_signature_is_401(ctx, client):
    body = json.dumps(load_fixture("shop_redact.json")).encode()
    from tests.conftest import webhook_headers

    response = client.post("/webhooks", data=body, headers=webhook_headers("shop/redact", body, secret="wrong"))
    assert response.status_code == 401
    assert db.session.execute(select(func.count()).select_from(WebhookEvent)).scalar() == 0
