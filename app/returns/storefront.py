"""The shopper's returns portal under /proxy/returns (Shopify's app proxy), and the return status page; the
same pages opened from a signed link under /l/returns (an email's button, the demo), outside the theme.

Every /proxy request passes the app-proxy signature check of the storefront kit (`proxy_blueprint`), then the
order is proved by its number plus email/phone (rate-limited), a signed link, or the logged-in customer.
Proxy pages are answered as application/liquid through the Liquid-safe Jinja environment; link pages as
HTML, where the link's token (app/returns/links.py) is the proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, g, request
from sqlalchemy import select

from app.extensions import db
from app.i18n import format_moment, t
from app.orders.models import Order, shown_variant_title
from app.orders.queries import find_order_by_id, order_ref_condition
from app.returns.labels import adapter_for
from app.returns.links import make_return_token, read_return_token, return_status_path
from app.returns.messages import decline_reason_text, explain, tier_display_name
from app.returns.models import ReturnRequest
from app.returns.rules import RESOLUTIONS
from app.returns.services import (
    MAX_PHOTO_BYTES,
    PortalView,
    RequestedLine,
    ReturnInputError,
    TransitionError,
    Upload,
    add_tracking,
    create_return_request,
    get_return,
    portal_view,
    request_loyalty_refresh,
    seller_fault_reasons,
)
from app.returns.tiers import is_seller_fault
from app.returns.tracking import scans_for
from app.shopify.models import Shop
from app.storefront import (
    LOOKUP_MESSAGE_KEYS,
    LookupFailure,
    client_key,
    liquid_env,
    lookup_limits,
    lookup_order,
    proxy_blueprint,
    shopper_locale,
    shopper_tz,
)
from app.storefront.links import deny_framing, make_track_token, read_track_token
from app.tracking.branding import tokens_for
from app.tracking.services import tracking_settings

__all__ = ["make_return_token", "read_return_token", "returns_links_bp", "returns_storefront_bp"]

returns_storefront_bp = proxy_blueprint("returns_storefront", __name__, url_prefix="/proxy/returns")
returns_links_bp = Blueprint("returns_links", __name__, url_prefix="/l/returns")
returns_links_bp.after_request(deny_framing)

STATUS_STEPS = ("requested", "approved", "awaiting_shipment", "in_transit", "received", "resolved")


@dataclass(frozen=True)
class _Page:
    """Where a returns page is served: through the app proxy (Liquid, in the theme, paths under the shop's
    proxy prefix) or from a signed link (HTML, standalone, paths under /l/returns)."""

    shop: Shop
    liquid: bool
    portal_token: str | None = None  # the order's token, on a link page

    def submit_action(self, query: str) -> str:
        if self.liquid:
            return f"{_proxy_prefix()}?{query}"
        return f"/l/returns/{self.portal_token}?{urlencode({'locale': shopper_locale()})}"

    def status_urls(self, return_request: ReturnRequest) -> dict[str, str]:
        token = make_return_token(return_request.shop_id, return_request.id)
        locale = urlencode({"locale": shopper_locale()})
        if self.liquid:
            base = _proxy_prefix()
            return {
                "label_url": f"{base}/status/label?return={token}",
                "tracking_action": f"{base}/status/tracking?return={token}&{locale}",
            }
        path = return_status_path(return_request.shop_id, return_request.id)
        return {"label_url": f"{path}/label", "tracking_action": f"{path}/tracking?{locale}"}


def _proxy_page() -> _Page:
    return _Page(shop=g.shop, liquid=True)


def _proxy_prefix() -> str:
    return request.args.get("path_prefix", "") + "/returns"


def _find_order(shop_id: int) -> Order | None:
    """The order asked for: the logged-in customer's own order by number, else number + email/phone."""
    customer_id = g.get("logged_in_customer_id")
    order_ref = request.args.get("order")
    if customer_id and order_ref and not request.args.get("email") and not request.args.get("phone"):
        if not lookup_limits().admit(shop_id, client_key(), order_ref):
            raise LookupFailure(429, "rate_limited")
        condition = order_ref_condition(order_ref)
        order = None
        if str(customer_id).isdigit() and condition is not None:
            order = (
                db.session.execute(
                    select(Order).where(
                        Order.shop_id == shop_id, condition, Order.shopify_customer_id == int(customer_id)
                    )
                )
                .scalars()
                .first()
            )
        if order is None:
            lookup_limits().record_failure(shop_id, client_key(), order_ref)
            raise LookupFailure(404, "not_found")
        return order
    return lookup_order(shop_id)


