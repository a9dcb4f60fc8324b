"""GET /helpdesk/v1/customer?email=… or ?order=…: what a help desk shows beside a ticket. Authenticated by the
shop's help-desk token (`Authorization: Bearer achd_…`), rate-limited per token, never another shop's data."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

from app.extensions import db
from app.helpdesk.services import customer_summary, shop_for_token
from app.i18n import negotiate_locale

log = logging.getLogger(__name__)

helpdesk_bp = Blueprint("helpdesk", __name__, url_prefix="/helpdesk")

PER_MINUTE = RateLimitItemPerMinute(120, namespace="AC-HELPDESK")
FALLBACK_PER_MINUTE = RateLimitItemPerMinute(30, namespace="AC-HELPDESK")  # per process, while Redis is down
_EXTENSION_KEY = "aftercart.helpdesk_limits"


def _limiters() -> tuple[MovingWindowRateLimiter, MovingWindowRateLimiter]:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(_EXTENSION_KEY)
    if found is None:
        url = app.config["SETTINGS"].redis_url
        primary = RedisStorage(url, wrap_exceptions=True, socket_timeout=0.5) if url else MemoryStorage()
        found = app.extensions[_EXTENSION_KEY] = (
            MovingWindowRateLimiter(primary),
            MovingWindowRateLimiter(MemoryStorage()),
        )
    return found


def _admit(shop_id: int) -> bool:
    primary, fallback = _limiters()
    try:
        return primary.hit(PER_MINUTE, str(shop_id))
    except Exception:  # Redis down: this process's stricter limit, never none
        log.warning("help-desk limits: Redis unreachable, using this process's strict limit")
        return fallback.hit(FALLBACK_PER_MINUTE, str(shop_id))


def _token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip()
    return request.headers.get("X-Aftercart-Token")


@helpdesk_bp.get("/v1/customer")
def customer():
    shop = shop_for_token(db.session, _token())
    if shop is None:
        return jsonify(error="unauthorized", message="a valid help-desk token is required"), 401
    if not _admit(shop.id):
        response = jsonify(error="rate_limited", message="too many lookups; try again in a minute")
        response.status_code = 429
        response.headers["Retry-After"] = "60"
        return response
    email = (request.args.get("email") or "").strip()[:320]
    order_ref = (request.args.get("order") or "").strip()[:64]
    if not (email or order_ref) or any(not ch.isprintable() for ch in email + order_ref):
        return jsonify(error="bad_request", message="give ?email= or ?order= (printable text)"), 400
    locale = negotiate_locale(request.args.get("locale"))
    body = customer_summary(db.session, shop, email or None, order_ref or None, locale)
    db.session.commit()  # the token's last use
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
