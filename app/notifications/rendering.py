"""Rendering messages: defaults and merchant templates share one path, in Jinja's sandbox.

Merchant templates are plain text with Jinja variables (no HTML of their own): the body is rendered in an
immutable sandbox, then escaped into the branded email layout. A template that fails to render falls back
to the default instead of failing to send.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from jinja2 import TemplateError
from markupsafe import Markup, escape

from app.i18n import N_, format_day_range, t
from app.notifications.defaults import DEFAULTS, FLOW_TRIGGERS, MANUAL_TRIGGERS, TRIGGERS
from app.notifications.sandbox import render_merchant, render_string

__all__ = ["SAMPLE_CONTEXT", "Rendered", "render_message", "render_string", "sample_context", "validate_template"]

log = logging.getLogger(__name__)

# The email layout's own words, by the name the layout template uses.
_UI_TEXT = {
    "track": N_("email.track"),
    "return": N_("email.see_return"),
    "review": N_("email.write_review"),
    "tracking_number": N_("email.tracking_number"),
    "items": N_("email.items"),
    "estimate": N_("email.estimate"),
    "unsubscribe": N_("email.unsubscribe"),
    "why": N_("email.why"),
}
# Messages about the whole order (its confirmation, a return) list its items as the order's, not a parcel's.
_ORDER_WIDE_TRIGGERS = frozenset(
    {
        "order_confirmed",
        "tracking_link",
        "return_requested",
        "return_approved",
        "return_declined",
        "return_received",
        "return_resolved",
        "review_request",
        "review_reply",
        "flow_step",
    }
)

MAX_SUBJECT = 200
MAX_BODY = 5000
MAX_SHORT = 600

_SAMPLE_ESTIMATE = (date(2026, 11, 26), date(2026, 11, 28))
SAMPLE_CONTEXT: dict[str, Any] = {
    "first_name": "Somchai",
    "shop_name": "Demo Store",
    "order_name": "#1001",
    "status_label": "In transit",
    "estimate": "Thu 26 – Sat 28 Nov",  # format_day_range(*_SAMPLE_ESTIMATE, "en")
    "carrier": "Kerry Express",
    "tracking_number": "SHP5012345678",
    "items": ["Cotton tee × 2"],
    "tracking_url": "https://example.com/l/c/sample",
    "survey_question": "How was the delivery of your order?",
    "survey_url": "https://example.com/l/s/a/sample",
    "content_title": "Getting started with your cotton tee",
    "content_body": "Wash it cold, inside out, before the first wear.",
    "content_video_url": "https://example.com/video",
}


def sample_context(locale: str) -> dict[str, Any]:
    """The sample order a template is previewed on, with its dates and words in `locale`: a Thai preview
    shows Thai dates, as the shopper's email would (the same helper as the shopper's pages and messages)."""
    return {
        **SAMPLE_CONTEXT,
        "status_label": t(locale, "status.in_transit"),
        "estimate": format_day_range(*_SAMPLE_ESTIMATE, locale),
    }


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    text: str
    html: str | None
    used_default: bool = False
    template_error: str | None = None


def validate_template(subject: str | None, body: str, short: str | None = None) -> dict[str, str]:
    """Problems per field (empty when fine): it must compile, render with sample data, and fit."""
    errors: dict[str, str] = {}
    for field, source, limit in (
        ("subject", subject, MAX_SUBJECT),
        ("body", body, MAX_BODY),
        ("short", short, MAX_SHORT),
    ):
        if source is None:
            continue
        if len(source) > limit:
            errors[field] = f"at most {limit} characters"
            continue
        try:
            render_merchant({field: source}, SAMPLE_CONTEXT)
        except TemplateError as exc:
            errors[field] = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # the sandbox raises SecurityError and others for forbidden access
            errors[field] = f"{type(exc).__name__}: {exc}"
    return errors


def _plain(context: dict[str, Any]) -> dict[str, Any]:
    """The context as plain data for the render's child process (Markup and friends become str)."""
    return {
        key: str(value) if isinstance(value, str) else value
        for key, value in context.items()
        if isinstance(value, str | int | float | bool | list | tuple | dict) or value is None
    }


def _facts(ui: dict[str, str], context: dict[str, Any], body: str) -> list[tuple[str, str]]:
    """The parcel's facts shown beside the message (tracking number with its carrier, the estimate), each only
    when the message does not already say it: a fact is told once."""
    facts = []
    number = context.get("tracking_number")
    if number and str(number) not in body:
        carrier = context.get("carrier")
        facts.append((ui["tracking_number"], f"{number} · {carrier}" if carrier else str(number)))
    estimate = context.get("estimate")
    if estimate and str(estimate) not in body:
        facts.append((ui["estimate"], str(estimate)))
    return facts


