"""The merchant's page for Shopify's order status and thank-you pages (/app/thank-you): what to switch on in
Shopify's checkout and accounts editor, the thank-you question, and what shoppers answered."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from app.admin import admin_required, page_context
from app.extension_api import queries
from app.extension_api.models import ThankYouSettings
from app.extension_api.services import DEFAULT_QUESTION, save_thank_you_settings
from app.extensions import db
from app.i18n import N_, format_moment, request_locale, t, zone

extension_admin_bp = Blueprint("extension_admin", __name__, url_prefix="/app")
QUESTION_MAX_LENGTH = 300
TOO_LONG = N_("ext.admin.error.too_long")


def _locale_arg() -> dict[str, str]:
    return {"locale": request.args["locale"]} if request.args.get("locale") else {}


def _page(form: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200):
    shop = g.admin.shop
    settings = db.session.execute(select(ThankYouSettings).where(ThankYouSettings.shop_id == shop.id)).scalar()
    values = form or {
        "ask_question": "1" if settings is None or settings.ask_question else "",
        "question_en": ((settings.question or {}).get("en") if settings else None) or "",
        "question_th": ((settings.question or {}).get("th") if settings else None) or "",
    }
    body = render_template(
        "admin/extension_api/page.html",
        values=values,
        errors=errors or {},
        default_question={"en": t("en", DEFAULT_QUESTION), "th": t("th", DEFAULT_QUESTION)},
        counts=queries.answer_counts(db.session, shop.id),
        latest=queries.latest_answers(db.session, shop.id),
        total=queries.count_answers(db.session, shop.id),
        tz=zone(shop.iana_timezone),
        format_moment=format_moment,
        **page_context(),
    )
    return body, status


@extension_admin_bp.get("/thank-you")
@admin_required
def thank_you_page():
    return _page()


@extension_admin_bp.post("/api/thank-you/settings")
@admin_required
def save_settings():
    form = {
        "ask_question": request.form.get("ask_question", ""),
        "question_en": (request.form.get("question_en") or "").strip(),
        "question_th": (request.form.get("question_th") or "").strip(),
    }
    errors = {
        field: t(request_locale(), TOO_LONG, limit=QUESTION_MAX_LENGTH)
        for field in ("question_en", "question_th")
        if len(form[field]) > QUESTION_MAX_LENGTH
    }
    if errors:
        if request.accept_mimetypes.best == "application/json":
            return jsonify(errors=errors), 422
        return _page(form, errors, 422)
    save_thank_you_settings(
        db.session,
        g.admin.shop.id,
        form["ask_question"] == "1",
        {"en": form["question_en"], "th": form["question_th"]},
    )
    if request.accept_mimetypes.best == "application/json":
        return jsonify(saved=True)
    return redirect(url_for("extension_admin.thank_you_page", **_locale_arg()))
