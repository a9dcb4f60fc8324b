"""Shopify Flow's trigger lifecycle callback (POST /flow/lifecycle): Flow tells us when a shop starts or stops
using one of our triggers in an enabled workflow, so events are sent to Flow only for the triggers in use.

Signed like a webhook (HMAC-SHA256 of the raw body with the app's client secret, base64, in
`X-Shopify-Hmac-Sha256`): a forged or missing signature is 401 and nothing is kept. Flow will not let the merchant
turn the workflow on unless we answer 2xx, so a genuine callback is answered at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request

from app.extensions import db
from app.integrations.catalogue import FLOW_HANDLES
from app.integrations.services import record_flow_lifecycle
from app.shopify.shops import get_shop, is_valid_shop_domain, normalize_shop_domain
from app.shopify.signatures import verify_webhook_hmac

flow_lifecycle_bp = Blueprint("flow_lifecycle", __name__, url_prefix="/flow")


def _problem(status: int, reason: str):
    return jsonify(error=reason), status


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@flow_lifecycle_bp.post("/lifecycle")
def lifecycle_callback():
    raw = request.get_data(cache=False)
    settings = current_app.config["SETTINGS"]
    secrets = (settings.shopify_api_secret, settings.shopify_api_secret_previous)
    if not verify_webhook_hmac(raw, request.headers.get("X-Shopify-Hmac-Sha256"), secrets):
        return _problem(401, "invalid signature")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _problem(400, "the body is not JSON")
    if not isinstance(body, dict):
        return _problem(400, "the body is not a JSON object")
    # Flow names the trigger by its definition id (the extension's handle); `handle` is accepted too.
    handle = body.get("flow_trigger_definition_id") or body.get("handle")
    domain = body.get("shopify_domain")
    enabled = body.get("has_enabled_flow")
    told_at = _timestamp(body.get("timestamp"))
    missing = [
        name
        for name, ok in (
            ("flow_trigger_definition_id", isinstance(handle, str)),
            ("shopify_domain", isinstance(domain, str) and is_valid_shop_domain(domain)),
            ("has_enabled_flow", isinstance(enabled, bool)),
            ("timestamp", told_at is not None),
        )
        if not ok
    ]
    if missing:
        return _problem(400, "missing or malformed: " + ", ".join(missing))
    if handle not in FLOW_HANDLES:
        return _problem(422, "not one of this app's triggers")
    shop = get_shop(db.session, normalize_shop_domain(domain))
    if shop is None or not shop.is_installed:
        return _problem(404, "no such shop has the app installed")
    changed = record_flow_lifecycle(db.session, shop.id, handle, enabled, told_at)
    db.session.commit()
    return jsonify(recorded=True, changed=changed, handle=handle, has_enabled_flow=enabled)
