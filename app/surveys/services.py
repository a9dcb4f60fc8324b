"""The survey's life: planned when an order's last parcel is delivered, asked after the shop's delay through the
notifications feature (a `survey.due` domain event it turns into a message on the shopper's channels, with its
consent, quiet hours and opt-outs), answered by a tap, and a detractor followed up until the merchant handles it.

Domain events recorded here: `survey.due` (data: survey_id, channels), `survey.detractor` and
`survey.detractor_handled` (data: email, shopify_customer_id, shopify_order_id, and the answer for the alert).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import insert_unless_present, utcnow
from app.events import DomainEvent, record_event
from app.extensions import db
from app.i18n import negotiate_locale
from app.jobs import enqueue_after_commit, job_id, with_app_context
from app.orders.models import Fulfillment, Order, TrackingEvent
from app.surveys.models import CHANNELS, QUESTIONS, Survey, SurveySettings
from app.surveys.rules import asks, clean_comment, clean_reasons, is_detractor, reasons_for, valid_score

log = logging.getLogger(__name__)

# A delivery older than the delay plus this is history (an install on a shop with old orders, a reconciliation):
# its shopper is not asked about it.
HISTORY = timedelta(days=7)
DETRACTOR = "survey.detractor"
DETRACTOR_HANDLED = "survey.detractor_handled"
SURVEY_DUE = "survey.due"


def survey_settings(session: Session, shop_id: int) -> SurveySettings:
    found = session.execute(select(SurveySettings).where(SurveySettings.shop_id == shop_id)).scalar_one_or_none()
    return (
        found if found is not None else SurveySettings(shop_id=shop_id, is_enabled=True, question="csat", delay_days=2)
    )


def save_survey_settings(session: Session, shop_id: int, values: dict[str, Any]) -> SurveySettings:
    settings = session.execute(select(SurveySettings).where(SurveySettings.shop_id == shop_id)).scalar_one_or_none()
    if settings is None:
        settings = SurveySettings(shop_id=shop_id, is_enabled=True, question="csat", delay_days=2)
        session.add(settings)
    for key, value in values.items():
        setattr(settings, key, value)
    return settings


def validate_settings(form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields a save carries, checked one by one: (clean values, field -> error key)."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if "is_enabled" in form:
        clean["is_enabled"] = form["is_enabled"] in (True, "1", "on", "true")
    if "question" in form:
        if form["question"] in QUESTIONS:
            clean["question"] = form["question"]
        else:
            errors["question"] = "survey.error.question"
    if "delay_days" in form:
        try:
            days = int(str(form["delay_days"]))
        except ValueError:
            days = -1
        if 0 <= days <= 30:
            clean["delay_days"] = days
        else:
            errors["delay_days"] = "survey.error.delay_days"
    if "channels" in form:
        channels = form["channels"]
        if isinstance(channels, str):
            channels = [channels]
        if not isinstance(channels, list) or not channels or any(c not in CHANNELS for c in channels):
            errors["channels"] = "survey.error.channels"
        else:
            clean["channels"] = None if set(channels) == set(CHANNELS) else sorted(set(channels))
    return clean, errors


# --- planned at delivery ---------------------------------------------------------------------------------------


def _delivered(event: DomainEvent) -> bool:
    return event.kind in ("shipment.status_changed", "order.status_changed") and (event.data or {}).get("to") == (
        "delivered"
    )


def plan_survey(event: DomainEvent) -> None:
    """Event subscriber: when an order's last parcel is delivered, plan its survey (once per order: unique on the
    order) and queue the ask for when the shop's delay has passed. A parcel of a split order waits for the
    order's own "delivered"; a delivery that is history by now is not asked about."""
    if not _delivered(event) or event.shopify_order_id is None:
        return
    session = db.session
    settings = survey_settings(session, event.shop_id)
    if not settings.is_enabled:
        return
    order = session.execute(
        select(Order).where(Order.shop_id == event.shop_id, Order.shopify_order_id == event.shopify_order_id)
    ).scalar_one_or_none()
    if order is None or order.cancelled_at is not None:
        return
    parcels = (
        session.execute(
            select(Fulfillment).where(
                Fulfillment.shop_id == event.shop_id,
                Fulfillment.shopify_order_id == event.shopify_order_id,
                Fulfillment.shipment_state != "cancelled",
            )
        )
        .scalars()
        .all()
    )
    if event.kind == "shipment.status_changed" and len(parcels) > 1:
        return  # a split order is asked once, when its last parcel arrives (the order's own event)
    if not parcels or any(p.shipment_state != "delivered" for p in parcels):
        return
    now = utcnow()
    last = max(parcels, key=lambda p: p.delivered_at or now)
    delivered_at = event.happened_at or last.delivered_at or now
    delay = timedelta(days=settings.delay_days if settings.delay_days is not None else 2)
    if delivered_at < now - delay - HISTORY:
        return
    origin = session.execute(
        select(TrackingEvent.country)
        .where(
            TrackingEvent.shop_id == event.shop_id,
            TrackingEvent.shopify_fulfillment_id == last.shopify_fulfillment_id,
            TrackingEvent.country.is_not(None),
        )
        .order_by(TrackingEvent.happened_at)
        .limit(1)
    ).scalar()
    products = sorted(
        {int(i["product_id"]) for i in order.line_items or [] if str(i.get("product_id") or "").isdigit()}
    )
    survey_id = insert_unless_present(
        session,
        Survey.__table__,
        {
            "shop_id": event.shop_id,
            "public_id": secrets.token_urlsafe(16),
            "shopify_order_id": order.shopify_order_id,
            "shopify_fulfillment_id": last.shopify_fulfillment_id,
            "shopify_customer_id": order.shopify_customer_id,
            "order_name": order.name,
            "carrier": last.carrier_name or last.tracking_company,
            "origin_country": origin,
            "destination_country": order.shipping_country or last.destination_country,
            "destination_province": order.shipping_province,
            "product_ids": products,
            "question": settings.question or "csat",
            "locale": negotiate_locale(order.customer_locale),
            "status": "scheduled",
            "delivered_at": delivered_at,
            "due_at": delivered_at + delay,
            "detractor_cycle": 0,
            "created_at": now,
        },
        ["shop_id", "shopify_order_id"],
    )
    if survey_id is not None:
        due = delivered_at + delay
        enqueue_after_commit(
            session, ask_survey, survey_id, queue="default", job_id=job_id("survey", survey_id), at=max(due, now)
        )


