"""One customer seeded in every feature: the data request assembles every table that the redact erases."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.notifications.models import ContactPreference, Notification
from app.orders.models import Customer, Order
from app.privacy import PRIVACY
from app.recommendations.model_build import customer_key
from app.recommendations.models import OrderBasket, RecommendationClick
from app.returns.models import CustomerLoyalty, ReturnFile, ReturnRequest, ReturnStep
from app.shopify.models import ComplianceRequest, Shop, WebhookEvent
from tests.conftest import SHOP, load_fixture

CUSTOMER_ID = 4242
EMAIL = "ploy@example.com"
PHONE = "+66812223333"
ORDER_ID = 880001


def _seed(post_webhook, run_jobs) -> int:
    order = load_fixture("orders_create.json")
    order.update(id=ORDER_ID, name="#8801", order_number=8801, email=EMAIL, phone=PHONE, buyer_accepts_marketing=True)
    order.update(cancelled_at=None, cancel_reason=None, financial_status="paid")
    order["customer"] = {"id": CUSTOMER_ID, "email": EMAIL, "first_name": "Ploy", "phone": PHONE}
    assert post_webhook("orders/create", order).status_code == 200
    fulfillment = dict(load_fixture("fulfillments_create.json"), id=990001, order_id=ORDER_ID, status="success")
    assert post_webhook("fulfillments/create", fulfillment).status_code == 200
    run_jobs()
    shop_id = db.session.execute(select(Shop.id).where(Shop.domain == SHOP)).scalar_one()
    # What the returns portal and a recommendation click would have stored for this shopper.
    request = ReturnRequest(
        shop_id=shop_id,
        shopify_order_id=ORDER_ID,
        idempotency_key="privacy-test",
        source="portal",
        currency="THB",
        comment="Please call me on 081 222 3333",
        decline_note="Ploy sent the wrong item",
    )
    db.session.add(request)
    db.session.flush()
    db.session.add_all(
        [
            ReturnStep(
                shop_id=shop_id,
                return_request_id=request.id,
                status="requested",
                actor="shopper",
                note="at home",
                dedupe_key="privacy-test:requested",
            ),
            ReturnFile(
                shop_id=shop_id,
                return_request_id=request.id,
                kind="photo",
                content_type="image/png",
                size=4,
                data=b"\x89PNG",
            ),
            CustomerLoyalty(shop_id=shop_id, shopify_customer_id=CUSTOMER_ID, orders_count=3, amount_spent=Decimal(9)),
            RecommendationClick(
                shop_id=shop_id,
                public_id="privacytestclick",
                placement="email",
                shopify_product_id=1,
                customer_key=customer_key(CUSTOMER_ID, None),
            ),
        ]
    )
    db.session.commit()
    return shop_id


def _privacy_request(topic: str, post_webhook, run_jobs) -> dict:
    fixture = "customers_data_request.json" if topic == "customers/data_request" else "customers_redact.json"
    payload = dict(load_fixture(fixture), shop_domain=SHOP)
    payload["customer"] = {"id": CUSTOMER_ID, "email": EMAIL, "phone": PHONE}
    payload["orders_requested" if topic == "customers/data_request" else "orders_to_redact"] = [ORDER_ID]
    assert post_webhook(topic, payload).status_code == 200
    run_jobs()
    return (
        db.session.execute(
            select(ComplianceRequest.report)
            .where(ComplianceRequest.topic == topic)
            .order_by(ComplianceRequest.id.desc())
        )
        .scalars()
        .first()
    )


# Per table the registry covers: where the data request shows the customer's row, and how to tell the redact
# erased it. A table added to the registry without a line here fails the first assertion below.
def _exported(report: dict) -> dict[str, bool]:
    [returned] = report["returns"]
    return {
        "orders": [o["email"] for o in report["orders"]] == [EMAIL],
        "customers": [c["email"] for c in report["customer_profiles"]] == [EMAIL],
        "notifications": any(n["recipient"] == EMAIL for n in report["notifications"]),
        "contact_preferences": any(p["address"] == EMAIL for p in report["contact_preferences"]),
        "return_requests": returned["comment"].startswith("Please call") and returned["decline_note"] is not None,
        "return_steps": [n["note"] for n in returned["notes"]] == ["at home"],
        "return_files": [p["content_type"] for p in returned["photos"]] == ["image/png"],
        "customer_loyalty": report["loyalty"]["orders_count"] == 3,
        "rec_order_baskets": [b["shopify_order_id"] for b in report["recommendation_baskets"]] == [ORDER_ID],
        "rec_clicks": [c["placement"] for c in report["recommendation_clicks"]] == ["email"],
        "webhook_events": {d["topic"] for d in report["webhook_deliveries"]} >= {"orders/create"},
        "compliance_requests": report["earlier_data_requests"] == [],
    }


def _erased(shop_id: int) -> dict[str, bool]:
    def rows(*columns, where):
        return db.session.execute(select(*columns).where(where)).all()

    [request] = rows(ReturnRequest.comment, ReturnRequest.decline_note, where=ReturnRequest.shop_id == shop_id)
    return {
        "orders": rows(Order.email, Order.phone, Order.shopify_customer_id, where=Order.shopify_order_id == ORDER_ID)
        == [(None, None, None)],
        "customers": rows(Customer.id, where=Customer.shopify_customer_id == CUSTOMER_ID) == [],
        "notifications": rows(Notification.id, where=Notification.recipient == EMAIL) == []
        and rows(Notification.id, where=Notification.shopify_order_id == ORDER_ID) != [],
        "contact_preferences": rows(ContactPreference.id, where=ContactPreference.shop_id == shop_id) == [],
        "return_requests": tuple(request) == (None, None),
        "return_steps": {n for (n,) in rows(ReturnStep.note, where=ReturnStep.shop_id == shop_id)} == {None},
        "return_files": rows(ReturnFile.id, where=ReturnFile.shop_id == shop_id) == [],
        "customer_loyalty": rows(CustomerLoyalty.id, where=CustomerLoyalty.shop_id == shop_id) == [],
        "rec_order_baskets": rows(OrderBasket.customer_key, where=OrderBasket.shop_id == shop_id) == [(None,)],
        "rec_clicks": rows(RecommendationClick.customer_key, where=RecommendationClick.shop_id == shop_id) == [(None,)],
        "webhook_events": all(
            payload is None or EMAIL not in payload
            for (payload,) in rows(WebhookEvent.payload, where=WebhookEvent.shop_id == shop_id)
        ),
        "compliance_requests": all(
            report is None or EMAIL not in json.dumps(report)
            for (report,) in rows(ComplianceRequest.report, where=ComplianceRequest.topic == "customers/data_request")
        ),
    }


def test_data_request_assembles_every_table_the_redact_erases(ctx, post_webhook, run_jobs):
    shop_id = _seed(post_webhook, run_jobs)
    covered = {table for entry in PRIVACY for table in entry.tables}
    report = _privacy_request("customers/data_request", post_webhook, run_jobs)
    exported = _exported(report)
    assert set(exported) == covered
    assert {table for table, ok in exported.items() if not ok} == set()

    redacted = _privacy_request("customers/redact", post_webhook, run_jobs)
    assert {f"{entry.name}_redacted" for entry in PRIVACY} | {"failed_jobs_forgotten"} == set(redacted)
    db.session.expire_all()
    erased = _erased(shop_id)
    assert set(erased) == covered
    assert {table for table, ok in erased.items() if not ok} == set()