def _money(amount: Decimal | None, currency: str, locale: str) -> str:
    from babel.numbers import format_currency

    return format_currency(amount or Decimal("0"), currency, locale="th_TH" if locale == "th" else "en_US")


def _portal_context(view: PortalView, locale: str) -> dict[str, Any]:
    """The portal as plain data: every item with what it may become, and every "no" in words."""
    items = []
    bonus_any = Decimal("0")
    for item in view.items:
        decision = view.decision.item(item.line_item_id)
        denied = dict(decision.denied_resolutions)
        bonus_any = max(bonus_any, decision.credit_bonus_percent)
        reasons = [explain(r, locale) for r in decision.reasons]
        if decision.is_eligible and item.returnable_quantity == 0:
            reasons = [t(locale, "returns.no.already_returned")]
        items.append(
            {
                "id": item.line_item_id,
                "product_id": item.product_id,
                "title": item.title,
                "variant_title": shown_variant_title(item.variant_title),
                "price": _money(item.unit_price, view.currency, locale),
                "image_url": item.image_url,
                "max_quantity": item.returnable_quantity if decision.is_eligible else 0,
                "eligible": decision.is_eligible and item.returnable_quantity > 0,
                "reasons": reasons,
                "allowed": list(decision.allowed_resolutions),
                "denied": {r: explain(e, locale) for r, e in denied.items()},
                "variants": [
                    {
                        "id": v["id"],
                        "title": v.get("title"),
                        "price": _money(Decimal(str(v.get("price") or item.unit_price)), view.currency, locale),
                    }
                    for v in item.exchange_variants
                ],
                "window_ends_on": decision.window_ends_on,
            }
        )
    eligible_items = [i for i in items if i["eligible"]]
    offered = [r for r in RESOLUTIONS if any(r in i["allowed"] for i in eligible_items)]
    resolution_labels = {r: t(locale, f"returns.resolution.{r}") for r in RESOLUTIONS}
    if bonus_any > 0:
        resolution_labels["store_credit"] = t(
            locale, "returns.resolution.store_credit_bonus", percent=f"{bonus_any.normalize():f}"
        )
    tier_name = next(
        (tier_display_name(tier, locale) for tier in view.policy.tiers if tier.code == view.decision.tier), None
    )
    return {
        "items": items,
        "products": [
            {
                "product_id": o.product_id,
                "variant_id": o.variant_id,
                "title": o.title,
                "price": _money(o.price, view.currency, locale),
            }
            for o in view.exchange_products
        ],
        "offered": offered,
        "resolution_labels": resolution_labels,
        "reasons": [
            {
                "code": r["code"],
                "label": (r.get("label") or {}).get(locale) or (r.get("label") or {}).get("en") or r["code"],
                "comment": bool(r.get("comment")),
                "photo": bool(r.get("photo")),
            }
            for r in view.reasons
        ],
        "tier_name": tier_name if len(view.policy.tiers) > 1 else None,
        "free_shipping": all(view.decision.item(i["id"]).free_return_shipping for i in eligible_items)
        if eligible_items
        else False,
        "shipping_fee": _money(view.policy.return_shipping_fee, view.currency, locale),
        "seller_fault_ships_free": view.policy.seller_fault_free_shipping
        and any(is_seller_fault(r) for r in view.reasons),
        "max_mb": MAX_PHOTO_BYTES // (1024 * 1024),
    }


