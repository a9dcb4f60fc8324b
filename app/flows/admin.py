"""The merchant's flows pages in the embedded admin (/app/flows): the list (switch on and off, what each did), and
one flow's editor (when it starts, who it is for, each step's wait, channel and words in English and Thai, with
a preview of every step as the shopper gets it)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from app.admin import admin_required, page_context
from app.extensions import db
from app.flows.defaults import KINDS, STARTS_ON
from app.flows.rules import CHANNELS, LOCALES, MAX_STEPS, validate_flow
from app.flows.services import exit_reason_key, flow_counts, recent_enrolments, save_flow, set_flow_enabled, shop_flows
from app.i18n import N_, format_moment, request_locale, t, zone
from app.notifications.policy import marketing_limits
from app.notifications.rendering import render_message, sample_context, validate_template
from app.notifications.services import notification_settings
from app.orders.models import Order

flows_admin_bp = Blueprint("flows_admin", __name__, url_prefix="/app")

LABEL_KEYS = (
    N_("flows.kind.post_delivery"),
    N_("flows.kind.replenishment"),
    N_("flows.kind.winback"),
    N_("flows.kind.first_order_thanks"),
    N_("flows.kind_help.post_delivery"),
    N_("flows.kind_help.replenishment"),
    N_("flows.kind_help.winback"),
    N_("flows.kind_help.first_order_thanks"),
    N_("flows.starts_on.delivered"),
    N_("flows.starts_on.return_resolved"),
    N_("flows.starts_on.survey_answered"),
    N_("flows.starts_on.order_placed"),
    N_("flows.channel.email"),
    N_("flows.channel.sms"),
    N_("flows.channel.line"),
    N_("flows.status.active"),
    N_("flows.status.completed"),
    N_("flows.status.exited"),
    N_("flows.locale.en"),
    N_("flows.locale.th"),
    N_("flows.admin.seg.tags"),
    N_("flows.admin.seg.products"),
    N_("flows.admin.seg.locales"),
    N_("flows.admin.seg.tiers"),
)
ERROR_KEYS = (
    N_("flows.error.starts_on"),
    N_("flows.error.segment"),
    N_("flows.error.whole_number"),
    N_("flows.error.amount"),
    N_("flows.error.list"),
    N_("flows.error.locales"),
    N_("flows.error.products"),
    N_("flows.error.order_range"),
    N_("flows.error.steps"),
    N_("flows.error.wait_days"),
    N_("flows.error.wait_order"),
    N_("flows.error.channel"),
    N_("flows.error.subject"),
    N_("flows.error.body"),
    N_("flows.error.template"),
    N_("flows.error.enabled"),
)


def _locale_arg() -> dict[str, str]:
    return {"locale": request.args["locale"]} if request.args.get("locale") else {}


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.is_json


def _kind_or_404(kind: str) -> str:
    if kind not in KINDS:
        abort(404)
    return kind


@flows_admin_bp.get("/flows")
@admin_required
def flows_page():
    shop = g.admin.shop
    session = db.session
    flows = shop_flows(session, shop.id)
    counts = flow_counts(session, shop.id)
    recent = recent_enrolments(session, shop.id)
    by_id = {f.id: f.kind for f in flows.values() if f.id is not None}
    order_ids = {e.shopify_order_id for e in recent}
    orders = (
        dict(
            session.execute(
                select(Order.shopify_order_id, Order.name).where(
                    Order.shop_id == shop.id, Order.shopify_order_id.in_(order_ids)
                )
            ).all()
        )
        if order_ids
        else {}
    )
    settings = notification_settings(session, shop.id)
    per_day, per_week = marketing_limits(settings)
    return render_template(
        "admin/flows/page.html",
        flows=[flows[kind] for kind in KINDS],
        counts=counts,
        recent=recent,
        flow_kinds=by_id,
        orders=orders,
        per_day=per_day,
        per_week=per_week,
        quiet=(settings.quiet_hours_start, settings.quiet_hours_end),
        exit_reason_key=exit_reason_key,
        tz=zone(shop.iana_timezone),
        format_moment=format_moment,
        **page_context(),
    )


@flows_admin_bp.post("/flows/<kind>/switch")
@admin_required
def switch_flow(kind: str):
    _kind_or_404(kind)
    body = request.get_json(silent=True) if request.is_json else request.form
    value = (body or {}).get("enabled") if isinstance(body, dict) or hasattr(body, "get") else None
    if value in (True, "1", "true", "on"):
        enabled = True
    elif value in (False, "0", "false", "off"):
        enabled = False
    else:
        return jsonify(errors={"enabled": t(request_locale(), "flows.error.enabled")}), 422
    flow = set_flow_enabled(db.session, g.admin.shop.id, kind, enabled)
    db.session.commit()
    if _wants_json():
        return jsonify(kind=kind, enabled=flow.is_enabled)
    return redirect(url_for("flows_admin.flows_page", **_locale_arg()))


def _form_values() -> dict[str, Any] | None:
    """The edit as `validate_flow` reads it, from JSON or from the form's flat field names."""
    if request.is_json:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else None
    form = request.form
    try:
        count = int(form.get("step_count", "0"))
    except ValueError:
        return None
    if not 0 <= count <= MAX_STEPS + 1:
        return None
    steps = []
    for index in range(count):
        steps.append(
            {
                "wait_days": form.get(f"steps.{index}.wait_days", ""),
                "channel": form.get(f"steps.{index}.channel"),
                "texts": {
                    locale: {
                        "subject": form.get(f"steps.{index}.{locale}.subject", ""),
                        "body": form.get(f"steps.{index}.{locale}.body", ""),
                    }
                    for locale in LOCALES
                },
            }
        )
    return {
        "starts_on": form.get("starts_on"),
        "segment": {
            name: form.get(f"segment.{name}", "")
            for name in ("min_orders", "max_orders", "min_spent", "tags", "products", "locales", "tiers")
        },
        "steps": steps,
    }


