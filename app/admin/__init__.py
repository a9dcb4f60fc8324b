"""The embedded admin under /app: the merchant's view of orders, webhook deliveries and privacy requests."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import func, select

from app.extensions import db
from app.orders.models import Fulfillment, Order
from app.shopify.auth import admin_required, request_input, shopify_app, to_flask_response
from app.shopify.inbox import retry_failed_event
from app.shopify.models import ComplianceRequest, WebhookEvent

admin_bp = Blueprint("admin", __name__, url_prefix="/app")


@admin_bp.get("/patch-id-token")
def patch_id_token():
    """The page App Bridge uses to fetch a fresh ID token and reload the app with it."""
    return to_flask_response(shopify_app().app_home_patch_id_token(request_input()).response)


def _page_context() -> dict:
    return {
        "shop": g.admin.shop,
        "api_key": current_app.config["SETTINGS"].shopify_api_key,
        "is_demo": g.admin.is_demo,
        "id_token": g.admin.id_token,
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
        **_page_context(),
    )


def _shop_order(order_id: int) -> Order:
    order = db.session.execute(
        select(Order).where(Order.id == order_id, Order.shop_id == g.admin.shop.id)
    ).scalar_one_or_none()
    if order is None:
        abort(404)
    return order


@admin_bp.get("/orders/<int:order_id>")
@admin_required
def order_detail(order_id: int):
    order = _shop_order(order_id)
    fulfillments = (
        db.session.execute(
            select(Fulfillment)
            .where(Fulfillment.shop_id == order.shop_id, Fulfillment.shopify_order_id == order.shopify_order_id)
            .order_by(Fulfillment.shopify_created_at)
        )
        .scalars()
        .all()
    )
    return render_template("admin/order.html", order=order, fulfillments=fulfillments, **_page_context())


@admin_bp.post("/demo/orders/<int:order_id>/advance")
@admin_required
def demo_advance_order(order_id: int):
    """Demo only: send the order's next webhook (shipped, then each scan) to see the page and emails move."""
    if not g.admin.is_demo:
        abort(404)
    from app.demo import advance_demo_order

    _shop_order(order_id)
    advance_demo_order(g.admin.shop, order_id)
    return redirect(url_for("admin.order_detail", order_id=order_id))


@admin_bp.get("/api/orders/<int:order_id>")
@admin_required
def order_json(order_id: int):
    order = _shop_order(order_id)
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


@admin_bp.get("/settings")
@admin_required
def settings_page():
    from app.admin.settings import sample_view
    from app.i18n import t
    from app.tracking.branding import FONTS, tokens_for
    from app.tracking.services import tracking_settings

    settings = tracking_settings(db.session, g.admin.shop.id)
    locale = request.args.get("locale", "en") if request.args.get("locale") in ("en", "th") else "en"
    return render_template(
        "admin/settings.html",
        settings=settings,
        fonts=list(FONTS),
        preview={
            "t": lambda key, **values: t(locale, key, **values),
            "locale": locale,
            "settings": settings,
            "tokens": tokens_for(settings),
            "custom_message": (settings.custom_message or {}).get(locale),
            "faq": [item for item in settings.faq or [] if item.get("locale", locale) == locale],
            "view": sample_view(locale),
            "error": None,
            "form": {"order": "1001", "contact": "you@example.com"},
            "standalone": False,
            "form_action": "#",
        },
        **_page_context(),
    )


@admin_bp.post("/api/settings")
@admin_required
def save_settings_json():
    from app.admin.settings import save_settings
    from app.tracking.branding import BrandingError

    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(error="invalid", message="send the settings as a JSON object"), 400
    try:
        save_settings(db.session, g.admin.shop.id, payload)
    except BrandingError as exc:
        return jsonify(error="invalid", fields=exc.errors), 422
    return jsonify(status="saved")


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


from app.admin import notifications as _notifications  # noqa: E402,F401