def _recommendations(shop_id: int, placement: str, order: Order | None, reason: str | None, locale: str) -> list:
    """Cards for the page's recommendations slot (the shared partial reserves each card's space)."""
    from app.recommendations import recommend

    try:
        cards = recommend(shop_id, placement, order_id=order.id if order else None, return_reason=reason, locale=locale)
        return [card.as_json() for card in cards]
    except Exception:  # a recommendation must never break a return page
        current_app.logger.exception("recommendations failed for %s", placement)
        return []


def _render(page: _Page, template: str, status: int = 200, **context: Any) -> Response:
    locale = shopper_locale()
    shop = page.shop
    settings = tracking_settings(db.session, shop.id)
    standalone = request.args.get("layout") == "standalone" or not page.liquid
    keep = {k: v for k, v in request.args.items() if k in ("order", "email", "phone", "token", "locale", "layout")}
    env = liquid_env() if page.liquid else current_app.jinja_env
    body = env.get_template(template).render(
        _=lambda key, **values: t(locale, key, **values),
        locale=locale,
        shop=shop,
        settings=settings,
        tokens=tokens_for(settings),
        standalone=standalone,
        prefix=_proxy_prefix(),
        submit_action=page.submit_action(urlencode(keep)),
        form={
            "order": request.args.get("order", ""),
            "contact": request.args.get("email") or request.args.get("phone") or "",
        },
        **context,
    )
    if not page.liquid:
        response = Response(body, status=status, mimetype="text/html")
    else:
        if standalone:
            body = "{% layout none %}\n" + body
        response = Response(body, status=status, mimetype="application/liquid")
    response.headers["Cache-Control"] = "no-store"
    return response


@returns_storefront_bp.get("")
@returns_storefront_bp.get("/")
def portal_page():
    """Lookup form, or the order's items with what the rules allow for each (and why not)."""
    locale = shopper_locale()
    try:
        order = _find_order(g.shop.id)
    except LookupFailure as failure:
        return _render(
            _proxy_page(),
            "storefront/returns/portal.html",
            failure.status,
            error=t(locale, LOOKUP_MESSAGE_KEYS[failure.code]),
        )
    if order is None:
        return _render(_proxy_page(), "storefront/returns/portal.html")
    return _render_portal(_proxy_page(), order)


def _render_portal(page: _Page, order: Order) -> Response:
    locale = shopper_locale()
    if request_loyalty_refresh(db.session, order):
        db.session.commit()
    view = portal_view(db.session, order)
    return _render(
        page,
        "storefront/returns/portal.html",
        order=order,
        portal=_portal_context(view, locale),
        recommendations=_recommendations(page.shop.id, "return_exchange", order, None, locale),
    )


def _requested_lines(form: Any, order_view: PortalView) -> list[RequestedLine]:
    lines = []
    # The form has a size/colour choice and a product choice per item; the chosen resolution says which counts.
    field = "exchange_product" if form.get("resolution") == "exchange_product" else "exchange"
    for item in order_view.items:
        raw = str(form.get(f"qty_{item.line_item_id}", "0") or "0").strip()
        quantity = int(raw) if raw.isdigit() and len(raw) < 4 else 0
        if quantity <= 0:
            continue
        exchange = str(form.get(f"{field}_{item.line_item_id}", "") or "").strip()
        lines.append(RequestedLine(item.line_item_id, quantity, int(exchange) if exchange.isdigit() else None))
    return lines


