"""The shopper's audience: pages and JSON under /proxy (Shopify's app proxy), plus signed public links.

Every /proxy request is verified with the app-proxy signature (Shopify's `shopifyapp` package:
sorted params, hex HMAC, 90 s window) before `shop` or `logged_in_customer_id` is trusted; then the
shopper proves the order with its number plus email or phone, or a signed link token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from flask import Blueprint, Response, abort, current_app, g, jsonify, request
from markupsafe import Markup, escape

from app.extensions import db
from app.i18n import negotiate_locale, t, zone
from app.orders.models import Order
from app.shopify.auth import request_input, shopify_app
from app.shopify.shops import InvalidShopDomain, get_shop, normalize_shop_domain
from app.storefront import ratelimit
from app.storefront.links import make_track_token, read_track_token
from app.tracking.branding import tokens_for
from app.tracking.queries import find_order_by_id, find_order_for_shopper, tracking_view
from app.tracking.services import tracking_settings

storefront_bp = Blueprint("storefront", __name__, url_prefix="/proxy")
links_bp = Blueprint("links", __name__, url_prefix="/l")

WINDOW = 60
_SINGLE_VALUE_PARAMS = ("shop", "signature", "timestamp", "logged_in_customer_id", "path_prefix")


@storefront_bp.before_request
def verify_app_proxy_signature() -> Response | None:
    raw = parse_qs(urlparse(request.url).query, keep_blank_values=True)
    if any(len(raw.get(name, [])) > 1 for name in _SINGLE_VALUE_PARAMS):
        return _proxy_error(401, "unauthorized")
    result = shopify_app().verify_app_proxy_req(request_input())
    if not result.ok:
        return _proxy_error(401, "unauthorized")
    try:
        domain = normalize_shop_domain(request.args.get("shop"))
    except InvalidShopDomain:
        return _proxy_error(401, "unauthorized")
    shop = get_shop(db.session, domain)
    if shop is None or shop.redacted_at is not None:
        return _proxy_error(404, "not_found")
    g.shop = shop
    g.logged_in_customer_id = result.logged_in_customer_id or None
    return None


def _proxy_error(status: int, code: str) -> Response:
    response = jsonify(error=code)
    response.status_code = status
    return response


def _client_key() -> str:
    forwarded = request.headers.get("X-Forwarded-For", "")
    return (forwarded.split(",")[0].strip() or request.remote_addr or "unknown")[:64]


def _locale() -> str:
    return negotiate_locale(request.args.get("locale"), request.accept_languages.best)


def _shopper_tz(shop_tz: str | None):
    return zone(request.args.get("tz"), fallback=shop_tz or "UTC")


class LookupFailure(Exception):
    def __init__(self, status: int, code: str):
        super().__init__(code)
        self.status, self.code = status, code


def _lookup(shop_id: int, token: str | None = None) -> Order | None:
    """Resolve the order the shopper asks for, or None when the request asks for nothing yet."""
    token = token or request.args.get("token")
    order_ref = request.args.get("order")
    if not token and not order_ref and not request.args.get("email") and not request.args.get("phone"):
        return None
    settings = current_app.config["SETTINGS"]
    # Per client, every attempt counts; per shop, only failures do, so an enumeration run from many
    # addresses is stopped without ever capping a busy shop's real shoppers.
    failures_key = f"{shop_id}:failed"
    if not ratelimit.hit_unless_over(
        f"{shop_id}:client:{_client_key()}",
        settings.lookups_per_client_per_minute,
        failures_key,
        settings.failed_lookups_per_shop_per_minute,
        WINDOW,
    ):
        raise LookupFailure(429, "rate_limited")
    try:
        return _resolve(shop_id, token, order_ref)
    except LookupFailure as failure:
        if failure.code == "not_found":
            ratelimit.hit(failures_key, settings.failed_lookups_per_shop_per_minute, WINDOW)
        raise


def _resolve(shop_id: int, token: str | None, order_ref: str | None) -> Order:
    if token:
        target = read_track_token(token)
        if target is None or target.shop_id != shop_id:
            raise LookupFailure(404, "not_found")
        order = find_order_by_id(db.session, shop_id, target.order_id)
    else:
        email, phone = request.args.get("email"), request.args.get("phone")
        if email and "@" not in email and not phone:
            email, phone = None, email  # the page's one field takes either
        if not order_ref or not (email or phone):
            raise LookupFailure(400, "invalid")
        if len(order_ref) > 40 or len(email or "") > 320 or len(phone or "") > 40:
            raise LookupFailure(400, "invalid")
        order = find_order_for_shopper(db.session, shop_id, order_ref, email, phone)
    if order is None:
        raise LookupFailure(404, "not_found")
    return order


_MESSAGE_KEYS = {
    "not_found": "track.not_found",
    "invalid": "track.invalid",
    "rate_limited": "track.rate_limited",
}


def _json_error(status: int, code: str, message_key: str) -> Response:
    response = jsonify(error=code, message=t(_locale(), message_key))
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@storefront_bp.get("/api/track")
def track_json():
    locale = _locale()
    try:
        order = _lookup(g.shop.id)
    except LookupFailure as failure:
        return _json_error(failure.status, failure.code, _MESSAGE_KEYS[failure.code])
    if order is None:
        return _json_error(400, "invalid", "track.invalid")
    view = tracking_view(db.session, order, locale, _shopper_tz(g.shop.iana_timezone))
    view["recommendations"] = _recommendation_cards(g.shop.id, order, locale, "tracking_widget")
    view["recommendations_title"] = t(locale, "track.recommendations")
    response = jsonify(view)
    response.headers["Cache-Control"] = "no-store"
    return response


def _recommendation_cards(shop_id: int, order: Order, locale: str, placement: str) -> list[dict[str, Any]]:
    from app.recommendations import recommend, storefront_cards

    return storefront_cards(recommend(shop_id, placement, order_id=order.id, locale=locale))


def neutralise_liquid(value: Any) -> Any:
    """Jinja finalize hook for pages Shopify renders as Liquid: no `{{`/`{%` can reach Liquid
    (official check APP_PROXY_LIQUID_INJECTION), so braces in any value become entities."""
    if value is None:
        return ""
    text = value if isinstance(value, Markup) else escape(value)
    return Markup(str(text).replace("{", "&#123;").replace("}", "&#125;"))


def _liquid_env():
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    env = app.extensions.get("aftercart_liquid_env")
    if env is None:
        env = app.jinja_env.overlay(finalize=neutralise_liquid)
        app.extensions["aftercart_liquid_env"] = env
    return env


def render_tracking_page(
    shop,
    *,
    standalone: bool,
    status_code: int = 200,
    liquid: bool = True,
    token: str | None = None,
    notice: str | None = None,
) -> Response:
    locale = _locale()
    settings = tracking_settings(db.session, shop.id)
    error = None
    view = None
    order = None
    try:
        order = _lookup(shop.id, token)
        if order is not None:
            view = tracking_view(db.session, order, locale, _shopper_tz(shop.iana_timezone))
            view["recommendations"] = _recommendation_cards(shop.id, order, locale, "tracking_page")
    except LookupFailure as failure:
        status_code = failure.status
        error = t(locale, _MESSAGE_KEYS[failure.code])
    context = {
        "t": lambda key, **values: t(locale, key, **values),
        "locale": locale,
        "shop": shop,
        "settings": settings,
        "tokens": tokens_for(settings),
        "custom_message": (settings.custom_message or {}).get(locale) or (settings.custom_message or {}).get("en"),
        "faq": [item for item in settings.faq or [] if item.get("locale", locale) == locale],
        "view": view,
        "error": error,
        "form": {
            "order": request.args.get("order", ""),
            "contact": request.args.get("email") or request.args.get("phone") or "",
        },
        "standalone": standalone,
        # Through the proxy the form goes back to the storefront's own path (the prefix merchants chose);
        # on a signed link's page the form is not shown (its token would win over what was typed).
        "form_action": (request.args.get("path_prefix", "") + "/track") if liquid else request.path,
        "subscribe_action": _subscribe_action(liquid, token),
        "line_url": _line_url(shop, view, order if view else None),
        "notice": notice,
    }
    env = _liquid_env() if liquid else current_app.jinja_env
    template = env.get_template("storefront/tracking/page.html")
    body = template.render(**context)
    if liquid:
        # Inside the shop's theme by default; `{% layout none %}` for the standalone variant.
        body = ("{% layout none %}\n" + body) if standalone else body
        mimetype = "application/liquid"
    else:
        mimetype = "text/html"
    response = Response(body, status=status_code, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"
    return response


def subscribe_to_sms(shop_id: int, order: Order, phone: str | None) -> bool:
    """The shopper asks for text updates about this order: consent for their number, at once."""
    from app.notifications.preferences import normalise_phone, record_opt_in

    if normalise_phone(phone) is None:
        return False
    record_opt_in(
        db.session,
        shop_id,
        "sms",
        phone or "",
        "tracking-page",
        updates=True,
        shopify_customer_id=order.shopify_customer_id,
        email=order.email,
    )
    if not order.phone:
        order.phone = normalise_phone(phone)
    db.session.commit()
    return True


@storefront_bp.post("/api/subscribe")
def subscribe_json():
    """POST (JSON {"phone": ...}) with the same lookup query as /api/track: text updates for the order."""
    try:
        order = _lookup(g.shop.id)
    except LookupFailure as failure:
        return _json_error(failure.status, failure.code, _MESSAGE_KEYS[failure.code])
    payload = request.get_json(silent=True) or {}
    if order is None or not subscribe_to_sms(g.shop.id, order, str(payload.get("phone") or "")):
        return _json_error(400, "invalid", "track.sms_invalid")
    return jsonify(status="subscribed", message=t(_locale(), "track.sms_done"))


@storefront_bp.post("/subscribe")
def subscribe_page():
    """The page's no-JavaScript form: subscribe, then show the order again with a confirmation."""
    try:
        order = _lookup(g.shop.id)
    except LookupFailure:
        order = None
    ok = order is not None and subscribe_to_sms(g.shop.id, order, request.form.get("phone"))
    notice_key = "track.sms_done" if ok else "track.sms_invalid"
    return render_tracking_page(
        g.shop,
        standalone=request.args.get("layout") == "standalone",
        status_code=200 if ok else 400,
        notice=t(_locale(), notice_key),
    )