def _template_errors(steps: list[dict[str, Any]]) -> dict[str, str]:
    errors = {}
    for index, step in enumerate(steps):
        for locale, text in (step.get("texts") or {}).items():
            problems = validate_template(text.get("subject") or None, text.get("body") or "")
            for field in problems:
                errors[f"steps.{index}.{locale}.{field}"] = "flows.error.template"
    return errors


def _previews(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each step as the shopper gets it, in English and Thai, on the sample order."""
    previews = []
    for step in steps:
        by_locale = {}
        for locale in LOCALES:
            text = (step.get("texts") or {}).get(locale) or {}
            channel = step.get("channel") if step.get("channel") in CHANNELS else "email"
            override = {"subject": text.get("subject"), "body": text.get("body"), "short": text.get("body")}
            rendered = render_message("flow_step", channel, locale, sample_context(locale), override)
            by_locale[locale] = {"subject": rendered.subject, "text": rendered.text, "error": rendered.template_error}
        previews.append(by_locale)
    return previews


def _editor(kind: str, flow_values: dict[str, Any], errors: dict[str, str], status: int = 200):
    locale = request_locale()
    steps = flow_values.get("steps") or []
    return (
        render_template(
            "admin/flows/edit.html",
            kind=kind,
            values=flow_values,
            steps=steps,
            previews=_previews(steps) if not any(k.startswith("steps") for k in errors) else [],
            errors={field: t(locale, key) for field, key in errors.items()},
            starts_on_choices=STARTS_ON,
            channels=CHANNELS,
            locales=LOCALES,
            max_steps=MAX_STEPS,
            back_url=url_for("flows_admin.flows_page", **_locale_arg()),
            **page_context(),
        ),
        status,
    )


@flows_admin_bp.get("/flows/<kind>")
@admin_required
def edit_flow(kind: str):
    _kind_or_404(kind)
    flow = shop_flows(db.session, g.admin.shop.id)[kind]
    values = {"starts_on": flow.starts_on, "segment": dict(flow.segment or {}), "steps": list(flow.steps or [])}
    seg = values["segment"]
    for name in ("tags", "products", "locales", "tiers"):
        if isinstance(seg.get(name), list):
            seg[name] = ", ".join(str(v) for v in seg[name])
    return _editor(kind, values, {})


@flows_admin_bp.post("/flows/<kind>")
@admin_required
def save_flow_page(kind: str):
    _kind_or_404(kind)
    values = _form_values()
    locale = request_locale()
    if values is None:
        return jsonify(error=t(locale, "flows.error.steps")), 400
    action = request.form.get("action", "") if not request.is_json else ""
    if action in ("add_step", "remove_step") or action.startswith("remove_step:"):
        steps = values["steps"]
        if action == "add_step" and len(steps) < MAX_STEPS:
            last = steps[-1] if steps else {"wait_days": 0, "channel": "email", "texts": {}}
            steps.append({**last, "wait_days": last.get("wait_days") or 0})
        elif action.startswith("remove_step:") and len(steps) > 1:
            try:
                steps.pop(int(action.split(":", 1)[1]))
            except (ValueError, IndexError):
                pass
        return _editor(kind, values, {})
    clean, errors = validate_flow(values)
    if not errors:
        errors = _template_errors(clean["steps"])
    if errors:
        if _wants_json():
            return jsonify(errors={field: t(locale, key) for field, key in errors.items()}), 422
        return _editor(kind, values, errors, 422)
    save_flow(db.session, g.admin.shop.id, kind, clean)
    db.session.commit()
    if _wants_json():
        return jsonify(saved=True, kind=kind)
    return redirect(url_for("flows_admin.edit_flow", kind=kind, **_locale_arg()))
