"""The merchant's attention queue and alert settings in the embedded admin (/app), on the shared admin kit."""

from __future__ import annotations

from typing import Any

from babel.dates import format_timedelta
from flask import Blueprint, abort, current_app, g, jsonify, render_template, request
from sqlalchemy import select

from app.admin import admin_required, back_to, field_errors, locale_arg, page_context, settings_form, wants_json
from app.alerts.models import KINDS, MODES, AlertSettings, MerchantAlert
from app.alerts.services import (
    alert_settings,
    mark_handled,
    new_webhook_secret,
    open_alerts,
    send_test,
    webhook_secret,
)
from app.db import utcnow
from app.extensions import db
from app.i18n import N_, format_moment, request_locale, t, zone
from app.orders.models import Order
from app.validation import email_address, web_url

alerts_admin_bp = Blueprint("alerts_admin", __name__, url_prefix="/app")

ERROR_KEYS = (
    N_("alerts.error.mode"),
    N_("alerts.error.email"),
    N_("alerts.error.webhook_url"),
    N_("alerts.error.locale"),
    N_("alerts.error.kinds"),
)


@alerts_admin_bp.get("/attention")
@admin_required
def attention_page():
    """Parcels that need the shop: open alerts, oldest first, with what was told and one-click handling."""
    shop = g.admin.shop
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else None
    page = open_alerts(db.session, shop.id, kind, after=request.args.get("after"))
    alerts = page.alerts
    order_ids = {a.shopify_order_id for a in alerts if a.shopify_order_id}
    orders = (
        dict(
            db.session.execute(
                select(Order.shopify_order_id, Order.id).where(
                    Order.shop_id == shop.id, Order.shopify_order_id.in_(order_ids)
                )
            ).all()
        )
        if order_ids
        else {}
    )
    handled = (
        db.session.execute(
            select(MerchantAlert)
            .where(MerchantAlert.shop_id == shop.id, MerchantAlert.handled_at.is_not(None))
            .order_by(MerchantAlert.handled_at.desc())
            .limit(20)
        )
        .scalars()
        .all()
    )
    settings = alert_settings(db.session, shop.id)
    now = utcnow()
    locale = request_locale()
    return render_template(
        "admin/alerts/attention.html",
        age=lambda moment: format_timedelta(now - moment, locale=locale, threshold=1.5),
        alerts=alerts,
        page=page,
        is_first_page=not request.args.get("after"),
        page_args={**({"kind": kind} if kind else {}), **locale_arg()},
        handled=handled,
        orders=orders,
        kinds=KINDS,
        kind=kind,
        settings=settings,
        tz=zone(shop.iana_timezone),
        format_moment=format_moment,
        **page_context(),
    )


@alerts_admin_bp.post("/attention/<int:alert_id>/handled")
@admin_required
def alert_handled(alert_id: int):
    alert = mark_handled(db.session, g.admin.shop.id, alert_id, g.admin.user_id or "unknown")
    if alert is None:
        abort(404)
    db.session.commit()
    if wants_json():
        return jsonify(id=alert.id, handled_at=alert.handled_at.isoformat(), handled_by=alert.handled_by)
    return back_to("alerts_admin.attention_page")


@alerts_admin_bp.get("/alerts/settings")
@admin_required
def alert_settings_page():
    settings = alert_settings(db.session, g.admin.shop.id)
    return render_template(
        "admin/alerts/settings.html",
        settings=settings,
        kinds=KINDS,
        modes=MODES,
        secret=webhook_secret(settings),
        **page_context(),
    )


