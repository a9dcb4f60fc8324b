"""POST /webhooks: verify, store durably, acknowledge; processing happens in a job (DESIGN.md §2).

This is the app's hottest route (Shopify bursts thousands of deliveries), so it is served by a small
WSGI layer in front of Flask: an app context (settings, database session) but no request context,
cookie session, URL map or response object. Everything else falls through to Flask untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import redis
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_input_stream

from app.config import Settings
from app.extensions import db
from app.orders.services import PayloadError, parse_timestamp
from app.registry import registry
from app.shopify.inbox import Delivery, StorageUnavailable, enqueue_new_event, store_delivery
from app.shopify.shops import InvalidShopDomain, normalize_shop_domain
from app.shopify.signatures import verify_webhook_hmac

log = logging.getLogger(__name__)

REQUIRED_HEADERS = (
    "X-Shopify-Topic",
    "X-Shopify-Shop-Domain",
    "X-Shopify-Webhook-Id",
    "X-Shopify-API-Version",
)
_PREFIX = "/webhooks"


@dataclass(frozen=True)
class Ack:
    """What we answer Shopify: an HTTP status and a small JSON body."""

    status: int
    body: dict[str, Any]


def _error(status: int, message: str, **extra: Any) -> Ack:
    return Ack(status, {"error": message, **extra})


def accept_webhook(settings: Settings, headers: Mapping[str, str], body: bytes, path_topic: str | None) -> Ack:
    """Verify one delivery, store it, queue its processing, and say what to answer (needs an app context)."""
    # The raw bytes, before any parsing: the HMAC is over exactly what Shopify sent.
    if not verify_webhook_hmac(
        body,
        headers.get("X-Shopify-Hmac-Sha256"),
        (settings.shopify_api_secret, settings.shopify_api_secret_previous),
    ):
        return _error(401, "invalid webhook signature")

    known_topics = registry().all_handlers
    if path_topic and not headers.get("X-Shopify-Topic") and path_topic in known_topics:
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
        result = store_delivery(db.session, delivery, known_topics)
    except (SQLAlchemyError, StorageUnavailable):
        db.session.rollback()
        log.exception("webhook %s not stored: database unavailable", delivery.webhook_id)
        # Not stored, so not acknowledged: Shopify retries (8 times over 4 hours).
        return _error(503, "temporarily unable to store the webhook; retry later")

    if result.duplicate:
        return Ack(200, {"status": "duplicate"})
    if result.parse_error:
        log.warning("webhook %s kept as failed: %s", delivery.webhook_id, result.parse_error)
        return Ack(200, {"status": "failed", "reason": result.parse_error})
    try:
        enqueue_new_event(result.event_id)
    except redis.RedisError:
        # The row is the outbox: requeue_stranded_webhook_events enqueues it once Redis is back.
        log.warning("redis unavailable; webhook event %s left for the sweeper", result.event_id)
        return Ack(200, {"status": "stored"})
    return Ack(200, {"status": "queued"})


StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class WebhookIntake:
    """WSGI layer serving `/webhooks` and `/webhooks/<topic>`; any other path goes to the wrapped app."""

    def __init__(self, flask_app: Flask, wrapped: WSGIApp):
        self.flask_app = flask_app
        self.wrapped = wrapped

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or ""
        if path != _PREFIX and not path.startswith(_PREFIX + "/"):
            return self.wrapped(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return _respond(start_response, _error(405, "use POST"), [("Allow", "POST")])
        path_topic = path[len(_PREFIX) + 1 :] or None
        try:
            body = get_input_stream(environ, max_content_length=self.flask_app.config["MAX_CONTENT_LENGTH"]).read()
        except RequestEntityTooLarge:
            return _respond(start_response, _error(413, "payload too large"))
        with self.flask_app.app_context():
            try:
                ack = accept_webhook(self.flask_app.config["SETTINGS"], EnvironHeaders(environ), body, path_topic)
            except Exception:
                log.exception("webhook intake failed")
                ack = _error(500, "internal error; retry later")
        return _respond(start_response, ack)


def _respond(start_response: StartResponse, ack: Ack, extra_headers: list[tuple[str, str]] = ()) -> list[bytes]:
    payload = orjson.dumps(ack.body)
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), *extra_headers]
    start_response(f"{ack.status} {HTTP_STATUS_CODES.get(ack.status, 'Unknown')}", headers)
    return [payload]
