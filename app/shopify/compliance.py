"""The mandatory privacy webhooks: customers/data_request, customers/redact and shop/redact.

Each runs in the webhook job (never inline in the request) and leaves a ComplianceRequest
row the merchant can see. What each feature holds on a customer is exported and erased by the entries of
the privacy registry (the wiring's app/privacy.py); this module adds the platform's own part: stored
webhook payloads and earlier reports.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from app.db import ShopScoped, utcnow
from app.extensions import db
from app.jobs import forget_failed_jobs_mentioning
from app.orders.privacy import CustomerRef
from app.registry import PrivacyEntry, registry
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
    report: dict[str, Any] = {}
    for entry in registry().privacy:
        for section, rows in entry.export(db.session, shop.id, customer).items():
            if section in report:
                raise ValueError(f"privacy export section {section!r} given by two entries")
            report[section] = rows
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
    # In the registry's order: features that find the customer through their orders come before the orders.
    erased = {f"{entry.name}_redacted": entry.erase(db.session, shop.id, customer) for entry in registry().privacy}
    erased["failed_jobs_forgotten"] = forget_failed_jobs_mentioning([customer.email or "", customer.phone or ""])
    db.session.add(
        ComplianceRequest(
            shop_id=shop.id,
            topic="customers/redact",
            shopify_customer_id=customer.shopify_customer_id,
            report=erased,
            status="completed",
            completed_at=utcnow(),
        )
    )


def _events_concerning(session: Session, shop_id: int, customer: CustomerRef) -> list[WebhookEvent]:
    """Stored deliveries whose raw body concerns the customer.

    SQL narrows the candidates by substring; the JSON is then checked structurally, because a
    bare number like an order id `1` would match almost any body as a substring.
    """
    needles = customer.identifiers()
    if not needles:
        return []
    # Lower-cased on both sides: Shopify keeps an address as the shopper typed it (Frank.Case@Alpha.test), and a
    # redaction may name it in another case.
    body = func.lower(WebhookEvent.payload)
    candidates = session.execute(
        select(WebhookEvent).where(WebhookEvent.shop_id == shop_id, or_(*[body.contains(v.lower()) for v in needles]))
    ).scalars()
    return [event for event in candidates if _payload_concerns(event.payload, customer)]


def erase_webhook_payloads(session: Session, shop_id: int, customer: CustomerRef) -> int:
    """Null the raw bodies of stored deliveries that concern the customer, and drop the reports of earlier
    data requests about them (they hold the same personal data). Returns the payloads erased. No commit."""
    doomed = [event.id for event in _events_concerning(session, shop_id, customer)]
    if doomed:
        session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id.in_(doomed))
            .values(payload=None)
            .execution_options(synchronize_session=False)
        )
    # Earlier reports about them: by the customer id Shopify gave, or by any identifier the report holds (a
    # redaction may name the customer only by email, an earlier request by id and email).
    reports = session.execute(
        select(ComplianceRequest.id, ComplianceRequest.shopify_customer_id, ComplianceRequest.report).where(
            ComplianceRequest.shop_id == shop_id,
            ComplianceRequest.topic == "customers/data_request",
            ComplianceRequest.report.is_not(None),
        )
    ).all()
    stale = [
        request_id
        for request_id, customer_id, report in reports
        if customer_id == customer.shopify_customer_id or _payload_concerns(json.dumps(report), customer)
    ]
    if stale:
        session.execute(
            update(ComplianceRequest)
            .where(ComplianceRequest.id.in_(stale))
            .values(report=None)
            .execution_options(synchronize_session=False)
        )
    return len(doomed)


def export_webhook_payloads(session: Session, shop_id: int, customer: CustomerRef) -> dict[str, Any]:
    """Which stored deliveries from Shopify mention the customer (their content is Shopify's own copy of
    the order, exported by Shopify itself), and the earlier data requests about them."""
    earlier = session.execute(
        select(ComplianceRequest).where(
            ComplianceRequest.shop_id == shop_id,
            ComplianceRequest.topic == "customers/data_request",
            ComplianceRequest.shopify_customer_id == customer.shopify_customer_id,
        )
    ).scalars()
    return {
        "webhook_deliveries": [
            {"topic": event.topic, "received_at": event.received_at.isoformat() if event.received_at else None}
            for event in _events_concerning(session, shop_id, customer)
        ],
        "earlier_data_requests": [
            {"requested_at": r.created_at.isoformat() if r.created_at else None, "status": r.status} for r in earlier
        ],
    }


WEBHOOK_PAYLOADS_PRIVACY = PrivacyEntry(
    "webhook_payloads",
    erase=erase_webhook_payloads,
    export=export_webhook_payloads,
    tables=(WebhookEvent.__tablename__, ComplianceRequest.__tablename__),
)


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
