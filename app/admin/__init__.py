"""The merchant's audience kit: the embedded admin under /app.

What every feature's admin pages share: the session-token check (`admin_required`), the page context with
the navigation the wiring lists (`page_context`), the shop-scoped order lookup (`shop_order`); and the core's
own pages: orders, webhook deliveries and privacy requests. It knows no feature: each feature's pages live
in its own `admin.py`, on this kit.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import func, select

from app.extensions import db
from app.orders.models import Fulfillment, Order
from app.registry import registry
from app.shopify.auth import admin_required
from app.shopify.inbox import retry_failed_event
from app.shopify.models import ComplianceRequest, WebhookEvent
from app.shopify.sdk import request_input, shopify_app, to_flask_response

__all__ = ["admin_bp", "admin_required", "page_context", "shop_order"]

admin_bp = Blueprint("admin", __name__, url_prefix="/app")


@admin_bp.get("/patch-id-token")
def patch_id_token():
    """The page App Bridge uses to fetch a fresh ID token and reload the app with it."""
    return to_flask_response(shopify_app().app_home_patch_id_token(request_input()).response)


def page_context() -> dict:
    """What every admin page's layout needs: the shop, App Bridge's key and token, the navigation."""
    return {
        "shop": g.admin.shop,
        "api_key": current_app.config["SETTINGS"].shopify_api_key,
        "is_demo": g.admin.is_demo,
        "id_token": g.admin.id_token,
        "admin_nav": registry().admin_nav,
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
    cleaned = (
        db.session.execute(
            select(WebhookEvent)
            .where(
                WebhookEvent.shop_id == shop.id,
                WebhookEvent.status == "processed",
                WebhookEvent.notes.is_not(None),
            )
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
        cleaned_events=cleaned,
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
                "notes": e.notes or [],
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

