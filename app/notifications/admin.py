"""Shopper notifications in the embedded admin: settings, template editor, delivery log and message viewer.

Every query is scoped by the signed-in shop (g.admin.shop.id); an id of another shop's row is a 404.
Mutations are JSON fetches (App Bridge adds the session token). Merchant text is escaped everywhere:
Jinja autoescapes the pages, the email HTML is shown in a sandboxed `<iframe srcdoc>` (no scripts, no
same-origin), and the page scripts only ever set `textContent` or `srcdoc`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify, render_template, request, url_for
from sqlalchemy import and_, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.admin import acting_user, action_answer, admin_required, admin_time, page_context, record_activity, shop_order
from app.db import dialect_insert, utcnow
from app.extensions import db
from app.i18n import N_, request_locale, t
from app.notifications import policy
from app.notifications.channels import (
    OutgoingMessage,
    PermanentSendError,
    TransientSendError,
    configured_channels,
    get_channel,
)
from app.notifications.defaults import DEFAULTS, FLOW_TRIGGERS, MANUAL_TRIGGERS, TRIGGERS
from app.notifications.models import STATUSES, LinkClick, Notification, NotificationSettings, NotificationTemplate
from app.notifications.policy import MAX_HORIZON_HOURS
from app.notifications.preferences import normalise_phone
from app.notifications.rendering import MAX_BODY, MAX_SHORT, MAX_SUBJECT, render_message, sample_context
from app.notifications.rendering import validate_template as _validate_source
from app.notifications.services import (
    channel_enabled,
    default_notification_settings,
    latest_update,
    message_pause,
    notification_settings,
    pause_messages,
    resume_messages,
    send_by_hand,
)
from app.notifications.triggers import shopper_contacts
from app.orders.models import Order
from app.validation import email_address

notifications_admin_bp = Blueprint("notifications_admin", __name__, url_prefix="/app")

CHANNELS = ("email", "sms", "line")
TEMPLATE_CHANNELS = ("email", "text")  # "text" is the short message shared by SMS and LINE
LOCALES = ("en", "th")
PAGE_SIZE = 50
MAX_SENDER_NAME = 120
MAX_CAP = 20

# Labels are catalog keys, shown in the merchant's language (`labels(TRIGGER_LABELS)` in a request).
TRIGGER_LABELS = {
    trigger: f"admin.notify.trigger.{trigger}" for trigger in (*TRIGGERS, *MANUAL_TRIGGERS, *FLOW_TRIGGERS)
}
N_("admin.notify.trigger.order_confirmed"), N_("admin.notify.trigger.shipped"), N_("admin.notify.trigger.in_transit")
N_("admin.notify.trigger.out_for_delivery"), N_("admin.notify.trigger.delivered")
N_("admin.notify.trigger.order_delivered"), N_("admin.notify.trigger.attempted_delivery")
N_("admin.notify.trigger.ready_for_pickup"), N_("admin.notify.trigger.delayed"), N_("admin.notify.trigger.exception")
N_("admin.notify.trigger.return_requested"), N_("admin.notify.trigger.return_approved")
N_("admin.notify.trigger.return_declined"), N_("admin.notify.trigger.return_received")
N_("admin.notify.trigger.return_resolved"), N_("admin.notify.trigger.tracking_link")
N_("admin.notify.trigger.delivery_survey")
N_("admin.notify.trigger.return_resolved")
N_("admin.notify.trigger.review_request"), N_("admin.notify.trigger.review_reply")
N_("admin.notify.trigger.product_content")
N_("admin.notify.trigger.flow_step")
CHANNEL_LABELS = {
    "email": N_("admin.notify.channel.email"),
    "sms": N_("admin.notify.channel.sms"),
    "line": N_("admin.notify.channel.line"),
    "text": N_("admin.notify.channel.text"),
}
LOCALE_LABELS = {"en": N_("admin.language.en"), "th": N_("admin.language.th")}
STATUS_LABELS = {status: f"admin.notify.status.{status}" for status in STATUSES}
N_("admin.notify.status.queued"), N_("admin.notify.status.deferred"), N_("admin.notify.status.sent")
N_("admin.notify.status.delivered"), N_("admin.notify.status.failed"), N_("admin.notify.status.suppressed")
VARIABLES = (
    ("first_name", N_("admin.notify.var.first_name")),
    ("shop_name", N_("admin.notify.var.shop_name")),
    ("order_name", N_("admin.notify.var.order_name")),
    ("status_label", N_("admin.notify.var.status_label")),
    ("estimate", N_("admin.notify.var.estimate")),
    ("carrier", N_("admin.notify.var.carrier")),
    ("tracking_number", N_("admin.notify.var.tracking_number")),
    ("items", N_("admin.notify.var.items")),
    ("tracking_url", N_("admin.notify.var.tracking_url")),
    ("return_url", N_("admin.notify.var.return_url")),
    ("next_steps", N_("admin.notify.var.next_steps")),
    ("decline_reason", N_("admin.notify.var.decline_reason")),
)


def _t(key: str, **values: Any) -> str:
    return t(request_locale(), key, **values)


def labels(keys: dict[str, str]) -> dict[str, str]:
    """A map of codes to catalog keys, as the merchant reads it."""
    return {code: _t(key) for code, key in keys.items()}


SAMPLE_UNSUBSCRIBE_URL = "https://example.com/unsubscribe"

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


class InvalidNotificationInput(ValueError):
    """A form or payload with problems, per field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- settings -----------------------------------------------------------------------------------------------


