"""The tracking page and its JSON for the theme block, under /proxy (on the storefront kit), and the same
page opened from a signed link (`/l/track/<token>`), with its "text me updates" form."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, g, jsonify, request

from app.analytics import count_tracking_view
from app.content import tracking_page_content
from app.extensions import db
from app.i18n import t
from app.notifications.channels.line import line_connect_url, make_line_connect_code
from app.notifications.preferences import request_sms_updates
from app.orders.models import Order
from app.orders.queries import find_order_by_id
from app.recommendations import recommend, storefront_cards
from app.shopify.models import Shop
from app.storefront import (
    LOOKUP_MESSAGE_KEYS,
    LookupFailure,
    json_error,
    liquid_env,
    lookup_order,
    proxy_blueprint,
    shopper_locale,
    shopper_tz,
)
from app.storefront.links import deny_framing, read_track_token
from app.surveys import tracking_page_survey
from app.tracking.branding import tokens_for
from app.tracking.queries import tracking_view
from app.tracking.services import tracking_settings

tracking_storefront_bp = proxy_blueprint("tracking_storefront", __name__)
tracking_links_bp = Blueprint("tracking_links", __name__, url_prefix="/l")
tracking_links_bp.after_request(deny_framing)


@tracking_storefront_bp.get("/api/track")
def track_json():
    locale = shopper_locale()
    try:
        order = lookup_order(g.shop.id)
    except LookupFailure as failure:
        return json_error(failure.status, failure.code, LOOKUP_MESSAGE_KEYS[failure.code])
    if order is None:
        return json_error(400, "invalid", "track.invalid")
    count_tracking_view(g.shop.id, g.shop.iana_timezone, "widget", True)
    view = tracking_view(db.session, order, locale, shopper_tz(g.shop.iana_timezone))
    view["recommendations"] = _recommendation_cards(g.shop.id, order, locale, "tracking_widget")
    view["recommendations_title"] = t(locale, "track.recommendations")
    response = jsonify(view)
    response.headers["Cache-Control"] = "no-store"
    return response


def _recommendation_cards(shop_id: int, order: Order, locale: str, placement: str) -> list[dict[str, Any]]:
    return storefront_cards(recommend(shop_id, placement, order_id=order.id, locale=locale))


def render_tracking_page(
    shop,
    *,
    standalone: bool,
    status_code: int = 200,
    liquid: bool = True,
    token: str | None = None,
    notice: str | None = None,
) -> Response:
    locale = shopper_locale()
    settings = tracking_settings(db.session, shop.id)
    error = None
    view = None
    order = None
    try:
        order = lookup_order(shop.id, token)
        if order is not None:
            view = tracking_view(db.session, order, locale, shopper_tz(shop.iana_timezone))
            view["recommendations"] = _recommendation_cards(shop.id, order, locale, "tracking_page")
    except LookupFailure as failure:
        status_code = failure.status
        error = t(locale, LOOKUP_MESSAGE_KEYS[failure.code])
    count_tracking_view(shop.id, shop.iana_timezone, "page" if liquid else "link", view is not None)
    context = {
        "_": lambda key, **values: t(locale, key, **values),
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
        # the delivered order's survey question, answered in place (a form posting a signed token and the score)
        "survey": tracking_page_survey(db.session, shop.id, order, locale, shop.name or shop.domain.split(".")[0])
        if view
        else None,
        # what to know about what arrived: getting started, care tips (the content library's releases)
        "product_content": tracking_page_content(db.session, shop.id, order, locale) if view else [],
    }
    env = liquid_env() if liquid else current_app.jinja_env
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


@tracking_storefront_bp.post("/api/subscribe")
def subscribe_json():
    """POST (JSON {"phone": ...}) with the same lookup query as /api/track: text updates for the order."""
    try:
        order = lookup_order(g.shop.id)
    except LookupFailure as failure:
        return json_error(failure.status, failure.code, LOOKUP_MESSAGE_KEYS[failure.code])
    payload = request.get_json(silent=True) or {}
    if order is None or not request_sms_updates(g.shop.id, order, str(payload.get("phone") or ""), shopper_locale()):
        return json_error(400, "invalid", "track.sms_invalid")
    # Not subscribed yet: the number's owner confirms by replying YES to the text just sent.
    return jsonify(status="confirmation_sent", message=t(shopper_locale(), "track.sms_confirm_sent"))


@tracking_storefront_bp.post("/subscribe")
def subscribe_page():
    """The page's no-JavaScript form: subscribe, then show the order again with a confirmation."""
    try:
        order = lookup_order(g.shop.id)
    except LookupFailure:
        order = None
    ok = order is not None and request_sms_updates(g.shop.id, order, request.form.get("phone"), shopper_locale())
    notice = t(shopper_locale(), "track.sms_confirm_sent") if ok else t(shopper_locale(), "track.sms_invalid")
    return render_tracking_page(
        g.shop,
        standalone=request.args.get("layout") == "standalone",
        status_code=200 if ok else 400,
        notice=notice,
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
    return line_connect_url(make_line_connect_code(shop.id, order.email, order.shopify_customer_id))


@tracking_storefront_bp.get("/track")
def track_page():
    return render_tracking_page(g.shop, standalone=request.args.get("layout") == "standalone")


@tracking_links_bp.post("/subscribe")
def link_subscribe():
    """The signed link's page form: the token in the query proves the order."""
    token = request.args.get("token", "")
    target = read_track_token(token)
    if target is None:
        abort(404)
    shop = db.session.get(Shop, target.shop_id)
    order = find_order_by_id(db.session, target.shop_id, target.order_id) if shop else None
    if shop is None or order is None:
        abort(404)
    ok = request_sms_updates(shop.id, order, request.form.get("phone"), shopper_locale())
    notice = t(shopper_locale(), "track.sms_confirm_sent") if ok else t(shopper_locale(), "track.sms_invalid")
    return render_tracking_page(
        shop, standalone=True, liquid=False, token=token, notice=notice, status_code=200 if ok else 400
    )


@tracking_links_bp.get("/track/<token>")
def track_link(token: str):
    """The link notifications carry: opens the order's page directly, outside the theme."""
    target = read_track_token(token)
    if target is None:
        abort(404)
    shop = db.session.get(Shop, target.shop_id)
    if shop is None or shop.redacted_at is not None:
        abort(404)
    return render_tracking_page(shop, standalone=True, liquid=False, token=token)
