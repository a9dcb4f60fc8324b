"""Tracking in the embedded admin: the tracking page's branding and settings with a live preview, and the
demo's "next step" button on an order."""

from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, redirect, render_template, request, url_for

from app.admin import admin_required, page_context, shop_order
from app.extensions import db
from app.i18n import t
from app.tracking.branding import FONTS, BrandingError, tokens_for
from app.tracking.services import tracking_settings
from app.tracking.settings import sample_view, save_settings

tracking_admin_bp = Blueprint("tracking_admin", __name__, url_prefix="/app")


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
        return jsonify(error="invalid", fields=exc.errors), 422
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
