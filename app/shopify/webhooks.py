"""POST /webhooks: verify, store durably, acknowledge; processing happens in a job (DESIGN.md §2)."""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.orders.services import PayloadError, parse_timestamp
from app.shopify.inbox import Delivery, StorageUnavailable, enqueue_new_event, store_delivery
from app.shopify.shops import InvalidShopDomain, normalize_shop_domain
from app.shopify.signatures import verify_webhook_hmac
from app.shopify.topics import ALL_HANDLERS

log = logging.getLogger(__name__)

webhooks_bp = Blueprint("webhooks", __name__)

REQUIRED_HEADERS = (
    "X-Shopify-Topic",
    "X-Shopify-Shop-Domain",
    "X-Shopify-Webhook-Id",
    "X-Shopify-API-Version",
)
_KNOWN_TOPICS = set(ALL_HANDLERS)


def _error(status: int, message: str, **extra):
    return jsonify(error=message, **extra), status


@webhooks_bp.post("/webhooks")
@webhooks_bp.post("/webhooks/<path:path_topic>")
def receive(path_topic: str | None = None):
    settings = current_app.config["SETTINGS"]
    # The raw bytes, before any parsing: the HMAC is over exactly what Shopify sent.
    body = request.get_data(cache=False)
    if not verify_webhook_hmac(
        body,
        request.headers.get("X-Shopify-Hmac-Sha256"),
        (settings.shopify_api_secret, settings.shopify_api_secret_previous),
    ):
        return _error(401, "invalid webhook signature")

    headers = request.headers
    if path_topic and not headers.get("X-Shopify-Topic") and path_topic in _KNOWN_TOPICS:
        topic = path_topic
    else:
        topic = headers.get("X-Shopify-Topic", "")
    missing = [name for name in REQUIRED_HEADERS if not (topic if name == "X-Shopify-Topic" else headers.get(name))]
    if missing:
        return _error(400, "missing required headers: " + ", ".join(missing), missing=missing)
    try:
        shop_domain = normalize_shop_domain(headers["X-Shopify-Shop-Domain"])
    except InvalidShopDomain:
        return _error(400, "X-Shopify-Shop-Domain is not a myshopify.com domain")
    try:
        triggered_at = parse_timestamp(headers.get("X-Shopify-Triggered-At"))
    except PayloadError:
        triggered_at = None

    delivery = Delivery(
        shop_domain=shop_domain,
        topic=topic.strip().lower(),
        webhook_id=headers["X-Shopify-Webhook-Id"].strip()[:255],
        api_version=headers["X-Shopify-API-Version"].strip()[:20],
        event_id=(headers.get("X-Shopify-Event-Id") or "").strip()[:255] or None,
        triggered_at=triggered_at,
        body=body,
    )
    try:
        result = store_delivery(db.session, delivery, _KNOWN_TOPICS)
    except (SQLAlchemyError, StorageUnavailable):
        db.session.rollback()
        log.exception("webhook %s not stored: database unavailable", delivery.webhook_id)
        # Not stored, so not acknowledged: Shopify retries (8 times over 4 hours).
        return _error(503, "temporarily unable to store the webhook; retry later")

    if result.duplicate:
        return jsonify(status="duplicate"), 200
    if result.parse_error:
        log.warning("webhook %s kept as failed: %s", delivery.webhook_id, result.parse_error)
        return jsonify(status="failed", reason=result.parse_error), 200
    try:
        enqueue_new_event(result.event_id)
    except redis.RedisError:
        # The row is the outbox: requeue_stranded_webhook_events enqueues it once Redis is back.
        log.warning("redis unavailable; webhook event %s left for the sweeper", result.event_id)
        return jsonify(status="stored"), 200
    return jsonify(status="queued"), 200