def _paragraphs(text: str) -> Markup:
    blocks = [b.strip() for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    return Markup("").join(
        Markup('<p style="margin:0 0 16px;font-size:16px;line-height:1.5">{}</p>').format(
            Markup("<br>").join(escape(line) for line in block.split("\n"))
        )
        for block in blocks
    )


def render_message(
    trigger: str,
    channel: str,
    locale: str,
    context: dict[str, Any],
    override: dict[str, str | None] | None = None,
    branding: dict[str, str] | None = None,
    unsubscribe_url: str | None = None,
) -> Rendered:
    """Subject, text and (for email) HTML of one message; the merchant's override when it renders."""
    if trigger not in TRIGGERS and trigger not in MANUAL_TRIGGERS and trigger not in FLOW_TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    default = DEFAULTS.get(locale, DEFAULTS["en"])[trigger]
    template_error = None
    used_default = True
    source = default
    parts: dict[str, str] | None = None
    if override:
        candidate = {**default, **{k: v for k, v in override.items() if v}}
        wanted = ("short",) if channel != "email" else ("subject", "body")
        try:
            # The merchant's own text renders within a message's budget of time and memory (app/notifications/
            # sandbox.py); only the fields this channel sends.
            parts = render_merchant({key: candidate[key] for key in wanted}, _plain(context))
            used_default = False
        except Exception as exc:  # any failure of a merchant template: fall back, keep the reason
            template_error = f"{type(exc).__name__}: {exc}"
            log.warning("merchant template for %s/%s/%s failed; default used: %s", trigger, channel, locale, exc)
    if parts is None:
        keys = ("short",) if channel != "email" else ("subject", "body")
        parts = {key: render_string(source[key], context) for key in keys}
    if channel != "email":
        return Rendered(None, parts["short"].strip(), None, used_default, template_error)
    subject = " ".join(parts["subject"].split())[:MAX_SUBJECT]
    body = parts["body"].strip()
    ui = {name: t(locale, key) for name, key in _UI_TEXT.items()}
    if trigger in _ORDER_WIDE_TRIGGERS:
        ui["items"] = t(locale, N_("email.items.order"))
    footer = ui["why"].format(shop_name=context.get("shop_name") or "")
    facts = _facts(ui, context, body)
    # A message about a return leads to the return's own page; every other one to the order's tracking page.
    button = (
        (ui["return"], context["return_url"])
        if context.get("return_url")
        else (ui["review"], context["review_url"])
        if context.get("review_url")
        else (ui["track"], context.get("tracking_url"))
    )
    survey_scores = context.get("survey_scores") or []
    if survey_scores:
        button = (ui["track"], None)  # a survey's buttons are its scores: one tap answers
    text_parts = [body]
    if survey_scores:
        text_parts.append(
            f"{context.get('survey_low', '')} / {context.get('survey_high', '')}:\n"
            + "\n".join(f"{label}: {url}" for label, url in survey_scores)
        )
    if facts:
        text_parts.append("\n".join(f"{label}: {value}" for label, value in facts))
    if button[1]:
        text_parts.append(f"{button[0]}: {button[1]}")
    if context.get("items"):
        text_parts.append(ui["items"] + ":\n" + "\n".join(f"- {item}" for item in context["items"]))
    recommendations_title = t(locale, "recs.title.email")
    if context.get("recommendations"):
        lines = [f"- {c['title']} ({c['price_label']}): {c['url']}" for c in context["recommendations"]]
        text_parts.append(recommendations_title + ":\n" + "\n".join(lines))
    text_parts.append(footer)
    if unsubscribe_url:
        text_parts.append(f"{ui['unsubscribe']}: {unsubscribe_url}")
    html = current_app.jinja_env.get_template("notifications/email/layout.html").render(
        subject=subject,
        recommendations_title=recommendations_title,
        paragraphs=_paragraphs(body),
        facts=facts,
        button_label=button[0],
        button_url=button[1],
        ui=ui,
        footer=footer,
        unsubscribe_url=unsubscribe_url,
        branding=branding or {},
        locale=locale,
        **context,
    )
    return Rendered(subject, "\n\n".join(text_parts) + "\n", html, used_default, template_error)