# --- asked after the delay -------------------------------------------------------------------------------------


@with_app_context
def ask_survey(survey_id: int, now: datetime | None = None) -> str:
    """Job: ask one survey once it is due (idempotent: only a `scheduled` survey is asked, under a row lock).

    Asking is recording `survey.due`; the notifications feature plans the message on the shop's chosen
    channels (its dedupe key `delivery_survey:survey:<id>:<channel>`) with its own consent and timing rules."""
    now = now or utcnow()
    session = db.session
    survey = session.execute(
        select(Survey).where(Survey.id == survey_id).with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if survey is None or survey.status != "scheduled":
        session.rollback()
        return "skipped"
    if survey.due_at > now:
        session.rollback()
        return "not yet"
    settings = survey_settings(session, survey.shop_id)
    cancelled = session.execute(
        select(Order.cancelled_at).where(
            Order.shop_id == survey.shop_id, Order.shopify_order_id == survey.shopify_order_id
        )
    ).scalar()
    if not settings.is_enabled or cancelled is not None:
        survey.status, survey.reason = "skipped", "surveys switched off" if not settings.is_enabled else "cancelled"
        session.commit()
        return "skipped"
    record_event(
        session,
        survey.shop_id,
        SURVEY_DUE,
        f"survey:{survey.id}:due",
        shopify_order_id=survey.shopify_order_id,
        shopify_fulfillment_id=survey.shopify_fulfillment_id,
        data={"survey_id": survey.id, "channels": settings.as_dict()["channels"]},
        happened_at=now,
    )
    survey.status = "sent"
    survey.asked_at = now
    session.commit()
    return "asked"


@with_app_context
def ask_due_surveys(now: datetime | None = None) -> int:
    """Periodic: ask every survey whose delay has passed (the scheduled job's safety net)."""
    now = now or utcnow()
    ids = (
        db.session.execute(
            select(Survey.id).where(Survey.status == "scheduled", Survey.due_at <= now).order_by(Survey.id).limit(2000)
        )
        .scalars()
        .all()
    )
    db.session.rollback()
    return sum(1 for survey_id in ids if ask_survey(survey_id, now) == "asked")


# --- answered --------------------------------------------------------------------------------------------------


def find_survey(session: Session, public_id: str, lock: bool = False) -> Survey | None:
    query = select(Survey).where(Survey.public_id == public_id)
    if lock:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def record_answer(session: Session, survey: Survey, question: str, score: int, via: str) -> bool:
    """Store a score (a second tap changes it: one answer per survey). False, and nothing stored, when the
    question is not one this survey asks or the score is off its scale. Does not commit."""
    if question not in asks(survey.question) or valid_score(question, score) is None:
        return False
    now = utcnow()
    was_detractor = is_detractor(survey.csat_score, survey.nps_score)
    if question == "csat":
        survey.csat_score = score
    else:
        survey.nps_score = score
    if survey.answered_at is None:
        survey.answered_at = now
        survey.answered_via = via
    survey.status = "answered"
    survey.changed_at = now
    if survey.reasons:
        survey.reasons = clean_reasons(survey.reasons, survey.csat_score, survey.nps_score)
    _follow_detractor(session, survey, was_detractor, now)
    # For the merchant's own tools (docs/events.md): one event per score given; the same tap twice is one.
    record_event(
        session,
        survey.shop_id,
        "survey.answered",
        f"survey:{survey.id}:answered:{question}:{score}",
        shopify_order_id=survey.shopify_order_id,
        shopify_fulfillment_id=survey.shopify_fulfillment_id,
        data={"question": question, "score": score},
        happened_at=now,
    )
    return True


def record_follow_up(
    session: Session, survey: Survey, reasons: list[str], comment: str | None, extra_nps: object = None
) -> None:
    """The follow-up page: reasons offered for the score, a comment, and (a survey asking both) the NPS."""
    if "nps" in asks(survey.question) and survey.question == "both" and extra_nps not in (None, ""):
        score = valid_score("nps", extra_nps)
        if score is not None:
            record_answer(session, survey, "nps", score, "follow_up")
    survey.reasons = clean_reasons(reasons, survey.csat_score, survey.nps_score)
    survey.comment = clean_comment(comment)
    survey.changed_at = utcnow()


def offered_reasons(survey: Survey) -> tuple[str, ...]:
    return reasons_for(survey.csat_score, survey.nps_score)


def _follow_detractor(session: Session, survey: Survey, was_detractor: bool, now: datetime) -> None:
    """A score that becomes low opens a detractor item; one raised again before the merchant handled it closes
    it (the shopper changed their mind). Each opening is its own pair of events (`detractor_cycle`)."""
    now_detractor = is_detractor(survey.csat_score, survey.nps_score)
    if now_detractor and not was_detractor:
        survey.detractor_cycle = (survey.detractor_cycle or 0) + 1
        survey.detractor_at = now
        survey.detractor_handled_at = None
        survey.detractor_handled_by = None
        _record_detractor_event(session, survey, DETRACTOR)
    elif was_detractor and not now_detractor and survey.detractor_open:
        survey.detractor_handled_at = now
        survey.detractor_handled_by = "shopper"
        _record_detractor_event(session, survey, DETRACTOR_HANDLED)


def answer_label(survey: Survey) -> str:
    parts = []
    if survey.csat_score is not None:
        parts.append(f"CSAT {survey.csat_score}/5")
    if survey.nps_score is not None:
        parts.append(f"NPS {survey.nps_score}/10")
    return " · ".join(parts)


def _record_detractor_event(session: Session, survey: Survey, kind: str) -> None:
    """`survey.detractor` / `survey.detractor_handled` with the shopper's identity, so other features (review
    requests, marketing) hold back while the merchant follows up; the answer rides along for the alert."""
    email = session.execute(
        select(Order.email).where(Order.shop_id == survey.shop_id, Order.shopify_order_id == survey.shopify_order_id)
    ).scalar()
    suffix = "detractor" if kind == DETRACTOR else "detractor_handled"
    record_event(
        session,
        survey.shop_id,
        kind,
        f"survey:{survey.id}:{suffix}:{survey.detractor_cycle}",
        shopify_order_id=survey.shopify_order_id,
        shopify_fulfillment_id=survey.shopify_fulfillment_id,
        data={
            "email": (email or "").strip().lower() or None,
            "shopify_customer_id": survey.shopify_customer_id,
            "shopify_order_id": survey.shopify_order_id,
            "answer": answer_label(survey),
        },
        happened_at=utcnow(),
    )


def mark_detractor_handled(session: Session, shop_id: int, survey_id: int, who: str) -> Survey | None:
    """The merchant followed up: the hold on the shopper is lifted (`survey.detractor_handled`). None when the
    survey is not the shop's; nothing changes when it was not an open detractor. Does not commit."""
    survey = session.execute(
        select(Survey).where(Survey.id == survey_id, Survey.shop_id == shop_id).with_for_update()
    ).scalar_one_or_none()
    if survey is None:
        return None
    if survey.detractor_open:
        survey.detractor_handled_at = utcnow()
        survey.detractor_handled_by = who[:255]
        _record_detractor_event(session, survey, DETRACTOR_HANDLED)
    return survey


def on_alert_handled(event: DomainEvent) -> None:
    """Event subscriber: a detractor handled in the attention list is handled here too."""
    data = event.data or {}
    if event.kind != "alert.handled" or data.get("kind") != "detractor":
        return
    parts = str(data.get("dedupe_key") or "").split(":")
    if len(parts) != 4 or parts[0] != "survey" or not parts[1].isdigit():
        return
    survey = db.session.execute(
        select(Survey).where(Survey.id == int(parts[1]), Survey.shop_id == event.shop_id)
    ).scalar_one_or_none()
    if survey is not None and str(survey.detractor_cycle) == parts[3]:
        mark_detractor_handled(db.session, event.shop_id, survey.id, str(data.get("handled_by") or "merchant"))
