"""The merchant's survey page in the embedded admin (/app/surveys): settings and results, on the admin kit."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, jsonify, render_template, request
from sqlalchemy import select

from app.admin import admin_required, back_to, field_errors, page_context, settings_form, wants_json
from app.extensions import db
from app.i18n import N_, format_moment, request_locale, t, zone
from app.orders.models import Order
from app.surveys import queries
from app.surveys.models import CHANNELS, QUESTIONS
from app.surveys.services import mark_detractor_handled, save_survey_settings, survey_settings, validate_settings

surveys_admin_bp = Blueprint("surveys_admin", __name__, url_prefix="/app")

ERROR_KEYS = (
    N_("survey.error.question"),
    N_("survey.error.delay_days"),
    N_("survey.error.channels"),
    N_("survey.error.body"),
)
LABEL_KEYS = (
    N_("survey.admin.question.csat"),
    N_("survey.admin.question.nps"),
    N_("survey.admin.question.both"),
    N_("survey.channel.email"),
    N_("survey.channel.sms"),
    N_("survey.channel.line"),
    N_("survey.via.message"),
    N_("survey.via.tracking_page"),
    N_("survey.via.follow_up"),
)


@surveys_admin_bp.get("/surveys")
@admin_required
def surveys_page():
    """Settings, then what shoppers said: NPS and CSAT with counts, the response rate, by carrier and lane, open
    detractors, the latest answers with reasons and comments, and surveys asked but unanswered, apart."""
    shop = g.admin.shop
    session = db.session
    latest = queries.latest_answers(session, shop.id)
    detractors = queries.open_detractors(session, shop.id)
    waiting = queries.unanswered(session, shop.id)
    order_ids = {s.shopify_order_id for s in (*latest, *detractors, *waiting)}
    orders = (
        dict(
            session.execute(
                select(Order.shopify_order_id, Order.id).where(
                    Order.shop_id == shop.id, Order.shopify_order_id.in_(order_ids)
                )
            ).all()
        )
        if order_ids
        else {}
    )
    return render_template(
        "admin/surveys/page.html",
        settings=survey_settings(session, shop.id).as_dict(),
        questions=QUESTIONS,
        channels=CHANNELS,
        summary=queries.shop_summary(session, shop.id),
        carriers=queries.by_carrier(session, shop.id),
        lanes=queries.by_lane(session, shop.id),
        latest=latest,
        detractors=detractors,
        waiting=waiting,
        orders=orders,
        tz=zone(shop.iana_timezone),
        format_moment=format_moment,
        **page_context(),
    )


def _form() -> dict[str, Any] | None:
    form = settings_form({"channels": "shown"})
    if form is not None and "shown" in request.form:  # the page's form: an unticked switch sends nothing
        form.setdefault("is_enabled", "0")
    return form


@surveys_admin_bp.post("/api/surveys/settings")
@admin_required
def save_settings():
    form = _form()
    locale = request_locale()
    if form is None:
        return jsonify(error=t(locale, "survey.error.body")), 400
    clean, errors = validate_settings(form)
    if errors:
        return field_errors(errors)
    settings = save_survey_settings(db.session, g.admin.shop.id, clean)
    db.session.commit()
    if wants_json():
        return jsonify(saved=True, settings=settings.as_dict())
    return back_to("surveys_admin.surveys_page")


@surveys_admin_bp.post("/surveys/<int:survey_id>/handled")
@admin_required
def detractor_handled(survey_id: int):
    survey = mark_detractor_handled(db.session, g.admin.shop.id, survey_id, g.admin.user_id or "unknown")
    if survey is None:
        abort(404)
    db.session.commit()
    if wants_json():
        handled = survey.detractor_handled_at
        return jsonify(
            id=survey.id, handled_at=handled.isoformat() if handled else None, handled_by=survey.detractor_handled_by
        )
    return back_to("surveys_admin.surveys_page")
