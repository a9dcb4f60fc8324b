"""Tracking in the embedded admin: the tracking page's branding and settings with a live preview, and the
demo's "next step" button on an order."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from app.admin import action_answer, admin_locale, admin_required, page_context, record_activity, shop_order
from app.events import DomainEvent
from app.extensions import db
from app.i18n import N_, request_locale, t, zone
from app.orders.models import Fulfillment, Order
from app.shopify.models import Shop
from app.storefront.links import make_track_token
from app.tracking.branding import FONTS, BrandingError, tokens_for
from app.tracking.models import DeliveryEstimate
from app.tracking.queries import tracking_view
from app.tracking.services import mark_parcel, tracking_settings
from app.tracking.settings import sample_view, save_settings

tracking_admin_bp = Blueprint("tracking_admin", __name__, url_prefix="/app")

# What the settings' checks say (app/tracking/settings.py, branding.py), in the merchant's language.
N_("admin.tracking.err.colour"), N_("admin.tracking.err.font"), N_("admin.tracking.err.radius")
N_("admin.tracking.err.logo_url"), N_("admin.tracking.err.contact_email"), N_("admin.tracking.err.contact_url")
N_("admin.tracking.err.handling_days"), N_("admin.tracking.err.stall_after_days")
N_("admin.tracking.err.weekend_days"), N_("admin.tracking.err.holidays"), N_("admin.tracking.err.faq_too_many")
N_("admin.tracking.err.faq_question"), N_("admin.tracking.err.faq_answer"), N_("track.settings.not_a_list")


@tracking_admin_bp.get("/settings")
@admin_required
def settings_page():
    settings = tracking_settings(db.session, g.admin.shop.id)
    locale = request.args.get("locale", "en") if request.args.get("locale") in ("en", "th") else "en"
    return render_template(
        "admin/settings.html",
        settings=settings,
        fonts=list(FONTS),
        preview={
            "_": lambda key, **values: t(locale, key, **values),
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
        **page_context(),
    )


@tracking_admin_bp.post("/api/settings")
@admin_required
def save_settings_json():
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(error="invalid", message="send the settings as a JSON object"), 400
    try:
        save_settings(db.session, g.admin.shop.id, payload)
    except BrandingError as exc:
        locale = request_locale()
        return jsonify(error="invalid", fields={field: t(locale, key) for field, key in exc.errors.items()}), 422
    return jsonify(status="saved")


@tracking_admin_bp.post("/demo/orders/<int:order_id>/advance")
@admin_required
def demo_advance_order(order_id: int):
    """Demo only: send the order's next webhook (shipped, then each scan) to see the page and emails move."""
    if not g.admin.is_demo:
        abort(404)
    from app.tracking.demo import advance_demo_order

    shop_order(order_id)
    advance_demo_order(g.admin.shop, order_id)
    return redirect(url_for("admin.order_detail", order_id=order_id))


