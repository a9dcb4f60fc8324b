"""The merchant's event destinations in the embedded admin (/app/integrations): a signed webhook and Klaviyo,
which events go out, what was delivered or not and why, and turning a switched-off destination back on."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, render_template
from sqlalchemy import func, select

from app.admin import admin_required, back_to, field_errors, page_context, settings_form, wants_json
from app.extensions import db
from app.i18n import N_, format_moment, request_locale, t, zone
from app.integrations.catalogue import CATALOGUE, CATALOGUE_VERSION, EVENT_NAMES
from app.integrations.models import DESTINATIONS, FlowTriggerUse, IntegrationSettings, OutgoingEvent
from app.integrations.services import (
    active_destinations,
    integration_settings,
    new_webhook_secret,
    send_test_event,
    set_klaviyo_key,
    turn_back_on,
    webhook_secret,
)
from app.validation import web_url

integrations_admin_bp = Blueprint("integrations_admin", __name__, url_prefix="/app")

ERROR_KEYS = (
    N_("integrations.error.body"),
    N_("integrations.error.webhook_url"),
    N_("integrations.error.klaviyo_key"),
    N_("integrations.error.events"),
    N_("integrations.error.destination"),
    N_("integrations.error.not_set_up"),
)
LABEL_KEYS = (
    N_("integrations.destination.webhook"),
    N_("integrations.destination.klaviyo"),
    N_("integrations.destination.shopify_flow"),
    N_("integrations.status.pending"),
    N_("integrations.status.delivered"),
    N_("integrations.status.failed"),
    N_("integrations.status.skipped"),
)


def _allow_private() -> bool:
    return current_app.config["SETTINGS"].extra.get("INTEGRATIONS_ALLOW_PRIVATE") == "1"


@integrations_admin_bp.get("/integrations")
@admin_required
def integrations_page():
    shop = g.admin.shop
    settings = integration_settings(db.session, shop.id)
    counts = {
        (destination, status): count
        for destination, status, count in db.session.execute(
            select(OutgoingEvent.destination, OutgoingEvent.status, func.count())
            .where(OutgoingEvent.shop_id == shop.id)
            .group_by(OutgoingEvent.destination, OutgoingEvent.status)
        ).all()
    }
    recent = (
        db.session.execute(
            select(OutgoingEvent).where(OutgoingEvent.shop_id == shop.id).order_by(OutgoingEvent.id.desc()).limit(25)
        )
        .scalars()
        .all()
    )
    flow_in_use = (
        db.session.execute(
            select(FlowTriggerUse.handle)
            .where(FlowTriggerUse.shop_id == shop.id, FlowTriggerUse.has_enabled_flow.is_(True))
            .order_by(FlowTriggerUse.handle)
        )
        .scalars()
        .all()
    )
    return render_template(
        "admin/integrations/settings.html",
        flow_in_use=flow_in_use,
        flow_off=bool(settings and "shopify_flow" in (settings.disabled or {})),
        settings=settings,
        secret=webhook_secret(settings) if settings else None,
        active=active_destinations(settings),
        destinations=DESTINATIONS,
        catalogue=CATALOGUE,
        version=CATALOGUE_VERSION,
        counts=counts,
        recent=recent,
        tz=zone(shop.iana_timezone),
        format_moment=format_moment,
        **page_context(),
    )


def validate(form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if "webhook_url" in form:
        raw = str(form["webhook_url"] or "").strip()
        url = web_url(raw) if raw else None
        if raw and (not url or not (url.startswith("https://") or _allow_private())):
            errors["webhook_url"] = "integrations.error.webhook_url"
        clean["webhook_url"] = url
    if "klaviyo_key" in form:
        raw = str(form["klaviyo_key"] or "").strip()
        # Klaviyo's private API keys start with "pk_"; blank keeps the key already saved.
        if raw and (not raw.startswith("pk_") or len(raw) > 200 or not raw.isascii() or " " in raw):
            errors["klaviyo_key"] = "integrations.error.klaviyo_key"
        elif raw:
            clean["klaviyo_key"] = raw
    if form.get("remove_klaviyo"):
        clean["klaviyo_key"] = ""
    if "events" in form:
        events = form["events"]
        if isinstance(events, str):
            events = [events]
        if not isinstance(events, list) or any(name not in EVENT_NAMES for name in events):
            errors["events"] = "integrations.error.events"
        else:
            clean["events"] = None if set(events) == set(EVENT_NAMES) else sorted(set(events))
    return clean, errors


def _settings_row(shop_id: int) -> IntegrationSettings:
    settings = integration_settings(db.session, shop_id)
    if settings is None:
        settings = IntegrationSettings(shop_id=shop_id)
        db.session.add(settings)
    return settings


@integrations_admin_bp.post("/api/integrations")
@admin_required
def save_integrations():
    form = settings_form({"events": "events_shown"})
    locale = request_locale()
    if form is None:
        return jsonify(error=t(locale, "integrations.error.body")), 400
    clean, errors = validate(form)
    if errors:
        return field_errors(errors)
    settings = _settings_row(g.admin.shop.id)
    if "webhook_url" in clean:
        settings.webhook_url = clean["webhook_url"]
    if "klaviyo_key" in clean:
        set_klaviyo_key(settings, clean["klaviyo_key"] or None)
    if "events" in clean:
        settings.events = clean["events"]
    if settings.webhook_url and (settings.webhook_secret_encrypted is None or form.get("rotate_secret")):
        new_webhook_secret(settings)
    db.session.commit()
    if wants_json():
        return jsonify(saved=True, secret=webhook_secret(settings), active=active_destinations(settings))
    return back_to("integrations_admin.integrations_page")


@integrations_admin_bp.post("/api/integrations/<destination>/on")
@admin_required
def turn_destination_on(destination: str):
    locale = request_locale()
    if destination not in DESTINATIONS:
        return jsonify(error=t(locale, "integrations.error.destination")), 404
    settings = _settings_row(g.admin.shop.id)
    turn_back_on(settings, destination)
    db.session.commit()
    if wants_json():
        return jsonify(active=active_destinations(settings))
    return back_to("integrations_admin.integrations_page")


@integrations_admin_bp.post("/api/integrations/<destination>/test")
@admin_required
def send_test(destination: str):
    locale = request_locale()
    if destination not in DESTINATIONS:
        return jsonify(error=t(locale, "integrations.error.destination")), 404
    settings = integration_settings(db.session, g.admin.shop.id)
    if destination not in active_destinations(settings):
        return jsonify(message=t(locale, "integrations.error.not_set_up")), 422
    assert settings is not None
    error = send_test_event(settings, destination, g.admin.shop)
    return jsonify(sent=error is None, error=error), 200 if error is None else 502


def integrations_ready(shop) -> bool:
    """Setup guide: a destination is set up."""
    return bool(active_destinations(integration_settings(db.session, shop.id)))
