"""Rendering messages: defaults and merchant templates share one path, in Jinja's sandbox.

Merchant templates are plain text with Jinja variables (no HTML of their own): the body is rendered in an
immutable sandbox, then escaped into the branded email layout. A template that fails to render falls back
to the default instead of failing to send.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from typing import Any

from flask import current_app
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup, escape

from app.notifications.defaults import DEFAULTS, TRIGGERS, UI_TEXT

log = logging.getLogger(__name__)
_LOOP_TAG = re.compile(r"\{%-?\s*for\b")

MAX_SUBJECT = 200
MAX_BODY = 5000
MAX_SHORT = 600

MAX_LOOPS = 2  # `{% for %}` tags per template
MAX_RANGE = 100
MAX_OUTPUT = 20_000
MAX_REPEAT = 2_000  # characters or items produced by `*`
SAFE_STR_METHODS = frozenset(
    {"upper", "lower", "title", "capitalize", "strip", "lstrip", "rstrip", "startswith", "endswith", "split"}
)


class MessageSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, bounded: a merchant template can neither reach Python internals nor
    make a worker spin or fill its memory (`'x' * 10**9`, huge ranges, padding format specs)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator, left, right):
        if operator == "**":
            if not all(isinstance(v, int | float) for v in (left, right)) or abs(right) > 32 or abs(left) > 10**6:
                raise SecurityError("exponent too large")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_REPEAT:
                    raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value):
        # Jinja hands str.format / format_map to its own formatter before any attribute check, and a
        # width spec ('{:>1000000000}') pads to any size, so refuse them outright.
        if callable(value) and getattr(value, "__name__", None) in ("format", "format_map"):
            if isinstance(getattr(value, "__self__", None), str):
                raise SecurityError("str.format is not available in message templates")
        return None

    def is_safe_attribute(self, obj, attr, value):
        if isinstance(obj, str) and attr not in SAFE_STR_METHODS:
            return False  # format, ljust, center, zfill ... can pad to any size
        return super().is_safe_attribute(obj, attr, value)


def _bounded_range(*args: int) -> range:
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise SecurityError(f"range longer than {MAX_RANGE}")
    return values


_sandbox = MessageSandbox(autoescape=False, undefined=StrictUndefined)
_sandbox.globals["range"] = _bounded_range

SAMPLE_CONTEXT: dict[str, Any] = {
    "first_name": "Somchai",
    "shop_name": "Demo Store",
    "order_name": "#1001",
    "status_label": "In transit",
    "estimate": "Thu 26 – Sat 28 Nov",
    "carrier": "Kerry Express",
    "tracking_number": "SHP5012345678",
    "items": ["Cotton tee × 2"],
    "tracking_url": "https://example.com/l/c/sample",
}


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    text: str
    html: str | None
    used_default: bool = False
    template_error: str | None = None


@functools.lru_cache(maxsize=512)
def _compiled(source: str):
    # Parsing and compiling cost more than rendering; the same few defaults and merchant templates recur.
    return _sandbox.from_string(source)


def render_string(source: str, context: dict[str, Any]) -> str:
    """Render a (merchant or default) template in the bounded sandbox; raises on any breach."""
    if source.count("{%") and len(_LOOP_TAG.findall(source)) > MAX_LOOPS:
        raise SecurityError(f"at most {MAX_LOOPS} loops in a template")
    output = _compiled(source).render(**context)
    if len(output) > MAX_OUTPUT:
        raise SecurityError(f"rendered text longer than {MAX_OUTPUT} characters")
    return output


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
            render_string(source, SAMPLE_CONTEXT)
        except TemplateError as exc:
            errors[field] = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # the sandbox raises SecurityError and others for forbidden access
            errors[field] = f"{type(exc).__name__}: {exc}"
    return errors


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
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    default = DEFAULTS.get(locale, DEFAULTS["en"])[trigger]
    template_error = None
    used_default = True
    source = default
    if override:
        candidate = {**default, **{k: v for k, v in override.items() if v}}
        try:
            for key in ("subject", "body", "short"):
                render_string(candidate[key], context)
            source, used_default = candidate, False
        except Exception as exc:  # any failure of a merchant template: fall back, keep the reason
            template_error = f"{type(exc).__name__}: {exc}"
            log.warning("merchant template for %s/%s/%s failed; default used: %s", trigger, channel, locale, exc)
    if channel != "email":
        return Rendered(None, render_string(source["short"], context).strip(), None, used_default, template_error)
    subject = " ".join(render_string(source["subject"], context).split())[:MAX_SUBJECT]
    body = render_string(source["body"], context).strip()
    ui = UI_TEXT.get(locale, UI_TEXT["en"])
    footer = ui["why"].format(shop_name=context.get("shop_name") or "")
    text_parts = [body]
    if context.get("tracking_url"):
        text_parts.append(f"{ui['track']}: {context['tracking_url']}")
    if context.get("items"):
        text_parts.append(ui["items"] + ":\n" + "\n".join(f"- {item}" for item in context["items"]))
    from app.i18n import t

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
        ui=ui,
        footer=footer,
        unsubscribe_url=unsubscribe_url,
        branding=branding or {},
        locale=locale,
        **context,
    )
    return Rendered(subject, "\n\n".join(text_parts) + "\n", html, used_default, template_error)
