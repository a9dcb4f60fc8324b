"""From domain events to events owed to the merchant's tools, and delivering them: once each, retried with
backoff through outages, a destination switched off (and the merchant alerted) after repeated failures."""

from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

import httpx
from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.db import insert_unless_present, upsert_newer, utcnow
from app.events import DomainEvent, record_event
from app.extensions import db
from app.integrations.catalogue import (
    CATALOGUE_VERSION,
    EVENT_NAMES,
    FLOW_HANDLES,
    CatalogueEvent,
    catalogue_event,
    flow_handle,
)
from app.integrations.models import DESTINATIONS, FlowTriggerUse, IntegrationSettings, OutgoingEvent
from app.jobs import enqueue, enqueue_after_commit, job_id, with_app_context
from app.orders.models import Fulfillment, Order
from app.outbound import OutboundFailure, post_signed_json
from app.shopify.graphql import AdminClient, AuthFailed, GraphQLError, Throttled, TransientError, UserErrors
from app.shopify.models import Shop
from app.shopify.tokens import decrypt_token, encrypt_token
from app.validation import web_url

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=2),
)
DISABLE_AFTER = 5  # events in a row that could not be delivered to a destination
KLAVIYO_ORIGIN = "https://a.klaviyo.com"
KLAVIYO_REVISION = "2026-10-15"
EVENT_ID_HEADER = "X-Aftercart-Event-Id"
DISABLED_EVENT = "integrations.destination_disabled"
# Shopify Flow refuses a trigger payload over 50 KB; we check before sending rather than spend a call on it.
FLOW_PAYLOAD_LIMIT = 50_000
FLOW_TRIGGER_RECEIVE = """
mutation AftercartFlowTrigger($handle: String, $payload: JSON) {
  flowTriggerReceive(handle: $handle, payload: $payload) { userErrors { field message } }
}
"""


def integration_settings(session: Session, shop_id: int) -> IntegrationSettings | None:
    return session.execute(
        select(IntegrationSettings).where(IntegrationSettings.shop_id == shop_id)
    ).scalar_one_or_none()


def active_destinations(settings: IntegrationSettings | None) -> list[str]:
    """The destinations set up and not switched off."""
    if settings is None:
        return []
    disabled = settings.disabled or {}
    found = []
    if settings.webhook_url and settings.webhook_secret_encrypted and "webhook" not in disabled:
        found.append("webhook")
    if settings.klaviyo_key_encrypted and "klaviyo" not in disabled:
        found.append("klaviyo")
    return found


def wants(settings: IntegrationSettings, name: str) -> bool:
    return settings.events is None or name in settings.events


def new_webhook_secret(settings: IntegrationSettings) -> str:
    secret = "whsec_" + secrets.token_urlsafe(32)
    settings.webhook_secret_encrypted = encrypt_token(secret)
    return secret


def webhook_secret(settings: IntegrationSettings) -> str | None:
    return decrypt_token(settings.webhook_secret_encrypted) if settings.webhook_secret_encrypted else None


def set_klaviyo_key(settings: IntegrationSettings, key: str | None) -> None:
    settings.klaviyo_key_encrypted = encrypt_token(key) if key else None
    settings.klaviyo_key_hint = key[-4:] if key else None


def turn_back_on(settings: IntegrationSettings, destination: str) -> None:
    settings.disabled = {k: v for k, v in (settings.disabled or {}).items() if k != destination} or None
    settings.failures = {k: v for k, v in (settings.failures or {}).items() if k != destination} or None