def _whole_number(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise ValueError
    if not low <= number <= high:
        raise ValueError
    return number


def effective_triggers(settings: NotificationSettings) -> dict[str, dict[str, bool]]:
    """The full trigger × channel grid as it applies now (stored choices over the defaults)."""
    return {
        trigger: {channel: channel_enabled(settings, trigger, channel) for channel in CHANNELS} for trigger in TRIGGERS
    }


def validate_notification_settings(form: dict[str, Any], current: NotificationSettings) -> dict[str, Any]:
    """Clean values for the fields present in `form` (absent ones stay as they are).

    Raises InvalidNotificationInput naming every bad field, so nothing is saved half-way.
    """
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if "sender_name" in form:
        name = form["sender_name"]
        if name is not None and not isinstance(name, str):
            errors["sender_name"] = "text"
        else:
            name = (name or "").strip()
            if _CONTROL.search(name):
                errors["sender_name"] = "one line, without control characters"
            elif len(name) > MAX_SENDER_NAME:
                errors["sender_name"] = f"at most {MAX_SENDER_NAME} characters"
            else:
                clean["sender_name"] = name or None
    if "reply_to" in form:
        address = form["reply_to"]
        if address is not None and not isinstance(address, str):
            errors["reply_to"] = "an email address"
        else:
            address = (address or "").strip()
            if address and email_address(address) is None:
                errors["reply_to"] = "an email address, like help@yourshop.com"
            else:
                clean["reply_to"] = address or None
    for field, low, high in (
        ("quiet_hours_start", 0, 23),
        ("quiet_hours_end", 0, 23),
        ("max_per_order_per_day", 1, MAX_CAP),
        ("message_horizon_hours", 1, MAX_HORIZON_HOURS),
        ("marketing_per_day", 1, policy.MAX_MARKETING_PER_DAY),
        ("marketing_per_week", 1, policy.MAX_MARKETING_PER_WEEK),
    ):
        if field in form:
            try:
                clean[field] = _whole_number(form[field], low, high)
            except ValueError:
                errors[field] = f"a whole number from {low} to {high}"
    if "fallback_to_email" in form:
        if isinstance(form["fallback_to_email"], bool):
            clean["fallback_to_email"] = form["fallback_to_email"]
        else:
            errors["fallback_to_email"] = "true or false"
    if "triggers" in form:
        grid = form["triggers"]
        if not isinstance(grid, dict):
            errors["triggers"] = "an object of trigger → {channel: true/false}"
        else:
            merged = effective_triggers(current)
            problems = []
            for trigger, channels in grid.items():
                if trigger not in TRIGGERS:
                    problems.append(f"unknown trigger {str(trigger)[:40]!r}")
                    continue
                if not isinstance(channels, dict):
                    problems.append(f"{trigger}: an object of channel → true/false")
                    continue
                for channel, enabled in channels.items():
                    if channel not in CHANNELS:
                        problems.append(f"{trigger}: unknown channel {str(channel)[:20]!r}")
                    elif not isinstance(enabled, bool):
                        problems.append(f"{trigger}.{channel}: true or false")
                    else:
                        merged[trigger][channel] = enabled
            if problems:
                errors["triggers"] = "; ".join(problems[:5])
            else:
                clean["triggers"] = merged
    if errors:
        raise InvalidNotificationInput(errors)
    return clean


def save_notification_settings(session: Session, shop_id: int, form: dict[str, Any]) -> NotificationSettings:
    for attempt in range(2):
        settings = notification_settings(session, shop_id)
        clean = validate_notification_settings(form, settings)
        for key, value in clean.items():
            setattr(settings, key, value)
        if settings.id is None:
            session.add(settings)
        try:
            session.commit()
            return settings
        except IntegrityError:
            session.rollback()  # another request created the row first: apply the change to that one
            if attempt:
                raise
    raise AssertionError("unreachable")


def _settings_json(settings: NotificationSettings) -> dict[str, Any]:
    return {
        "sender_name": settings.sender_name,
        "reply_to": settings.reply_to,
        "quiet_hours_start": settings.quiet_hours_start,
        "quiet_hours_end": settings.quiet_hours_end,
        "max_per_order_per_day": settings.max_per_order_per_day,
        "fallback_to_email": settings.fallback_to_email,
        "message_horizon_hours": settings.message_horizon_hours,
        "marketing_per_day": settings.marketing_per_day or policy.DEFAULT_MARKETING_PER_DAY,
        "marketing_per_week": settings.marketing_per_week or policy.DEFAULT_MARKETING_PER_WEEK,
        "triggers": effective_triggers(settings),
    }


def _channel_status() -> dict[str, str]:
    """How each channel would send right now, for the settings page."""
    from app.notifications.channels import get_channel

    config = current_app.config["SETTINGS"]
    status = {}
    for name in CHANNELS:
        channel = get_channel(name, config)
        if channel is None:
            status[name] = t(request_locale(), "admin.notify.channel_not_set_up")
        elif type(channel).__module__.endswith(".capture"):
            status[name] = t(request_locale(), "admin.notify.channel_captured")
        else:
            status[name] = t(request_locale(), "admin.notify.channel_ready")
    return status


def _is_demo_env() -> bool:
    return current_app.config["SETTINGS"].env == "demo"


def _json_object() -> dict[str, Any] | None:
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else None


def _bad_json():
    return jsonify(error="invalid", message="send a JSON object"), 400


def _invalid(errors: dict[str, str]):
    return jsonify(error="invalid", fields=errors), 422


@notifications_admin_bp.get("/notifications")
@admin_required
def notifications_page():
    shop = g.admin.shop
    settings = notification_settings(db.session, shop.id)
    overrides: dict[str, list[str]] = {}
    for trigger, channel, locale in db.session.execute(
        select(NotificationTemplate.trigger, NotificationTemplate.channel, NotificationTemplate.locale)
        .where(NotificationTemplate.shop_id == shop.id)
        .order_by(NotificationTemplate.channel, NotificationTemplate.locale)
    ):
        overrides.setdefault(trigger, []).append(f"{_t(CHANNEL_LABELS[channel])} ({_t(LOCALE_LABELS[locale])})")
    return render_template(
        "admin/notifications/settings.html",
        settings=settings,
        grid=effective_triggers(settings),
        triggers=TRIGGERS,
        channels=CHANNELS,
        trigger_labels=labels(TRIGGER_LABELS),
        channel_labels=labels(CHANNEL_LABELS),
        channel_status=_channel_status(),
        # What "restore the defaults" sets: the default moments, on the channels whose accounts are set up.
        default_channels=effective_triggers(default_notification_settings(shop.id)),
        overrides=overrides,
        max_cap=MAX_CAP,
        max_horizon=MAX_HORIZON_HOURS,
        max_marketing_day=policy.MAX_MARKETING_PER_DAY,
        max_marketing_week=policy.MAX_MARKETING_PER_WEEK,
        is_demo_env=_is_demo_env(),
        **page_context(),
    )


@notifications_admin_bp.post("/api/notifications/settings")
@admin_required
def save_notification_settings_json():
    payload = _json_object()
    if payload is None:
        return _bad_json()
    try:
        settings = save_notification_settings(db.session, g.admin.shop.id, payload)
    except InvalidNotificationInput as exc:
        db.session.rollback()
        return _invalid(exc.errors)
    return jsonify(status="saved", settings=_settings_json(settings))


# --- templates ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateKey:
    trigger: str
    channel: str  # "email" or "text"
    locale: str

    @property
    def is_email(self) -> bool:
        return self.channel == "email"


def _template_key(trigger: Any, channel: Any, locale: Any) -> tuple[TemplateKey | None, dict[str, str]]:
    errors: dict[str, str] = {}
    if not isinstance(trigger, str) or trigger not in TRIGGERS:
        errors["trigger"] = "one of: " + ", ".join(TRIGGERS)
    if not isinstance(channel, str) or channel not in TEMPLATE_CHANNELS:
        errors["channel"] = "email or text"
    if not isinstance(locale, str) or locale not in LOCALES:
        errors["locale"] = "en or th"
    if errors:
        return None, errors
    return TemplateKey(trigger, channel, locale), {}


def default_source(key: TemplateKey) -> tuple[str | None, str]:
    """The built-in (subject, body) of a template: the body is the short text for SMS and LINE."""
    default = DEFAULTS[key.locale][key.trigger]
    if key.is_email:
        return default["subject"], default["body"]
    return None, default["short"]


def _stored_template(shop_id: int, key: TemplateKey) -> NotificationTemplate | None:
    return db.session.execute(
        select(NotificationTemplate).where(
            NotificationTemplate.shop_id == shop_id,
            NotificationTemplate.trigger == key.trigger,
            NotificationTemplate.channel == key.channel,
            NotificationTemplate.locale == key.locale,
        )
    ).scalar_one_or_none()


def clean_template(key: TemplateKey, subject: Any, body: Any) -> tuple[str | None, str, dict[str, str]]:
    """(subject, body, errors): both must be text that compiles and renders on the sample order, and fits."""
    errors: dict[str, str] = {}
    clean_subject = None
    if key.is_email:
        if not isinstance(subject, str) or not subject.strip():
            errors["subject"] = "a subject is required"
        else:
            clean_subject = " ".join(subject.split())
    if not isinstance(body, str) or not body.strip():
        errors["body"] = "a message is required"
        clean_body = ""
    else:
        clean_body = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if key.is_email:
        problems = _validate_source(
            clean_subject if "subject" not in errors else None, clean_body if "body" not in errors else None
        )
    else:
        problems = {
            "body" if field == "short" else field: problem
            for field, problem in _validate_source(None, None, clean_body if "body" not in errors else None).items()
        }
    for field, problem in problems.items():
        errors.setdefault(field, problem)
    return clean_subject, clean_body, errors


def _branding(shop_id: int) -> dict[str, str]:
    """The shop's email branding, as the sender builds it (app/notifications/services.py)."""
    from app.tracking.branding import tokens_for
    from app.tracking.services import tracking_settings

    tracking = tracking_settings(db.session, shop_id)
    tokens = tokens_for(tracking)
    return {
        "accent": tokens.accent,
        "text": tokens.text,
        "background": tokens.background,
        "font_stack": tokens.font_stack,
        "radius": f"{tokens.radius_px}px",
        "logo_url": tracking.logo_url or "",
    }


def render_preview(key: TemplateKey, subject: str | None, body: str):
    """The message as a shopper would get it, on the sample order, with this shop's name and branding."""
    shop = g.admin.shop
    context = {**sample_context(key.locale), "shop_name": shop.name or shop.domain.split(".")[0]}
    override = {"subject": subject, "body": body} if key.is_email else {"short": body}
    return render_message(
        key.trigger,
        "email" if key.is_email else "sms",
        key.locale,
        context,
        override,
        _branding(shop.id) if key.is_email else None,
        SAMPLE_UNSUBSCRIBE_URL if key.is_email else None,
    )


_HEAD = re.compile(r"<head(?:\s[^>]*)?>", re.IGNORECASE)
_DOCTYPE = re.compile(r"\s*<!doctype[^>]*>", re.IGNORECASE)
_INERT_BASE = '<base target="_blank">'


def inert_links(html: str | None) -> str | None:
    """The email HTML for showing in the admin's sandboxed iframe, with its links made inert.

    A sandbox without allow-popups blocks `target=_blank` navigation, so clicking the tracking button or the
    unsubscribe link in a preview neither counts as a shopper's click nor leaves the admin.
    """
    if not html:
        return html
    match = _HEAD.search(html) or _DOCTYPE.match(html)  # never before a doctype: that means quirks mode
    at = match.end() if match else 0
    return html[:at] + _INERT_BASE + html[at:]


def _preview_json(rendered) -> dict[str, Any]:
    return {
        "subject": rendered.subject,
        "text": rendered.text,
        "html": inert_links(rendered.html),
        "length": len(rendered.text.encode("utf-16-le")) // 2,
    }


@notifications_admin_bp.get("/notifications/templates/<trigger>")
@admin_required
def template_editor(trigger: str):
    # `lang` is the template's language; `locale` is the admin's (Shopify's parameter), read for old links.
    language = request.args.get("lang") or request.args.get("locale", "en")
    key, errors = _template_key(trigger, request.args.get("channel", "email"), language)
    if key is None:
        abort(404)
    stored = _stored_template(g.admin.shop.id, key)
    default_subject, default_body = default_source(key)
    subject, body = (stored.subject, stored.body) if stored else (default_subject, default_body)
    _, _, problems = clean_template(key, subject, body)
    rendered = render_preview(key, subject, body)
    return render_template(
        "admin/notifications/template.html",
        key=key,
        trigger_label=_t(TRIGGER_LABELS[key.trigger]),
        channel_label=_t(CHANNEL_LABELS[key.channel]),
        locale_label=_t(LOCALE_LABELS[key.locale]),
        variants=[
            (channel, locale, f"{_t(CHANNEL_LABELS[channel])} · {_t(LOCALE_LABELS[locale])}")
            for channel in TEMPLATE_CHANNELS
            for locale in LOCALES
        ],
        subject=subject,
        body=body,
        is_override=stored is not None,
        problems=problems,
        preview=_preview_json(rendered),
        variables=[(name, _t(key)) for name, key in VARIABLES],
        limits={"subject": MAX_SUBJECT, "body": MAX_BODY if key.is_email else MAX_SHORT},
        is_demo_env=_is_demo_env(),
        **page_context(),
    )


def _template_payload() -> tuple[dict[str, Any] | None, TemplateKey | None, dict[str, str]]:
    payload = _json_object()
    if payload is None:
        return None, None, {}
    key, errors = _template_key(payload.get("trigger"), payload.get("channel"), payload.get("locale"))
    return payload, key, errors


def _checked_template():
    """((key, subject, body), None) for a posted template that validates, else (None, the 400/422 to send)."""
    payload, key, errors = _template_payload()
    if payload is None:
        return None, _bad_json()
    if key is None:
        return None, _invalid(errors)
    subject, body, errors = clean_template(key, payload.get("subject"), payload.get("body"))
    if errors:
        return None, _invalid(errors)
    return (key, subject, body), None


@notifications_admin_bp.post("/api/notifications/templates")
@admin_required
def save_template_json():
    checked, refusal = _checked_template()
    if checked is None:
        return refusal
    key, subject, body = checked
    now = utcnow()
    table = NotificationTemplate.__table__
    stmt = dialect_insert(db.session, table).values(
        shop_id=g.admin.shop.id,
        trigger=key.trigger,
        channel=key.channel,
        locale=key.locale,
        subject=subject,
        body=body,
        updated_at=now,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["shop_id", "trigger", "channel", "locale"],
        set_={"subject": subject, "body": body, "updated_at": now},
    ).returning(table.c.id)
    template_id = db.session.execute(stmt).scalar_one()
    db.session.commit()
    return jsonify(status="saved", id=template_id)


@notifications_admin_bp.post("/api/notifications/templates/preview")
@admin_required
def preview_template_json():
    checked, refusal = _checked_template()
    if checked is None:
        return refusal
    key, subject, body = checked
    return jsonify(_preview_json(render_preview(key, subject, body)))


@notifications_admin_bp.post("/api/notifications/templates/reset")
@admin_required
def reset_template_json():
    payload, key, errors = _template_payload()
    if payload is None:
        return _bad_json()
    if key is None:
        return _invalid(errors)
    deleted = db.session.execute(
        delete(NotificationTemplate).where(
            NotificationTemplate.shop_id == g.admin.shop.id,
            NotificationTemplate.trigger == key.trigger,
            NotificationTemplate.channel == key.channel,
            NotificationTemplate.locale == key.locale,
        )
    ).rowcount
    db.session.commit()
    subject, body = default_source(key)
    return jsonify(
        status="reset",
        deleted=bool(deleted),
        subject=subject,
        body=body,
        preview=_preview_json(render_preview(key, subject, body)),
    )


# --- the delivery log ---------------------------------------------------------------------------------------


def fmt_time(value) -> str:
    """A moment in the shop's time zone and the merchant's language."""
    return admin_time(value)


def is_captured(notification: Notification) -> bool:
    return (notification.provider_message_id or "").startswith("captured:")


def explain(notification: Notification) -> str:
    """Why the message was, or was not, sent, in the merchant's words."""
    reason = notification.reason
    status = notification.status
    if status == "sent":
        said = (
            t(request_locale(), "admin.notify.why.captured")
            if is_captured(notification)
            else t(request_locale(), "admin.notify.why.accepted")
        )
        return f"{said}; {reason}" if reason else said
    if status == "delivered":
        said = t(request_locale(), "admin.notify.why.delivered")
        return f"{said}; {reason}" if reason else said
    if status == "deferred":
        return t(
            request_locale(),
            "admin.notify.why.deferred",
            reason=reason or t(request_locale(), "admin.notify.why.held_back"),
            time=fmt_time(notification.scheduled_for),
        )
    if status == "queued":
        if reason:
            return reason
        if not notification.attempts:
            return t(request_locale(), "admin.notify.why.waiting")
        return t(request_locale(), "admin.notify.why.sending")
    return reason or _t(STATUS_LABELS.get(status, status))


@dataclass(frozen=True)
class LogRow:
    notification: Notification
    order_id: int | None
    order_name: str | None
    explanation: str


def _log_query(shop_id: int):
    return (
        select(Notification, Order.id, Order.name)
        .outerjoin(
            Order,
            and_(Order.shop_id == Notification.shop_id, Order.shopify_order_id == Notification.shopify_order_id),
        )
        .where(Notification.shop_id == shop_id)
    )


def _log_filters() -> dict[str, str]:
    """The filters of the request that make sense (unknown values are dropped, not errors)."""
    filters = {}
    for name, allowed in (("status", STATUSES), ("channel", CHANNELS), ("trigger", TRIGGERS)):
        value = request.args.get(name, "")
        if value in allowed:
            filters[name] = value
    order = " ".join(request.args.get("order", "").split())[:64]
    if order:
        filters["order"] = order
    return filters


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return min(int(raw), 10_000) if raw.isdigit() and int(raw) >= 1 else 1


def _log_rows(query, page: int) -> tuple[list[LogRow], bool]:
    result = db.session.execute(
        query.order_by(Notification.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()
    rows = [LogRow(n, order_id, order_name, explain(n)) for n, order_id, order_name in result[:PAGE_SIZE]]
    return rows, len(result) > PAGE_SIZE


def _render_log(
    title: str, rows: list[LogRow], has_next: bool, page: int, page_endpoint: str, page_args: dict[str, Any], **extra
):
    return render_template(
        "admin/notifications/log.html",
        title=title,
        rows=rows,
        page=page,
        has_next=has_next,
        page_endpoint=page_endpoint,
        page_args=page_args,
        statuses=STATUSES,
        channels=CHANNELS,
        triggers=TRIGGERS,
        trigger_labels=labels(TRIGGER_LABELS),
        channel_labels=labels(CHANNEL_LABELS),
        status_labels=labels(STATUS_LABELS),
        fmt_time=fmt_time,
        is_captured=is_captured,
        is_demo_env=_is_demo_env(),
        **extra,
        **page_context(),
    )


def _log_title() -> str:
    return (
        t(request_locale(), "admin.notify.log_title.demo")
        if _is_demo_env()
        else t(request_locale(), "admin.nav.messages")
    )


@notifications_admin_bp.get("/notifications/log")
@admin_required
def notification_log():
    shop_id = g.admin.shop.id
    filters = _log_filters()
    query = _log_query(shop_id)
    if "status" in filters:
        query = query.where(Notification.status == filters["status"])
    if "channel" in filters:
        query = query.where(Notification.channel == filters["channel"])
    if "trigger" in filters:
        query = query.where(Notification.trigger == filters["trigger"])
    if "order" in filters:
        name = filters["order"].lstrip("#")
        query = query.where(Order.name.in_(list(dict.fromkeys((filters["order"], name, f"#{name}")))))
    page = _page_number()
    rows, has_next = _log_rows(query, page)
    counts = dict(
        db.session.execute(
            select(Notification.status, func.count())
            .where(Notification.shop_id == shop_id)
            .group_by(Notification.status)
        ).all()
    )
    return _render_log(
        _log_title(),
        rows,
        has_next,
        page,
        "notifications_admin.notification_log",
        filters,
        filters=filters,
        counts=counts,
        order=None,
    )


@notifications_admin_bp.get("/orders/<int:order_id>/notifications")
@admin_required
def order_notifications(order_id: int):
    order = shop_order(order_id)
    query = _log_query(order.shop_id).where(Notification.shopify_order_id == order.shopify_order_id)
    page = _page_number()
    rows, has_next = _log_rows(query, page)
    return _render_log(
        t(request_locale(), "admin.notify.log_title.order", title=_log_title(), order=order.name),
        rows,
        has_next,
        page,
        "notifications_admin.order_notifications",
        {"order_id": order.id},
        filters={},
        counts=None,
        order=order,
    )


def _shop_notification(notification_id: int) -> Notification | None:
    return db.session.execute(
        select(Notification).where(Notification.id == notification_id, Notification.shop_id == g.admin.shop.id)
    ).scalar_one_or_none()


@notifications_admin_bp.get("/notifications/<int:notification_id>")
@admin_required
def notification_detail(notification_id: int):
    notification = _shop_notification(notification_id)
    if notification is None:
        abort(404)
    order = None
    if notification.shopify_order_id is not None:
        order = db.session.execute(
            select(Order).where(
                Order.shop_id == notification.shop_id, Order.shopify_order_id == notification.shopify_order_id
            )
        ).scalar_one_or_none()
    resends = db.session.execute(
        select(Notification.id, Notification.status, Notification.created_at)
        .where(Notification.shop_id == notification.shop_id, Notification.resend_of_id == notification.id)
        .order_by(Notification.id)
    ).all()
    return render_template(
        "admin/notifications/view.html",
        n=notification,
        order=order,
        resends=resends,
        explanation=explain(notification),
        viewer_html=inert_links(notification.body_html),
        captured=is_captured(notification),
        trigger_label=_t(TRIGGER_LABELS.get(notification.trigger, notification.trigger)),
        channel_label=_t(CHANNEL_LABELS.get(notification.channel, notification.channel)),
        status_labels=labels(STATUS_LABELS),
        locale_label=_t(LOCALE_LABELS[notification.locale])
        if notification.locale in LOCALE_LABELS
        else notification.locale,
        fmt_time=fmt_time,
        log_title=_log_title(),
        is_demo_env=_is_demo_env(),
        **page_context(),
    )


@notifications_admin_bp.post("/api/notifications/<int:notification_id>/resend")
@admin_required
def resend_notification_json(notification_id: int):
    from app.notifications.services import resend

    shop_id = g.admin.shop.id
    original = _shop_notification(notification_id)
    if original is None:
        return jsonify(error="not_found", message="no such notification"), 404
    has_order = (
        original.shopify_order_id is not None
        and db.session.execute(
            select(Order.id).where(Order.shop_id == shop_id, Order.shopify_order_id == original.shopify_order_id)
        ).first()
    )
    if not has_order:
        return jsonify(error="not_found", message="the order of this message is no longer available"), 404
    new_id = resend(shop_id, original.id)
    if new_id is None:
        db.session.rollback()
        return jsonify(error="conflict", message="a resend of this message was just created; reload the log"), 409
    # In the demo the send runs inline on commit, so read the status it ended with.
    status = db.session.execute(
        select(Notification.status).where(Notification.id == new_id, Notification.shop_id == shop_id)
    ).scalar()
    return jsonify(
        id=new_id,
        status=status,
        status_label=_t(STATUS_LABELS[status]) if status in STATUS_LABELS else status,
        url=url_for("notifications_admin.notification_detail", notification_id=new_id),
    )


CONSENT_KEYS = (  # how the order page shows a shopper's consent on a channel (`admin.order360.consent.<state>`)
    N_("admin.order360.consent.opted_out"),
    N_("admin.order360.consent.marketing"),
    N_("admin.order360.consent.updates"),
    N_("admin.order360.consent.none"),
)


def order_panel(order: Order) -> dict[str, Any] | None:
    """The order page's messages: every one sent or held back with why (newest first), the shopper's consent
    on each channel, and clicks on the order's tracking and recommendation links."""
    rows = (
        db.session.execute(
            select(Notification)
            .where(Notification.shop_id == order.shop_id, Notification.shopify_order_id == order.shopify_order_id)
            .order_by(Notification.id.desc())
            .limit(50)
        )
        .scalars()
        .all()
    )
    contacts = shopper_contacts(db.session, order, ["email", "sms", "line"])
    consent = []
    for channel in ("email", "sms", "line"):
        address, preference = contacts[channel]
        if preference is not None and preference.is_opted_out:
            state = "opted_out"
        elif channel == "email":
            state = "marketing" if preference is not None and preference.marketing_consent else "updates"
        elif preference is not None and preference.updates_consent:
            state = "marketing" if preference.marketing_consent else "updates"
        else:
            state = "none"
        consent.append({"channel": _t(CHANNEL_LABELS[channel]), "address": address, "state": state})
    clicks = (
        db.session.execute(
            select(LinkClick.url, LinkClick.clicked_at, Notification.trigger)
            .join(Notification, Notification.id == LinkClick.notification_id)
            .where(
                LinkClick.shop_id == order.shop_id,
                Notification.shop_id == order.shop_id,
                Notification.shopify_order_id == order.shopify_order_id,
            )
            .order_by(LinkClick.clicked_at.desc())
            .limit(50)
        ).all()
        if rows
        else []
    )
    pause = message_pause(db.session, order)
    return {
        "pause": {"by": pause.paused_by, "at": fmt_time(pause.paused_at)} if pause is not None else None,
        "can_resend": latest_update(db.session, order) is not None,
        "channels": [(channel, _t(CHANNEL_LABELS[channel])) for channel in ("email", "sms", "line")],
        "clicks": [
            {
                "what": _t("admin.order360.click.tracking")
                if "/l/track/" in url
                else (_t("admin.order360.click.return") if "/l/returns/" in url else _t("admin.order360.click.other")),
                "message": _t(TRIGGER_LABELS.get(trigger, trigger)),
                "when": fmt_time(clicked_at),
            }
            for url, clicked_at, trigger in clicks
        ],
        "messages": [
            {
                "id": n.id,
                "trigger": _t(TRIGGER_LABELS.get(n.trigger, n.trigger)),
                "channel": _t(CHANNEL_LABELS.get(n.channel, n.channel)),
                "status": n.status,
                "status_label": _t(STATUS_LABELS[n.status]) if n.status in STATUS_LABELS else n.status,
                "why": explain(n),
                "when": fmt_time(n.sent_at or n.created_at),
            }
            for n in rows
        ],
        "consent": consent,
    }


def order_summary(order: Order) -> dict[str, Any] | None:
    """The messages and consent of `order_panel`, already plain values (the help-desk feed)."""
    return order_panel(order)


# --- the setup guide's part: is each channel ready, and "send me a test" -------------------------------------


def email_ready(shop: Any) -> bool:
    """An email server is set up (the demo's captured log counts: it is where the demo's mail goes)."""
    return get_channel("email", current_app.config["SETTINGS"]) is not None


def sms_ready(shop: Any) -> bool:
    return "sms" in configured_channels()


def line_ready(shop: Any) -> bool:
    return "line" in configured_channels()


TEST_CHANNELS = ("email", "sms", "line")
TEST_KEYS = (  # what the test send says, per channel (`admin.setup.test.bad_<channel>`, `...to_<channel>`)
    N_("admin.setup.test.bad_channel"),
    N_("admin.setup.test.bad_email"),
    N_("admin.setup.test.bad_sms"),
    N_("admin.setup.test.bad_line"),
    N_("admin.setup.test.not_set_up"),
    N_("admin.setup.test.failed"),
    N_("admin.setup.test.sent"),
    N_("admin.setup.test.to_email"),
    N_("admin.setup.test.to_sms"),
    N_("admin.setup.test.to_line"),
)


@notifications_admin_bp.post("/api/notifications/test")
@admin_required
def send_test_message():
    """ "Send me a test": the "shipped" message on the sample order, as a shopper would get it, to the merchant's
    own address, phone or LINE user on one channel, now. Says what the channel answered."""
    body = request.form.to_dict() if request.form else _json_object()
    if body is None:
        return _bad_json()
    channel = body.get("channel")
    raw = str(body.get("to") or "").strip()
    locale = body.get("locale") if body.get("locale") in ("en", "th") else request_locale()
    if channel not in TEST_CHANNELS:
        return _invalid({"channel": _t("admin.setup.test.bad_channel")})
    if channel == "email":
        to = email_address(raw)
    elif channel == "sms":
        to = normalise_phone(raw)
    else:
        to = raw if re.fullmatch(r"U[0-9a-f]{32}", raw) else None
    if not to:
        return _invalid({"to": _t(f"admin.setup.test.bad_{channel}")})
    sender = get_channel(channel, current_app.config["SETTINGS"])
    if sender is None:
        return _invalid({"channel": _t("admin.setup.test.not_set_up")})
    key = TemplateKey("shipped", "email" if channel == "email" else "text", locale)
    subject, source = default_source(key)
    rendered = render_preview(key, subject, source)
    shop = g.admin.shop
    message = OutgoingMessage(
        notification_id=0,
        shop_domain=shop.domain,
        channel=channel,
        recipient=to,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sender_name=shop.name,
        reply_to=None,
        idempotency_key=f"aftercart-test-{shop.id}-{secrets.token_hex(6)}",
        locale=locale,
    )
    try:
        sender.send(message)
    except (PermanentSendError, TransientSendError) as exc:
        return jsonify(sent=False, message=_t("admin.setup.test.failed", reason=str(exc)[:200])), 502
    return jsonify(sent=True, message=_t("admin.setup.test.sent", to=to))


ACTION_KEYS = (
    N_("admin.order360.action.resend"),
    N_("admin.order360.action.tracking_link"),
    N_("admin.order360.action.sent"),
    N_("admin.order360.action.not_sent"),
    N_("admin.order360.action.already"),
    N_("admin.order360.action.no_update"),
    N_("admin.order360.action.bad_channel"),
    N_("admin.order360.action.paused"),
    N_("admin.order360.action.resumed"),
    N_("admin.order360.click.tracking"),
    N_("admin.order360.click.return"),
    N_("admin.order360.click.other"),
)


def _action_channel() -> str | None:
    channel = request.form.get("channel") or (request.get_json(silent=True) or {}).get("channel")
    return channel if channel in ("email", "sms", "line") else None


def _action_token() -> str:
    token = request.form.get("token") or (request.get_json(silent=True) or {}).get("token") or ""
    return "".join(ch for ch in str(token) if ch.isalnum() or ch in "-_")[:40] or secrets.token_urlsafe(12)


@notifications_admin_bp.post("/orders/<int:order_id>/actions/<action>")
@admin_required
def order_message_action(order_id: int, action: str):
    """The order page's one-click message actions, each kept in the order's activity (who, when, outcome)."""
    order = shop_order(order_id)
    if action not in ("resend", "tracking_link", "pause", "resume"):
        abort(404)
    if action in ("pause", "resume"):
        changed = (
            pause_messages(db.session, order, acting_user())
            if action == "pause"
            else resume_messages(db.session, order)
        )
        if changed:
            record_activity(db.session, order, "paused" if action == "pause" else "resumed")
        db.session.commit()
        return action_answer(order, True, _t(f"admin.order360.action.{'paused' if action == 'pause' else 'resumed'}"))
    channel = _action_channel()
    if channel is None:
        return action_answer(order, False, _t("admin.order360.action.bad_channel"), 422)
    original = None
    if action == "resend":
        original = latest_update(db.session, order)
        if original is None:
            return action_answer(order, False, _t("admin.order360.action.no_update"), 422)
    sent = send_by_hand(db.session, order, channel, _action_token(), original=original)
    if sent is None:
        db.session.rollback()
        return action_answer(order, True, _t("admin.order360.action.already"))
    outcome = "not_sent" if sent.status == "suppressed" else "sent"
    record_activity(
        db.session,
        order,
        action,
        detail={"channel": channel, "trigger": sent.trigger, "notification_id": sent.id, "reason": sent.reason},
    )
    db.session.commit()
    message = _t(f"admin.order360.action.{outcome}", channel=_t(CHANNEL_LABELS[channel]), reason=sent.reason or "")
    return action_answer(order, outcome == "sent", message, 200 if outcome == "sent" else 422)