def validate_alert_settings(form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields a save carries, checked one by one: (clean values, field -> error key)."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if "mode" in form:
        if form["mode"] in MODES:
            clean["mode"] = form["mode"]
        else:
            errors["mode"] = "alerts.error.mode"
    if "notify_to" in form:
        raw = str(form["notify_to"] or "").strip()
        address = email_address(raw) if raw else None
        if raw and not address:
            errors["notify_to"] = "alerts.error.email"
        clean["notify_to"] = address
    if "webhook_url" in form:
        raw = str(form["webhook_url"] or "").strip()
        url = web_url(raw) if raw else None
        if raw and (not url or not url.startswith("https://")) and not (url and _allow_http()):
            errors["webhook_url"] = "alerts.error.webhook_url"
        clean["webhook_url"] = url
    if "locale" in form:
        if form["locale"] in ("en", "th"):
            clean["locale"] = form["locale"]
        else:
            errors["locale"] = "alerts.error.locale"
    if "kinds" in form:
        kinds = form["kinds"]
        if isinstance(kinds, str):
            kinds = [kinds]
        if not isinstance(kinds, list) or any(kind not in KINDS for kind in kinds):
            errors["kinds"] = "alerts.error.kinds"
        else:
            clean["kinds"] = None if set(kinds) == set(KINDS) else sorted(set(kinds))
    return clean, errors


def _allow_http() -> bool:
    return current_app.config["SETTINGS"].extra.get("ALERT_WEBHOOK_ALLOW_PRIVATE") == "1"


@alerts_admin_bp.post("/api/alerts/settings")
@admin_required
def save_alert_settings():
    form = settings_form({"kinds": "kinds_shown"})
    locale = request_locale()
    if form is None:
        return jsonify(error=t(locale, "alerts.error.body")), 400
    clean, errors = validate_alert_settings(form)
    if errors:
        return field_errors(errors)
    shop_id = g.admin.shop.id
    settings = db.session.execute(select(AlertSettings).where(AlertSettings.shop_id == shop_id)).scalar_one_or_none()
    if settings is None:
        settings = AlertSettings(shop_id=shop_id, mode="instant", locale="en")
        db.session.add(settings)
    for key, value in clean.items():
        setattr(settings, key, value)
    if settings.webhook_url and (settings.webhook_secret_encrypted is None or form.get("rotate_secret")):
        new_webhook_secret(settings)
    db.session.commit()
    if wants_json():
        return jsonify(saved=True, secret=webhook_secret(settings))
    return back_to("alerts_admin.alert_settings_page")


@alerts_admin_bp.post("/api/alerts/test")
@admin_required
def send_test_alert():
    settings = alert_settings(db.session, g.admin.shop.id)
    if not (settings.notify_to or settings.webhook_url):
        return jsonify(message=t(request_locale(), "alerts.test.nothing_set_up")), 422
    result = send_test(g.admin.shop, settings)
    status = 200 if (result.emailed or not settings.notify_to) and (result.webhook or not settings.webhook_url) else 502
    return jsonify(emailed=result.emailed, webhook=result.webhook, error=result.error), status


def order_panel(order: Order) -> dict[str, Any] | None:
    """The order page's alerts: open ones first, then handled or cleared, with who handled them and when."""
    alerts = (
        db.session.execute(
            select(MerchantAlert)
            .where(MerchantAlert.shop_id == order.shop_id, MerchantAlert.shopify_order_id == order.shopify_order_id)
            .order_by(MerchantAlert.created_at.desc())
        )
        .scalars()
        .all()
    )
    if not alerts:
        return None
    open_first = sorted(alerts, key=lambda a: a.handled_at is not None or a.resolved_at is not None)
    return {"alerts": open_first}


def order_summary(order: Order) -> list[dict[str, Any]] | None:
    """The order's alerts as JSON (the help-desk feed)."""
    panel = order_panel(order)
    if panel is None:
        return None
    locale = request_locale()
    return [
        {
            "kind": alert.kind,
            "label": t(locale, f"alerts.kind.{alert.kind}"),
            "since": alert.created_at.isoformat(),
            "handled_at": alert.handled_at.isoformat() if alert.handled_at else None,
            "handled_by": alert.handled_by,
            "cleared_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        }
        for alert in panel["alerts"]
    ]


def alerts_ready(shop: Any) -> bool:
    """The setup guide: the shop will be told about problems (an email address or a webhook, not switched off)."""
    settings = alert_settings(db.session, shop.id)
    return settings.mode != "off" and bool(settings.notify_to or settings.webhook_url)