def build_payload(session: Session, event: DomainEvent, entry: CatalogueEvent) -> tuple[dict[str, Any], str | None]:
    """(the documented payload, the shopper's email) for a domain event (docs/events.md)."""
    shop = session.get(Shop, event.shop_id)
    order = None
    if event.shopify_order_id is not None:
        order = session.execute(
            select(Order).where(Order.shop_id == event.shop_id, Order.shopify_order_id == event.shopify_order_id)
        ).scalar_one_or_none()
    data = event.data or {}
    payload: dict[str, Any] = {
        "id": event.dedupe_key,
        "event": entry.name,
        "version": CATALOGUE_VERSION,
        "occurred_at": (event.happened_at or event.occurred_at).isoformat(),
        "shop": shop.domain if shop else None,
        "order": None,
        "shipment": None,
        "data": {key: data[key] for key in entry.data_keys if key in data},
    }
    if order is not None:
        payload["order"] = {
            "id": order.shopify_order_id,
            "name": order.name,
            "email": order.email,
            "customer_id": order.shopify_customer_id,
            "locale": order.customer_locale,
            "status": order.status,
        }
    if event.shopify_fulfillment_id is not None:
        parcel = session.execute(
            select(Fulfillment).where(
                Fulfillment.shop_id == event.shop_id,
                Fulfillment.shopify_fulfillment_id == event.shopify_fulfillment_id,
            )
        ).scalar_one_or_none()
        if parcel is not None:
            payload["shipment"] = {
                "id": parcel.shopify_fulfillment_id,
                "carrier": parcel.carrier_name or parcel.tracking_company,
                "tracking_number": (parcel.tracking_numbers or [None])[0],
                "tracking_url": web_url((parcel.tracking_urls or [None])[0]),
                "status": parcel.shipment_state,
                "estimate_from": parcel.estimate_from.isoformat() if parcel.estimate_from else None,
                "estimate_to": parcel.estimate_to.isoformat() if parcel.estimate_to else None,
            }
    return payload, (order.email if order is not None else data.get("email"))


def plan_outgoing_events(event: DomainEvent) -> None:
    """Event subscriber: one row per destination for an event in the catalogue the shop wants (idempotent)."""
    if event.kind == DISABLED_EVENT:
        return
    entry = catalogue_event(event.kind, event.data)
    if entry is None:
        return
    session = db.session
    settings = integration_settings(session, event.shop_id)
    if settings is None:
        return
    destinations = active_destinations(settings) if wants(settings, entry.name) else []
    # Flow: the merchant's workflows choose the events, so only whether one uses this trigger counts.
    if "shopify_flow" not in (settings.disabled or {}) and flow_trigger_in_use(
        session, event.shop_id, flow_handle(entry.name)
    ):
        destinations.append("shopify_flow")
    if not destinations:
        return
    payload, email = build_payload(session, event, entry)
    for destination in destinations:
        row_id = insert_unless_present(
            session,
            OutgoingEvent.__table__,
            {
                "shop_id": event.shop_id,
                "destination": destination,
                "event": entry.name,
                "dedupe_key": event.dedupe_key[:255],
                "shopify_order_id": event.shopify_order_id,
                "email": email,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "created_at": utcnow(),
            },
            ["shop_id", "destination", "dedupe_key"],
        )
        if row_id is not None:
            enqueue_after_commit(
                session,
                deliver_outgoing_event,
                row_id,
                queue="notifications",
                job_id=job_id("outgoing", row_id, 0),
                unique=True,
            )


def _klaviyo_body(row: OutgoingEvent, entry_metric: str) -> dict[str, Any]:
    properties = {k: v for k, v in row.payload.items() if k not in ("id",)}
    return {
        "data": {
            "type": "event",
            "attributes": {
                "properties": properties,
                "time": row.payload.get("occurred_at"),
                "unique_id": row.dedupe_key,
                "metric": {"data": {"type": "metric", "attributes": {"name": entry_metric}}},
                "profile": {"data": {"type": "profile", "attributes": {"email": row.email}}},
            },
        }
    }


def _send_to_klaviyo(settings: IntegrationSettings, row: OutgoingEvent) -> None:
    from app.integrations.catalogue import CATALOGUE

    if not row.email:
        raise OutboundFailure("no email address for Klaviyo's profile", permanent=True)
    metric = next((e.metric for e in CATALOGUE if e.name == row.event), "Aftercart " + row.event)
    origin = current_app.config["SETTINGS"].extra.get("KLAVIYO_API_ORIGIN") or KLAVIYO_ORIGIN
    headers = {
        "Authorization": f"Klaviyo-API-Key {decrypt_token(settings.klaviyo_key_encrypted or b'')}",
        "revision": KLAVIYO_REVISION,
        "Accept": "application/vnd.api+json",
        "Content-Type": "application/vnd.api+json",
        "User-Agent": "Aftercart-Events/1",
    }
    try:
        response = httpx.post(f"{origin}/api/events", json=_klaviyo_body(row, metric), headers=headers, timeout=5.0)
    except httpx.HTTPError as exc:
        raise OutboundFailure(f"Klaviyo unreachable: {type(exc).__name__}", permanent=False) from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise OutboundFailure(f"Klaviyo answered {response.status_code}", permanent=False)
    if response.status_code >= 300:
        detail = ""
        try:
            detail = (response.json().get("errors") or [{}])[0].get("detail") or ""
        except ValueError:
            pass
        raise OutboundFailure(f"Klaviyo answered {response.status_code} {detail}".strip()[:255], permanent=True)


