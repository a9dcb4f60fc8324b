"""The mandatory privacy webhooks: customers/data_request, customers/redact and shop/redact.

Each runs in the webhook job (never inline in the request) and leaves a ComplianceRequest
row the merchant can see.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, or_, select, update

from app.db import ShopScoped, utcnow
from app.extensions import db
from app.notifications.privacy import erase_customer_notifications, export_customer_notifications
from app.orders.privacy import CustomerRef, erase_customer_data, export_customer_data
from app.recommendations.privacy import erase_customer_recommendation_data
from app.returns.privacy import erase_customer_returns, export_customer_returns
from app.shopify.models import ComplianceRequest, Shop, WebhookEvent

# Rows shop/redact keeps: the record that the redaction happened (it holds no personal data).
_KEPT_ON_SHOP_REDACT = {ComplianceRequest.__tablename__}


def _customer_ref(payload: dict[str, Any], orders_key: str) -> CustomerRef:
    customer = payload.get("customer") or {}
    raw_id = customer.get("id")
    order_ids = [int(i) for i in payload.get(orders_key) or [] if str(i).isdigit()]
    return CustomerRef(
        shopify_customer_id=int(raw_id) if str(raw_id or "").isdigit() else None,
        email=customer.get("email") or None,
        phone=customer.get("phone") or None,
        shopify_order_ids=order_ids,
    )


def on_customers_data_request(shop: Shop, payload: dict[str, Any]) -> None:
    """Assemble everything we hold on the customer into a report the merchant downloads."""
    customer = _customer_ref(payload, "orders_requested")
    report = export_customer_data(db.session, shop.id, customer)
    report.update(export_customer_notifications(db.session, shop.id, customer))
    report.update(export_customer_returns(db.session, shop.id, customer))
    report["requested"] = {
        "shopify_customer_id": customer.shopify_customer_id,
        "email": customer.email,
        "phone": customer.phone,
        "orders_requested": customer.shopify_order_ids,
    }
    data_request_id = (payload.get("data_request") or {}).get("id")
    db.session.add(
        ComplianceRequest(
            shop_id=shop.id,
            topic="customers/data_request",
            shopify_customer_id=customer.shopify_customer_id,
            data_request_id=int(data_request_id) if str(data_request_id or "").isdigit() else None,
            report=report,
            status="completed",
            completed_at=utcnow(),
        )
    )


def on_customers_redact(shop: Shop, payload: dict[str, Any]) -> None:
    """Erase the customer's PII everywhere we keep it: order rows and stored webhook payloads."""
    customer = _customer_ref(payload, "orders_to_redact")
    # Returns and recommendations find the customer through their orders: erase them before the orders' PII.
    returns_erased = erase_customer_returns(db.session, shop.id, customer)
    recommendation_rows_erased = erase_customer_recommendation_data(db.session, shop.id, customer)
    orders_erased = erase_customer_data(db.session, shop.id, customer)
    notifications_erased = erase_customer_notifications(db.session, shop.id, customer)
    payloads_erased = _erase_webhook_payloads_mentioning(shop.id, customer)
    # Earlier data-request reports about this customer hold the same PII.
    db.session.execute(
        update(ComplianceRequest)
        .where(
            ComplianceRequest.shop_id == shop.id,
            ComplianceRequest.topic == "customers/data_request",
            ComplianceRequest.shopify_customer_id == customer.shopify_customer_id,
        )
        .values(report=None)
    )
    db.session.add(
        ComplianceRequest(
            shop_id=shop.id,
            topic="customers/redact",
            shopify_customer_id=customer.shopify_customer_id,
            report={
                "orders_redacted": orders_erased,
                "notifications_redacted": notifications_erased,
                "webhook_payloads_erased": payloads_erased,
                "returns_redacted": returns_erased,
                "recommendation_rows_redacted": recommendation_rows_erased,
            },
            status="completed",
            completed_at=utcnow(),
        )
    )


def _erase_webhook_payloads_mentioning(shop_id: int, customer: CustomerRef) -> int:
    """Null the raw bodies of stored deliveries that concern the customer.

    SQL narrows the candidates by substring; the JSON is then checked structurally, because a
    bare number like an order id `1` would match almost any body as a substring.
    """
    needles = customer.identifiers()
    if not needles:
        return 0
    candidates = db.session.execute(
        select(WebhookEvent.id, WebhookEvent.payload).where(
            WebhookEvent.shop_id == shop_id, or_(*[WebhookEvent.payload.contains(v) for v in needles])
        )
    ).all()
    doomed = [event_id for event_id, body in candidates if _payload_concerns(body, customer)]
    if doomed:
        db.session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id.in_(doomed))
            .values(payload=None)
            .execution_options(synchronize_session=False)
        )
    return len(doomed)


def _payload_concerns(body: str, customer: CustomerRef) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        # Unparseable but it contains an identifier: erase rather than risk keeping PII.
        return True
    strings = {v.lower() for v in (customer.email, customer.phone) if v}
    order_ids = set(customer.shopify_order_ids)

    def walk(node: Any, key: str | None, parent_key: str | None) -> bool:
        if isinstance(node, dict):
            return any(walk(v, k, key) for k, v in node.items())
        if isinstance(node, list):
            return any(walk(v, parent_key if key is None else key, parent_key) for v in node)
        if isinstance(node, str) and node.lower() in strings:
            return True
        if isinstance(node, int) and not isinstance(node, bool):
            if (
                customer.shopify_customer_id
                and node == customer.shopify_customer_id
                and (key == "customer_id" or (key == "id" and parent_key == "customer"))
            ):
                return True
            if node in order_ids and (key == "order_id" or (key == "id" and parent_key is None)):
                return True
        return False

    return walk(payload, None, None)


def on_shop_redact(shop: Shop, payload: dict[str, Any]) -> None:
    """Erase all of the shop's data (48 h after uninstall). The shop row stays, emptied, as a tombstone."""
    for mapper in db.Model.registry.mappers:
        model = mapper.class_
        table = mapper.local_table
        if issubclass(model, ShopScoped) and table.name not in _KEPT_ON_SHOP_REDACT:
            if model is WebhookEvent:
                continue
            db.session.execute(delete(model).where(model.shop_id == shop.id))
    db.session.execute(update(WebhookEvent).where(WebhookEvent.shop_id == shop.id).values(payload=None))
    db.session.execute(update(ComplianceRequest).where(ComplianceRequest.shop_id == shop.id).values(report=None))
    shop.access_token_encrypted = None
    shop.refresh_token_encrypted = None
    shop.access_token_expires_at = None
    shop.refresh_token_expires_at = None
    shop.name = None
    shop.is_installed = False
    shop.redacted_at = utcnow()
    db.session.add(ComplianceRequest(shop_id=shop.id, topic="shop/redact", status="completed", completed_at=utcnow()))


def customer_identifiers_in_events(shop_id: int, value: str) -> int:
    """How many stored webhook payloads still mention `value` (used by tests and the admin)."""
    return len(
        db.session.execute(
            select(WebhookEvent.id).where(WebhookEvent.shop_id == shop_id, WebhookEvent.payload.contains(value))
        ).all()
    )
