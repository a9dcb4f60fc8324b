"""What other features show of a survey: the score links a survey message carries, and the question on the
delivered tracking page. Imports no other feature (notifications and tracking import this)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.i18n import N_, t
from app.surveys.links import ask_url, follow_up_url, score_url
from app.surveys.models import Survey
from app.surveys.rules import SCALES, asks

QUESTION_KEYS = {"csat": N_("survey.question.csat"), "nps": N_("survey.question.nps")}
SCALE_KEYS = {
    "csat": (N_("survey.scale.csat_low"), N_("survey.scale.csat_high")),
    "nps": (N_("survey.scale.nps_low"), N_("survey.scale.nps_high")),
}


def question_text(question: str, locale: str, shop_name: str) -> str:
    return t(locale, QUESTION_KEYS[question], shop=shop_name)


def scale_labels(question: str, locale: str) -> tuple[str, str]:
    low, high = SCALE_KEYS[question]
    return t(locale, low), t(locale, high)


def survey_message_facts(session: Session, shop_id: int, survey_id: int, locale: str, shop_name: str) -> dict[str, Any]:
    """For a survey message: the question, one signed link per score (one tap answers), the question page (for
    SMS and LINE, where eleven links would not fit) and the scale's ends. Empty when the survey is not the shop's."""
    survey = session.execute(select(Survey).where(Survey.id == survey_id, Survey.shop_id == shop_id)).scalar()
    if survey is None:
        return {}
    question = asks(survey.question)[0]
    low, high = scale_labels(question, locale)
    return {
        "survey_question": question_text(question, locale, shop_name),
        "survey_scores": [(str(score), score_url(survey.public_id, question, score)) for score in SCALES[question]],
        "survey_url": ask_url(survey.public_id) + f"?locale={locale}",
        "survey_low": low,
        "survey_high": high,
    }


def tracking_page_survey(
    session: Session, shop_id: int, order: Any, locale: str, shop_name: str
) -> dict[str, Any] | None:
    """The question for the delivered order's tracking page (a form posting a signed token and the score), or
    None when the order has no survey (not delivered, the shop does not ask, or it was skipped)."""
    if order is None or order.status != "delivered":
        return None
    survey = session.execute(
        select(Survey).where(Survey.shop_id == shop_id, Survey.shopify_order_id == order.shopify_order_id)
    ).scalar()
    if survey is None or survey.status == "skipped":
        return None
    question = asks(survey.question)[0]
    low, high = scale_labels(question, locale)
    answered = survey.csat_score if question == "csat" else survey.nps_score
    return {
        "question": question_text(question, locale, shop_name),
        "kind": question,
        "scores": list(SCALES[question]),
        "action": ask_url(survey.public_id) + f"?locale={locale}",
        "answered": answered,
        "follow_up_url": follow_up_url(survey.public_id, locale) if answered is not None else None,
        "low": low,
        "high": high,
    }