@returns_storefront_bp.post("")
@returns_storefront_bp.post("/")
def submit_return():
    """The portal's form (multipart: a photo may come with it). A clear 4xx with every problem named."""
    locale = shopper_locale()
    try:
        order = _find_order(g.shop.id)
    except LookupFailure as failure:
        return _render(
            _proxy_page(),
            "storefront/returns/portal.html",
            failure.status,
            error=t(locale, LOOKUP_MESSAGE_KEYS[failure.code]),
        )
    if order is None:
        return _render(_proxy_page(), "storefront/returns/portal.html", 400, error=t(locale, "track.invalid"))
    return _submit(_proxy_page(), order)


def _submit(page: _Page, order: Order) -> Response:
    locale = shopper_locale()
    view = portal_view(db.session, order)
    photo_file = request.files.get("photo")
    photo = None
    if photo_file is not None and photo_file.filename:
        photo = Upload(photo_file.filename, photo_file.mimetype or "", photo_file.read(MAX_PHOTO_BYTES + 1))
    if photo_file is not None:
        photo_file.close()
    resolution = str(request.form.get("resolution") or "")
    try:
        created = create_return_request(
            db.session,
            order,
            _requested_lines(request.form, view),
            reason_code=str(request.form.get("reason") or ""),
            resolution=resolution,
            comment=request.form.get("comment"),
            photo=photo,
            locale=locale,
        )
        db.session.commit()
    except ReturnInputError as exc:
        db.session.rollback()
        errors = {field: t(locale, key, **exc.values) for field, key in exc.errors.items()}
        return _render(
            page,
            "storefront/returns/portal.html",
            422,
            order=order,
            portal=_portal_context(view, locale),
            errors=errors,
            chosen=request.form,
            recommendations=[],
        )
    return _render_status(page, created, locale)


def _render_status(
    page: _Page, return_request: ReturnRequest, locale: str, status_code: int = 200, notice: str | None = None
) -> Response:
    order = db.session.get(Order, return_request.order_id) if return_request.order_id else None
    adapter = adapter_for(return_request.label_adapter)
    reached = [s.status for s in return_request.steps]
    resolution_label = t(locale, f"returns.resolution.{return_request.resolution}") if return_request.resolution else ""
    explain_key = f"returns.status.{return_request.status}.explain"
    explanation = (
        t(locale, explain_key, resolution=resolution_label.lower())
        if return_request.status == "resolved"
        else t(locale, explain_key)
    )
    tz = shopper_tz(page.shop.iana_timezone)
    return _render(
        page,
        "storefront/returns/status.html",
        status_code,
        ret=return_request,
        **page.status_urls(return_request),
        steps=[{"status": s, "done": s in reached, "current": s == return_request.status} for s in STATUS_STEPS],
        explanation=explanation,
        history=[
            {"label": t(locale, f"returns.status.{s.status}"), "at": format_moment(s.occurred_at, locale, tz)}
            for s in return_request.steps
        ],
        scans=[
            {
                "status": scan.status,
                "label": t(locale, f"status.{scan.status}") if scan.status else scan.raw_status,
                "location": scan.location,
                "at": format_moment(scan.happened_at, locale, tz),
            }
            for scan in scans_for(return_request)
        ],
        lines=[
            {
                "title": line.title,
                "variant_title": shown_variant_title(line.variant_title),
                "quantity": line.quantity,
                "exchange_title": line.exchange_title,
            }
            for line in return_request.lines
        ],
        resolution_label=resolution_label,
        amount=_money(
            return_request.credit_amount
            if return_request.resolution == "store_credit"
            else return_request.refund_amount,
            return_request.currency,
            locale,
        ),
        instructions=adapter.instructions(db.session, return_request, locale)
        if return_request.status == "awaiting_shipment"
        else None,
        has_label=adapter.label(db.session, return_request) is not None,
        decline_reason=decline_reason_text(return_request, locale) if return_request.status == "declined" else None,
        notice=notice,
        # Never an upsell to a shopper the shop let down (a damaged or wrong item).
        recommendations=[]
        if return_request.reason_code in seller_fault_reasons(db.session, return_request.shop_id)
        else _recommendations(return_request.shop_id, "return_status", order, return_request.reason_code, locale),
    )


