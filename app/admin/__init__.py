"""The merchant's audience kit: the embedded admin under /app.

What every feature's admin pages share: the session-token check (`admin_required`), the page context with
the navigation the wiring lists (`page_context`), the admin's language (the `locale` Shopify passes on the App
Home request, carried on every admin link) and the shop's time zone for dates (`admin_time`, `admin_day`),
the look (Polaris web components from Shopify's CDN, with `static/admin.css` styling the same markup when the
CDN cannot load), the shop-scoped order lookup (`shop_order`); and the core's own pages: orders, webhook
deliveries and privacy requests. It knows no feature: each feature's pages live in its own `admin.py`, on this
kit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from babel.dates import format_date
from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select

from app.extensions import db
from app.i18n import N_, _, format_moment, negotiate_locale, request_locale, zone
from app.orders.models import Fulfillment, Order
from app.registry import registry
from app.shopify.auth import admin_required
from app.shopify.inbox import retry_failed_event
from app.shopify.models import ComplianceRequest, WebhookEvent
from app.shopify.sdk import request_input, shopify_app, to_flask_response

__all__ = ["admin_bp", "admin_day", "admin_required", "admin_time", "label", "page_context", "shop_order"]

admin_bp = Blueprint("admin", __name__, url_prefix="/app", static_folder="static", static_url_path="/static")

# Codes the core's pages show, as readable labels (`label("admin.payment.", code)`).
N_("admin.payment.authorized"), N_("admin.payment.paid"), N_("admin.payment.partially_paid")
N_("admin.payment.partially_refunded"), N_("admin.payment.pending"), N_("admin.payment.refunded")
N_("admin.payment.voided"), N_("admin.payment.expired")
N_("admin.fulfilment.fulfilled"), N_("admin.fulfilment.partial"), N_("admin.fulfilment.restocked")
N_("admin.fulfilment.unfulfilled")
N_("admin.shipment.success"), N_("admin.shipment.pending"), N_("admin.shipment.open"), N_("admin.shipment.cancelled")
N_("admin.shipment.error"), N_("admin.shipment.failure")
N_("admin.event.received"), N_("admin.event.processing"), N_("admin.event.processed"), N_("admin.event.failed")
N_("admin.event.ignored")
N_("admin.privacy.customers/data_request"), N_("admin.privacy.customers/redact"), N_("admin.privacy.shop/redact")
N_("admin.privacy.status.received"), N_("admin.privacy.status.completed"), N_("admin.privacy.status.failed")
N_("admin.privacy.status.pending")


def label(prefix: str, code: str | None, empty: str = "—") -> str:
    """A code stored in the database (`paid`, `return_declined`) as the merchant reads it, in their language:
    the catalog's `prefix + code` (declared with N_ beside the code), else the code itself, never a key."""
    if not code:
        return empty
    key = f"{prefix}{code}"
    text = _(key)
    return code.replace("_", " ") if text == key else text


def admin_locale() -> str:
    """The admin's language: the `locale` Shopify passes to the App Home (`th-TH`), else the browser's."""
    return request_locale()


@admin_bp.app_url_defaults
def carry_locale(endpoint: str, values: dict[str, Any]) -> None:
    """Keep the admin's language across navigation: a link from an admin page to another admin page carries the
    `locale` the page was opened with (there are no cookies in the admin's iframe)."""
    if not has_request_context() or "locale" in values or not request.path.startswith("/app"):
        return
    asked = request.args.get("locale")
    if not asked or endpoint.endswith("static"):
        return
    if any(rule.rule.startswith("/app") for rule in current_app.url_map.iter_rules(endpoint)):
        values["locale"] = negotiate_locale(asked)


def _shop_zone():
    shop = getattr(g, "admin", None) and g.admin.shop
    return zone(shop.iana_timezone if shop else None)


def admin_time(value: datetime | None) -> str:
    """A moment in the shop's time zone and the admin's language ("Thu 12 Nov, 14:05"; Thai month names)."""
    if value is None:
        return "—"
    if value.tzinfo is None:  # stored as UTC
        value = value.replace(tzinfo=UTC)
    return format_moment(value, admin_locale(), _shop_zone())