def _subscribe_action(liquid: bool, token: str | None) -> str:
    """Where the "text me updates" form posts, carrying the lookup that found the order."""
    keep = {k: v for k, v in request.args.items() if k in ("order", "email", "phone", "token", "locale", "layout")}
    if token:
        keep["token"] = token
    base = (request.args.get("path_prefix", "") + "/subscribe") if liquid else "/l/subscribe"
    return base + ("?" + urlencode(keep) if keep else "")


def _line_url(shop, view, order) -> str | None:
    if order is None:
        return None
    from app.notifications.channels.line import line_connect_url, make_line_connect_code

    return line_connect_url(make_line_connect_code(shop.id, order.email, order.shopify_customer_id))


@storefront_bp.get("/track")
def track_page():
    return render_tracking_page(g.shop, standalone=request.args.get("layout") == "standalone")


@links_bp.post("/subscribe")
def link_subscribe():
    """The signed link's page form: the token in the query proves the order."""
    token = request.args.get("token", "")
    target = read_track_token(token)
    if target is None:
        abort(404)
    from app.shopify.models import Shop

    shop = db.session.get(Shop, target.shop_id)
    order = find_order_by_id(db.session, target.shop_id, target.order_id) if shop else None
    if shop is None or order is None:
        abort(404)
    ok = subscribe_to_sms(shop.id, order, request.form.get("phone"))
    notice = t(_locale(), "track.sms_done" if ok else "track.sms_invalid")
    return render_tracking_page(
        shop, standalone=True, liquid=False, token=token, notice=notice, status_code=200 if ok else 400
    )


@links_bp.get("/track/<token>")
def track_link(token: str):
    """The link notifications carry: opens the order's page directly, outside the theme."""
    target = read_track_token(token)
    if target is None:
        abort(404)
    from app.shopify.models import Shop

    shop = db.session.get(Shop, target.shop_id)
    if shop is None or shop.redacted_at is not None:
        abort(404)
    return render_tracking_page(shop, standalone=True, liquid=False, token=token)


__all__ = ["storefront_bp", "links_bp", "make_track_token"]