def order_panel(order: Order) -> dict[str, Any] | None:
    """The order page's parcels, as the shopper sees them and more: state, carrier and link, the estimate and
    whether it was kept, every scan, delay and stall flags with since when, and the shopper's own tracking link."""
    shop = db.session.get(Shop, order.shop_id)
    view = tracking_view(db.session, order, admin_locale())
    flags = {
        (row.shopify_fulfillment_id, row.kind): row.happened_at or row.occurred_at
        for row in db.session.execute(
            select(DomainEvent)
            .where(
                DomainEvent.shop_id == order.shop_id,
                DomainEvent.shopify_order_id == order.shopify_order_id,
                DomainEvent.kind.in_(("shipment.delayed", "shipment.stalled")),
            )
            .order_by(DomainEvent.id)
        ).scalars()
    }
    parcels = {
        f.name: f
        for f in db.session.execute(
            select(Fulfillment).where(
                Fulfillment.shop_id == order.shop_id, Fulfillment.shopify_order_id == order.shopify_order_id
            )
        ).scalars()
    }
    shipments = []
    for shipment in view["shipments"]:
        parcel = parcels.get(shipment["name"])
        kept = None
        if parcel is not None and parcel.delivered_at:
            shown = db.session.execute(
                select(DeliveryEstimate)
                .where(
                    DeliveryEstimate.shop_id == order.shop_id,
                    DeliveryEstimate.shopify_fulfillment_id == parcel.shopify_fulfillment_id,
                )
                .order_by(DeliveryEstimate.id)
                .limit(1)
            ).scalar_one_or_none()
            if shown is not None and shown.estimate_to:
                kept = parcel.delivered_at.astimezone(zone(shop.iana_timezone)).date() <= shown.estimate_to
        shipments.append(
            {
                **shipment,
                "is_delayed": bool(parcel and parcel.is_delayed),
                "is_stalled": bool(parcel and parcel.is_stalled),
                "delayed_since": flags.get((parcel.shopify_fulfillment_id, "shipment.delayed")) if parcel else None,
                "stalled_since": flags.get((parcel.shopify_fulfillment_id, "shipment.stalled")) if parcel else None,
                "estimate_kept": kept,
                "id": parcel.shopify_fulfillment_id if parcel else None,
                "merchant_state": parcel.merchant_state if parcel else None,
                "replacement_tracking_number": parcel.replacement_tracking_number if parcel else None,
            }
        )
    link = f"{current_app.config['SETTINGS'].shopify_app_url}/l/track/{make_track_token(shop.id, order.id)}"
    return {"view": view, "shipments": shipments, "shopper_link": link}


def order_summary(order: Order) -> list[dict[str, Any]]:
    """The parcels of `order_panel` as JSON (the help-desk feed), with the shopper's tracking link."""
    panel = order_panel(order)
    shipments = []
    for shipment in panel["shipments"]:
        shipments.append(
            {
                **{k: v for k, v in shipment.items() if k not in ("delayed_since", "stalled_since", "items")},
                "delayed_since": shipment["delayed_since"].isoformat() if shipment["delayed_since"] else None,
                "stalled_since": shipment["stalled_since"].isoformat() if shipment["stalled_since"] else None,
                "shopper_link": panel["shopper_link"],
            }
        )
    return shipments


MARK_KEYS = (
    N_("admin.order360.parcel.state_lost"),
    N_("admin.order360.parcel.state_reshipped"),
    N_("admin.order360.parcel.marked_lost"),
    N_("admin.order360.parcel.marked_reshipped"),
    N_("admin.order360.parcel.bad_mark"),
)


@tracking_admin_bp.post("/orders/<int:order_id>/parcels/<int:fulfillment_id>/mark")
@admin_required
def mark_parcel_page(order_id: int, fulfillment_id: int):
    """One click: the merchant says a parcel is lost, or that a replacement went out (with its tracking number)."""
    order = shop_order(order_id)
    parcel = db.session.execute(
        select(Fulfillment).where(
            Fulfillment.shop_id == order.shop_id,
            Fulfillment.shopify_order_id == order.shopify_order_id,
            Fulfillment.shopify_fulfillment_id == fulfillment_id,
        )
    ).scalar_one_or_none()
    if parcel is None:
        abort(404)
    locale = admin_locale()
    state = request.form.get("state")
    number = (request.form.get("tracking_number") or "").strip()
    if state not in ("lost", "reshipped") or len(number) > 64 or any(ch.isspace() for ch in number):
        return action_answer(order, False, t(locale, "admin.order360.parcel.bad_mark"), 422)
    mark_parcel(db.session, parcel, state, number or None)
    record_activity(
        db.session,
        order,
        state,
        detail={"fulfillment_id": parcel.shopify_fulfillment_id, "tracking_number": number or None},
    )
    db.session.commit()
    return action_answer(order, True, t(locale, f"admin.order360.parcel.marked_{state}"))