def admin_day(value: datetime | date | None) -> str:
    """A day in the shop's time zone and the admin's language."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        if value.tzinfo is None:  # stored as UTC
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(_shop_zone()).date()
    return format_date(value, "medium", locale=admin_locale())


@admin_bp.get("/patch-id-token")
def patch_id_token():
    """The page App Bridge uses to fetch a fresh ID token and reload the app with it."""
    return to_flask_response(shopify_app().app_home_patch_id_token(request_input()).response)


def page_context() -> dict:
    """What every admin page's layout needs: the shop, App Bridge's key and token, the navigation, the
    language, and the helpers that show codes and dates as the merchant reads them."""
    return {
        "shop": g.admin.shop,
        "api_key": current_app.config["SETTINGS"].shopify_api_key,
        "is_demo": g.admin.is_demo,
        "id_token": g.admin.id_token,
        "admin_nav": registry().admin_nav,
        "locale": admin_locale(),
        "label": label,
        "when": admin_time,
        "day": admin_day,
    }


@admin_bp.get("")
@admin_bp.get("/")
@admin_required
def home():
    shop = g.admin.shop
    orders = (
        db.session.execute(
            select(Order).where(Order.shop_id == shop.id).order_by(Order.shopify_created_at.desc()).limit(50)
        )
        .scalars()
        .all()
    )
    counts = dict(
        db.session.execute(
            select(WebhookEvent.status, func.count())
            .where(WebhookEvent.shop_id == shop.id)
            .group_by(WebhookEvent.status)
        ).all()
    )
    failed = (
        db.session.execute(
            select(WebhookEvent)
            .where(WebhookEvent.shop_id == shop.id, WebhookEvent.status == "failed")
            .order_by(WebhookEvent.id.desc())
            .limit(20)
        )
        .scalars()
        .all()
    )
    requests_ = (
        db.session.execute(
            select(ComplianceRequest)
            .where(ComplianceRequest.shop_id == shop.id)
            .order_by(ComplianceRequest.id.desc())
            .limit(20)
        )
        .scalars()
        .all()
    )
    return render_template(
        "admin/home.html",
        orders=orders,
        event_counts=counts,
        failed_events=failed,
        compliance_requests=requests_,
        **page_context(),
    )


def shop_order(order_id: int) -> Order:
    """The signed-in shop's order with this id, or 404 (another shop's id is a 404 too)."""
    order = db.session.execute(
        select(Order).where(Order.id == order_id, Order.shop_id == g.admin.shop.id)
    ).scalar_one_or_none()
    if order is None:
        abort(404)
    return order


@admin_bp.get("/orders/<int:order_id>")
@admin_required
def order_detail(order_id: int):
    order = shop_order(order_id)
    fulfillments = (
        db.session.execute(
            select(Fulfillment)
            .where(Fulfillment.shop_id == order.shop_id, Fulfillment.shopify_order_id == order.shopify_order_id)
            .order_by(Fulfillment.shopify_created_at)
        )
        .scalars()
        .all()
    )
    return render_template("admin/order.html", order=order, fulfillments=fulfillments, **page_context())


@admin_bp.get("/api/orders/<int:order_id>")
@admin_required
def order_json(order_id: int):
    order = shop_order(order_id)
    return jsonify(
        id=order.id,
        name=order.name,
        email=order.email,
        financial_status=order.financial_status,
        fulfillment_status=order.fulfillment_status,
        total_price=str(order.total_price) if order.total_price is not None else None,
        currency=order.currency,
    )


@admin_bp.get("/api/webhook-events")
@admin_required
def webhook_events_json():
    status = request.args.get("status")
    query = select(WebhookEvent).where(WebhookEvent.shop_id == g.admin.shop.id)
    if status:
        query = query.where(WebhookEvent.status == status)
    events = db.session.execute(query.order_by(WebhookEvent.id.desc()).limit(100)).scalars()
    return jsonify(
        events=[
            {
                "id": e.id,
                "topic": e.topic,
                "status": e.status,
                "error": e.error,
                "attempts": e.attempts,
                "received_at": e.received_at.isoformat(),
            }
            for e in events
        ]
    )


@admin_bp.post("/webhook-events/<int:event_id>/retry")
@admin_required
def retry_event(event_id: int):
    if not retry_failed_event(db.session, g.admin.shop.id, event_id):
        abort(404)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(status="queued")
    return redirect(url_for("admin.home"))


@admin_bp.get("/compliance/<int:request_id>.json")
@admin_required
def compliance_report(request_id: int):
    record = db.session.execute(
        select(ComplianceRequest).where(
            ComplianceRequest.id == request_id, ComplianceRequest.shop_id == g.admin.shop.id
        )
    ).scalar_one_or_none()
    if record is None:
        abort(404)
    return jsonify(
        topic=record.topic,
        status=record.status,
        created_at=record.created_at.isoformat(),
        completed_at=record.completed_at.isoformat() if record.completed_at else None,
        report=record.report,
    )
