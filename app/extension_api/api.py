"""The JSON the extensions call: `/ext/customer-account/...` (order status page) and `/ext/checkout/...`
(thank-you page). The order comes from the request, and is answered only if the token's shop and customer
own it (`order_for_caller`); anything else is 404, with nothing about whether it exists."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request

from app.extension_api.auth import CHECKOUT, CUSTOMER_ACCOUNT, error, extension_blueprint
from app.extension_api.services import (
    AnswerRefused,
    order_for_caller,
    order_status_view,
    parse_gid,
    record_thank_you_answer,
    thank_you_view,
)
from app.extensions import db
from app.i18n import negotiate_locale, t, zone
from app.notifications.preferences import request_sms_updates
from app.orders.models import Order

order_status_bp = extension_blueprint("ext_order_status", __name__, CUSTOMER_ACCOUNT)
thank_you_bp = extension_blueprint("ext_thank_you", __name__, CHECKOUT)


def _locale(payload: dict[str, Any] | None = None) -> str:
    return negotiate_locale((payload or {}).get("locale") or request.args.get("locale"), request.accept_languages.best)


def _body() -> dict[str, Any] | Response:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return error(400, "invalid", "expected a JSON object")
    return payload


def _order(value: Any, email: Any = None) -> Order | Response:
    shopify_order_id = parse_gid("order", value)
    if shopify_order_id is None:
        return error(400, "invalid", "order must be gid://shopify/Order/<id>")
    order = order_for_caller(db.session, g.caller, shopify_order_id, email if isinstance(email, str) else None)
    if order is None:
        return error(404, "not_found")
    return order


def _sms(order: Order, payload: dict[str, Any], locale: str) -> Response:
    if payload.get("consent") is not True:
        return error(400, "consent_required", t(locale, "ext.sms.consent_required"))
    if not request_sms_updates(g.shop.id, order, str(payload.get("phone") or "")[:40], locale):
        return error(400, "invalid_phone", t(locale, "track.sms_invalid"))
    # Nothing is consented yet: the number's owner replies YES to the text just sent.
    return jsonify(status="confirmation_sent", message=t(locale, "track.sms_confirm_sent"))


@order_status_bp.get("/order")
def order_status():
    """?order=<Order GID>[&fulfillment=<Fulfillment GID>]&locale=: the block, or one fulfilment card's slot."""
    if g.caller.customer_id is None:  # customer accounts are always signed in; a token without `sub` is not ours
        return error(401, "unauthorized", "no customer")
    order = _order(request.args.get("order"))
    if isinstance(order, Response):
        return order
    fulfillment_id = None
    if request.args.get("fulfillment") is not None:
        fulfillment_id = parse_gid("fulfillment", request.args.get("fulfillment"))
        if fulfillment_id is None:
            return error(400, "invalid", "fulfillment must be gid://shopify/Fulfillment/<id>")
    view = order_status_view(
        db.session,
        g.shop,
        order,
        _locale(),
        zone(None, fallback=g.shop.iana_timezone or "UTC"),
        current_app.config["SETTINGS"].shopify_app_url,
        fulfillment_id,
    )
    if view is None:
        return error(404, "not_found")
    return jsonify(view)


@order_status_bp.post("/sms")
def order_status_sms():
    """{"order", "phone", "consent": true, "locale"}: text updates, once the number's owner says YES."""
    payload = _body()
    if isinstance(payload, Response):
        return payload
    if g.caller.customer_id is None:
        return error(401, "unauthorized", "no customer")
    order = _order(payload.get("order"))
    if isinstance(order, Response):
        return order
    return _sms(order, payload, _locale(payload))


@thank_you_bp.post("/thank-you")
def thank_you():
    """{"order", "email" (a guest's), "locale"}: what the thank-you block shows."""
    payload = _body()
    if isinstance(payload, Response):
        return payload
    order = _order(payload.get("order"), payload.get("email"))
    if isinstance(order, Response):
        return order
    return jsonify(thank_you_view(db.session, g.shop, order, _locale(payload)))


@thank_you_bp.post("/answer")
def thank_you_answer():
    """{"order", "email", "answer", "locale"}: the order's answer to the shop's question, kept once."""
    payload = _body()
    if isinstance(payload, Response):
        return payload
    order = _order(payload.get("order"), payload.get("email"))
    if isinstance(order, Response):
        return order
    locale = _locale(payload)
    try:
        kept = record_thank_you_answer(db.session, g.shop.id, order, payload.get("answer"), locale)
    except AnswerRefused as refused:
        return error(400, "invalid_answer", t(locale, str(refused)))
    return jsonify(status="saved" if kept else "already_answered", message=t(locale, "ext.answer.thanks"))


@thank_you_bp.post("/sms")
def thank_you_sms():
    """{"order", "email", "phone", "consent": true, "locale"}: the thank-you page's sign-up for texts."""
    payload = _body()
    if isinstance(payload, Response):
        return payload
    order = _order(payload.get("order"), payload.get("email"))
    if isinstance(order, Response):
        return order
    return _sms(order, payload, _locale(payload))