def flow_trigger_in_use(session: Session, shop_id: int, handle: str) -> bool:
    return bool(
        session.execute(
            select(FlowTriggerUse.has_enabled_flow).where(
                FlowTriggerUse.shop_id == shop_id, FlowTriggerUse.handle == handle
            )
        ).scalar()
    )


def _destination_live(session: Session, settings: IntegrationSettings | None, row: OutgoingEvent) -> bool:
    if settings is None:
        return False
    if row.destination == "shopify_flow":
        return "shopify_flow" not in (settings.disabled or {}) and flow_trigger_in_use(
            session, row.shop_id, flow_handle(row.event)
        )
    return row.destination in active_destinations(settings)


def flow_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The trigger's payload in the shape its extension declares (extensions/<handle>/shopify.extension.toml):
    `order_id` for the order reference, then one text field per key, named as the TOML names them."""
    order = payload.get("order") or {}
    shipment = payload.get("shipment") or {}
    body: dict[str, Any] = {
        "Event id": str(payload.get("id") or ""),
        "Event": str(payload.get("event") or ""),
        "Catalogue version": str(payload.get("version") or ""),
        "Occurred at": str(payload.get("occurred_at") or ""),
        "Shipment status": str(shipment.get("status") or ""),
        "Tracking number": str(shipment.get("tracking_number") or ""),
        "Carrier": str(shipment.get("carrier") or ""),
        "Details": json.dumps(payload.get("data") or {}, ensure_ascii=False, sort_keys=True),
    }
    if order.get("id") is not None:
        body["order_id"] = order["id"]
    return body


def _send_to_flow(row: OutgoingEvent) -> None:
    body = flow_payload(row.payload)
    size = len(json.dumps(body, ensure_ascii=False).encode())
    if size > FLOW_PAYLOAD_LIMIT:
        raise OutboundFailure(f"the payload is {size} bytes, over Flow's {FLOW_PAYLOAD_LIMIT}", permanent=True)
    try:
        with AdminClient(row.shop_id) as client:
            client.mutate(
                FLOW_TRIGGER_RECEIVE, {"handle": flow_handle(row.event), "payload": body}, "flowTriggerReceive"
            )
    except UserErrors as exc:
        raise OutboundFailure(f"Flow refused it: {exc}"[:255], permanent=True) from exc
    except (Throttled, TransientError, AuthFailed) as exc:
        raise OutboundFailure(f"Shopify: {exc}"[:255], permanent=False) from exc
    except GraphQLError as exc:
        raise OutboundFailure(f"Shopify: {exc}"[:255], permanent=True) from exc


def record_flow_lifecycle(
    session: Session, shop_id: int, handle: str, has_enabled_flow: bool, told_at: datetime
) -> bool:
    """Keep what Flow's lifecycle callback says of one trigger in one shop; a callback older than the one kept
    changes nothing (Flow says the newest timestamp wins). Both writes are single upserts, so two callbacks at
    once never collide. Returns whether it changed anything. Does not commit."""
    insert_unless_present(session, IntegrationSettings.__table__, {"shop_id": shop_id}, ["shop_id"])
    return upsert_newer(
        session,
        FlowTriggerUse.__table__,
        {
            "shop_id": shop_id,
            "handle": handle,
            "has_enabled_flow": has_enabled_flow,
            "told_at": told_at,
            "received_at": utcnow(),
        },
        ["shop_id", "handle"],
        "told_at",
    )


def _send(settings: IntegrationSettings, row: OutgoingEvent) -> None:
    if row.destination == "shopify_flow":
        _send_to_flow(row)
    elif row.destination == "webhook":
        post_signed_json(
            settings.webhook_url,
            webhook_secret(settings),
            row.payload,
            user_agent="Aftercart-Events/1",
            allow_private=current_app.config["SETTINGS"].extra.get("INTEGRATIONS_ALLOW_PRIVATE") == "1",
            headers={EVENT_ID_HEADER: row.dedupe_key},
        )
    else:
        _send_to_klaviyo(settings, row)


def _gave_up(session: Session, settings: IntegrationSettings, row: OutgoingEvent, reason: str) -> None:
    row.status = "failed"
    row.last_error = reason[:255]
    failures = dict(settings.failures or {})
    failures[row.destination] = failures.get(row.destination, 0) + 1
    settings.failures = failures
    if failures[row.destination] >= DISABLE_AFTER and row.destination not in (settings.disabled or {}):
        now = utcnow()
        settings.disabled = {**(settings.disabled or {}), row.destination: {"at": now.isoformat(), "reason": reason}}
        record_event(
            session,
            settings.shop_id,
            DISABLED_EVENT,
            f"integrations:{row.destination}:disabled:{now.isoformat()}",
            data={"destination": row.destination, "reason": reason[:200]},
        )


@with_app_context
def deliver_outgoing_event(row_id: int) -> str:
    """Job: send one event to its destination. At most once per success (the row is locked and marked); a
    receiver sees the same event id on a retry after a crash, and Klaviyo drops a repeated `unique_id`."""
    session = db.session
    row = session.execute(
        select(OutgoingEvent).where(OutgoingEvent.id == row_id).with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if row is None or row.status != "pending":
        session.rollback()
        return "nothing to do"
    settings = integration_settings(session, row.shop_id)
    if not _destination_live(session, settings, row):
        row.status = "skipped"
        row.last_error = "the destination was switched off or removed"
        session.commit()
        return "skipped"
    assert settings is not None
    row.attempts += 1
    try:
        _send(settings, row)
    except OutboundFailure as failure:
        if failure.permanent or row.attempts >= MAX_ATTEMPTS:
            _gave_up(session, settings, row, failure.reason)
            session.commit()
            return "failed"
        row.last_error = failure.reason[:255]
        wait = BACKOFF[min(row.attempts - 1, len(BACKOFF) - 1)]
        row.next_attempt_at = utcnow() + wait
        attempt = row.attempts
        session.commit()
        enqueue(
            deliver_outgoing_event,
            row_id,
            queue="notifications",
            job_id=job_id("outgoing", row_id, attempt),
            delay=wait,
            unique=True,
            retry=None,
        )
        return "retry"
    row.status = "delivered"
    row.delivered_at = utcnow()
    row.last_error = None
    if (settings.failures or {}).get(row.destination):
        settings.failures = {k: v for k, v in (settings.failures or {}).items() if k != row.destination} or None
    session.commit()
    return "delivered"


@with_app_context
def requeue_pending_outgoing_events(now: datetime | None = None) -> int:
    """Periodic: events whose job was lost (Redis down at commit, a killed worker) are sent again."""
    now = now or utcnow()
    stale = now - timedelta(minutes=2)
    rows = db.session.execute(
        select(OutgoingEvent.id, OutgoingEvent.attempts)
        .where(
            OutgoingEvent.status == "pending",
            or_(
                OutgoingEvent.next_attempt_at < stale,
                (OutgoingEvent.next_attempt_at.is_(None)) & (OutgoingEvent.created_at < stale),
            ),
        )
        .limit(1000)
    ).all()
    db.session.rollback()
    for row_id, attempts in rows:
        enqueue(
            deliver_outgoing_event,
            row_id,
            queue="notifications",
            job_id=job_id("outgoing", row_id, attempts),
            unique=True,
            retry=None,
        )
    return len(rows)


def send_test_event(settings: IntegrationSettings, destination: str, shop: Shop) -> str | None:
    """A sample event to one destination now; None when it went through, else the one-line reason."""
    row = OutgoingEvent(
        shop_id=settings.shop_id,
        destination=destination,
        event="shipment.delivered",
        dedupe_key=f"test:{secrets.token_hex(8)}",
        email=None,
        payload={
            "id": "test",
            "event": "shipment.delivered",
            "version": CATALOGUE_VERSION,
            "occurred_at": utcnow().isoformat(),
            "shop": shop.domain,
            "test": True,
            "order": {"id": 1, "name": "#1001", "email": "test@example.com", "customer_id": None, "locale": "en"},
            "shipment": None,
            "data": {},
        },
    )
    row.email = "test@example.com"
    try:
        _send(settings, row)
    except OutboundFailure as failure:
        return failure.reason
    return None


__all__ = ["DESTINATIONS", "EVENT_NAMES", "FLOW_HANDLES"]
