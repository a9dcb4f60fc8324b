"""Branding and tracking-page settings: validated, saved per shop, and the sample order of the admin's live preview."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.i18n import LOCALES, format_day_range, t
from app.tracking.branding import BrandingError, validate_branding
from app.tracking.models import TrackingSettings
from app.tracking.services import tracking_settings
from app.validation import email_address, web_url

MAX_TEXT = 1000
MAX_FAQ = 20


def _clean_text(value: Any, limit: int = MAX_TEXT) -> str | None:
    text = str(value or "").strip()
    return text[:limit] or None


def validate_settings(form: dict[str, Any]) -> dict[str, Any]:
    """Validate the settings a form carries; raise BrandingError naming every bad field with a catalog key
    (`admin.tracking.err.*`; a FAQ entry's field as `faq.<n>.q` / `faq.<n>.a`).

    Returns column -> clean value for the fields present only: a field the request does not carry is
    not in the result, so saving leaves it as it was (the admin's form does not show every setting).
    A field sent empty clears it. `custom_message` holds only the languages sent; `save_settings` merges it.
    """
    errors: dict[str, str] = {}
    try:
        clean = validate_branding(form)
    except BrandingError as exc:
        errors.update(exc.errors)
        clean = {}
    messages = {
        locale: _clean_text(form[f"custom_message_{locale}"])
        for locale in LOCALES
        if f"custom_message_{locale}" in form
    }
    if messages:
        clean["custom_message"] = messages
    if "faq" in form:
        items = form["faq"] if form["faq"] is not None else []
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            errors["faq"] = "track.settings.not_a_list"
        elif len(items) > MAX_FAQ:
            errors["faq"] = "admin.tracking.err.faq_too_many"
        else:
            faq = []
            for index, item in enumerate(items):
                question, answer = _clean_text(item.get("q"), 300), _clean_text(item.get("a"))
                if not question and not answer:
                    continue  # a row left empty is no entry
                # Half an entry is refused, not dropped: dropping it would lose what the merchant typed.
                if not question:
                    errors[f"faq.{index}.q"] = "admin.tracking.err.faq_question"
                if not answer:
                    errors[f"faq.{index}.a"] = "admin.tracking.err.faq_answer"
                faq.append({"q": question, "a": answer, "locale": "th" if item.get("locale") == "th" else "en"})
            clean["faq"] = faq or None
    if "contact_email" in form:
        email = _clean_text(form["contact_email"], 320)
        if email and email_address(email) is None:
            errors["contact_email"] = "admin.tracking.err.contact_email"
        else:
            clean["contact_email"] = email
    if "contact_url" in form:
        url = _clean_text(form["contact_url"])
        if url and web_url(url) is None:
            errors["contact_url"] = "admin.tracking.err.contact_url"
        else:
            clean["contact_url"] = url
    for field, low, high in (("handling_days", 0, 30), ("stall_after_days", 1, 30)):
        if field not in form:
            continue
        raw = str(form[field] if form[field] is not None else "").strip()
        if not raw:
            clean[field] = 2 if field == "handling_days" else None
            continue
        try:
            value = int(raw)
            if not low <= value <= high:
                raise ValueError
            clean[field] = value
        except ValueError:
            errors[field] = f"admin.tracking.err.{field}"
    if "weekend_days" in form:
        weekend = form["weekend_days"]
        try:
            days = sorted({int(d) for d in weekend}) if weekend is not None else None
            if days is not None and (any(d < 1 or d > 7 for d in days) or len(days) > 3):
                raise ValueError
            clean["weekend_days"] = days
        except (TypeError, ValueError):
            errors["weekend_days"] = "admin.tracking.err.weekend_days"
    if "holidays" in form:
        raws = form["holidays"] if form["holidays"] is not None else []
        holidays = []
        if not isinstance(raws, list):
            errors["holidays"] = "track.settings.not_a_list"
            raws = []
        for raw in raws:
            try:
                holidays.append(date.fromisoformat(str(raw)).isoformat())
            except ValueError:
                errors["holidays"] = "admin.tracking.err.holidays"
        clean["holidays"] = holidays or None
    if errors:
        raise BrandingError(errors)
    return clean


def save_settings(session: Session, shop_id: int, form: dict[str, Any]) -> TrackingSettings:
    """Save the settings the form carries, and only those (see `validate_settings`). Raises BrandingError."""
    clean = validate_settings(form)
    settings = tracking_settings(session, shop_id)
    if "custom_message" in clean:
        merged = {**(settings.custom_message or {}), **clean.pop("custom_message")}
        settings.custom_message = {locale: text for locale, text in merged.items() if text} or None
    for key, value in clean.items():
        setattr(settings, key, value)
    if settings.id is None:
        session.add(settings)
    session.commit()
    return settings


def sample_view(locale: str) -> dict[str, Any]:
    """A made-up order for the preview, in the same shape as the real tracking view."""
    today = date.today()
    return {
        "order": {
            "name": "#1001",
            "status": "in_transit",
            "status_label": t(locale, "status.in_transit"),
            "status_explanation": t(locale, "status.in_transit.explain"),
            "placed_at_display": None,
            "items": [],
        },
        "steps": [
            {"key": k, "label": t(locale, f"status.{k}")}
            for k in ("confirmed", "shipped", "in_transit", "out_for_delivery", "delivered")
        ],
        "shipments": [
            {
                "name": "#1001-F1",
                "status": "in_transit",
                "status_label": t(locale, "status.in_transit"),
                "status_explanation": t(locale, "status.in_transit.explain"),
                "step_index": 2,
                "is_problem": False,
                "carrier": {
                    "name": "Kerry Express",
                    "tracking_number": "SHP5012345678",
                    "tracking_url": None,
                },
                "estimate": {
                    "label": format_day_range(today + timedelta(days=2), today + timedelta(days=4), locale),
                    "source_label": t(locale, "track.estimate.learned"),
                },
                "delivered_at": None,
                "items": [{"title": "Cotton tee", "variant_title": "M", "quantity": 2}],
                "events": [],
            }
        ],
        "unfulfilled_items": [],
        "recommendations": [],
        "locale": locale,
    }