def _return_from_token() -> ReturnRequest | None:
    target = read_return_token(request.args.get("return"))
    if target is None or target[0] != g.shop.id:
        return None
    return get_return(db.session, g.shop.id, target[1])


@returns_storefront_bp.get("/status")
def status_page():
    return_request = _return_from_token()
    if return_request is None:
        return _render(
            _proxy_page(), "storefront/returns/portal.html", 404, error=t(shopper_locale(), "track.not_found")
        )
    return _render_status(_proxy_page(), return_request, shopper_locale())


@returns_storefront_bp.post("/status/tracking")
def add_return_tracking():
    """The shopper sends the parcel back and gives its tracking number."""
    return_request = _return_from_token()
    if return_request is None:
        return _render(
            _proxy_page(), "storefront/returns/portal.html", 404, error=t(shopper_locale(), "track.not_found")
        )
    return _add_tracking(_proxy_page(), return_request)


def _add_tracking(page: _Page, return_request: ReturnRequest) -> Response:
    locale = shopper_locale()
    try:
        add_tracking(
            db.session, return_request, "shopper", request.form.get("company"), str(request.form.get("number") or "")
        )
        db.session.commit()
    except (ReturnInputError, TransitionError):
        db.session.rollback()
        return _render_status(page, return_request, locale, 422, notice=t(locale, "returns.invalid_choice"))
    return _render_status(page, return_request, locale)


@returns_storefront_bp.get("/status/label")
def download_label():
    return _label_response(_return_from_token())


def _label_response(return_request: ReturnRequest | None) -> Response:
    label = adapter_for(return_request.label_adapter).label(db.session, return_request) if return_request else None
    if label is None or return_request is None:
        return Response("not found", status=404, mimetype="text/plain")
    response = Response(label.data, mimetype=label.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="return-label-{return_request.id}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- the same pages from a signed link (/l/returns/...) ---------------------------------------------------------


def _linked_shop(shop_id: int) -> Shop:
    shop = db.session.get(Shop, shop_id)
    if shop is None or shop.redacted_at is not None:
        abort(404)
    return shop


def _linked_order(token: str) -> tuple[_Page, Order]:
    target = read_track_token(token)
    if target is None:
        abort(404)
    shop = _linked_shop(target.shop_id)
    order = find_order_by_id(db.session, shop.id, target.order_id)
    if order is None:
        abort(404)
    return _Page(shop=shop, liquid=False, portal_token=token), order


def _linked_return(token: str) -> tuple[_Page, ReturnRequest]:
    target = read_return_token(token)
    if target is None:
        abort(404)
    shop = _linked_shop(target[0])
    return_request = get_return(db.session, shop.id, target[1])
    if return_request is None:
        abort(404)
    order = db.session.get(Order, return_request.order_id) if return_request.order_id else None
    portal_token = make_track_token(shop.id, order.id) if order else None
    return _Page(shop=shop, liquid=False, portal_token=portal_token), return_request


@returns_links_bp.get("/<token>")
def link_portal_page(token: str):
    """The portal for the order a link names (its tracking token), outside the theme."""
    page, order = _linked_order(token)
    return _render_portal(page, order)


@returns_links_bp.post("/<token>")
def link_submit_return(token: str):
    page, order = _linked_order(token)
    return _submit(page, order)


@returns_links_bp.get("/status/<token>")
def link_status_page(token: str):
    """The return's status page from a message's button: what happens next, and the forms to act on it."""
    page, return_request = _linked_return(token)
    return _render_status(page, return_request, shopper_locale())


@returns_links_bp.post("/status/<token>/tracking")
def link_add_tracking(token: str):
    page, return_request = _linked_return(token)
    return _add_tracking(page, return_request)


@returns_links_bp.get("/status/<token>/label")
def link_download_label(token: str):
    return _label_response(_linked_return(token)[1])
