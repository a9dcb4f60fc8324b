"""The shopper's survey pages, opened from a signed link (`/l/s/...`), no login: a one-tap score, the question
page (SMS, LINE and the tracking page's form post to it), and the optional follow-up (reasons and a comment).

A tap opens the answer page with that score chosen; the answer is recorded by the page's POST (its "Send" button,
with the reasons and comment if given). A GET records nothing: mail security scanners (Safe Links, Proofpoint,
antivirus gateways) open every link of a message, some running its scripts, and survey vendors found their
scores skewed by them (Retently's "first intent" scores, Iterate's bot filtering). Filtering bots by their
address or timing guesses; a POST only a person's tap sends does not. Tapping again changes the score. A forged,
altered, expired or dead link (its survey erased) is refused with 404 and records nothing."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request
from werkzeug.wrappers import Response

from app.db import utcnow
from app.extensions import db
from app.i18n import negotiate_locale, t
from app.shopify.models import Shop
from app.storefront.links import deny_framing
from app.surveys.links import ASK, FOLLOW, SCORE, follow_up_path, read_token, score_path
from app.surveys.messages import question_text, scale_labels
from app.surveys.models import Survey
from app.surveys.rules import PRAISE_REASONS, PROBLEM_REASONS, SCALES, asks, is_praise, reasons_for, valid_score
from app.surveys.services import find_survey, offered_reasons, record_answer, record_follow_up
from app.tracking.branding import tokens_for
from app.tracking.services import tracking_settings

survey_links_bp = Blueprint("survey_links", __name__, url_prefix="/l/s")
survey_links_bp.after_request(deny_framing)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is the key: never leak it to another site
    return response


survey_links_bp.after_request(_no_store)


def _survey(token: str, purpose: str, lock: bool = False) -> tuple[Survey, Shop, object]:
    link = read_token(token, purpose)
    if link is None:
        abort(404)
    survey = find_survey(db.session, link.public_id, lock=lock)
    if survey is None or survey.status == "skipped":
        abort(404)
    shop = db.session.get(Shop, survey.shop_id)
    if shop is None or shop.redacted_at is not None:
        abort(404)
    return survey, shop, link


def _locale(survey: Survey) -> str:
    return negotiate_locale(request.args.get("locale"), survey.locale)


def _page(template: str, survey: Survey, shop: Shop, status: int = 200, **values):
    locale = values.pop("locale", None) or _locale(survey)
    look = tracking_settings(db.session, shop.id)
    body = render_template(
        template,
        locale=locale,
        _=lambda key, **kw: t(locale, key, **kw),
        shop_name=shop.name or shop.domain.split(".")[0],
        logo_url=look.logo_url,
        tokens=tokens_for(look),
        survey=survey,
        **values,
    )
    return body, status


@survey_links_bp.get("/<token>")
def tap(token: str):
    """One tap from the message: the answer page with the link's score chosen, nothing recorded yet."""
    survey, shop, link = _survey(token, SCORE)
    question = link.question
    if question is None or question not in asks(survey.question) or valid_score(question, link.score) is None:
        abort(404)
    locale = _locale(survey)
    low, high = scale_labels(question, locale)
    csat, nps = (link.score, None) if question == "csat" else (None, link.score)
    return _page(
        "storefront/surveys/confirm.html",
        survey,
        shop,
        locale=locale,
        question=question_text(question, locale, shop.name or shop.domain),
        action=f"/l/s/{token}?locale={locale}",
        scores=SCALES[question],
        score=link.score,
        low=low,
        high=high,
        # both sets of chips, each shown while a score it belongs to is chosen (CSS, no script); the server keeps
        # only the reasons offered for the score sent
        praise_scores={s for s in SCALES[question] if is_praise(*((s, None) if question == "csat" else (None, s)))},
        praise_first=reasons_for(csat, nps) == PRAISE_REASONS,
        praise_reasons=PRAISE_REASONS,
        problem_reasons=PROBLEM_REASONS,
    )


@survey_links_bp.post("/<token>")
def confirm_tap(token: str):
    """The answer page's "Send": the score chosen there (the link's own when none is sent), and the reasons and
    comment if given; then the follow-up page."""
    survey, shop, link = _survey(token, SCORE, lock=True)
    question = link.question
    if question is None or question not in asks(survey.question) or valid_score(question, link.score) is None:
        db.session.rollback()
        abort(404)
    chosen = request.form.get("score")
    score = link.score if chosen in (None, "") else valid_score(question, chosen)
    if score is None or not record_answer(db.session, survey, question, score, "message"):
        db.session.rollback()
        abort(400)
    if request.form.getlist("reasons") or (request.form.get("comment") or "").strip():
        record_follow_up(db.session, survey, request.form.getlist("reasons"), request.form.get("comment"))
    db.session.commit()
    return redirect(follow_up_path(survey.public_id, _locale(survey)), code=303)


@survey_links_bp.get("/a/<token>")
def question_page(token: str):
    """The question with one button per score (each a one-tap link)."""
    survey, shop, _link = _survey(token, ASK)
    locale = _locale(survey)
    question = asks(survey.question)[0]
    low, high = scale_labels(question, locale)
    scores = [
        (score, score_path(survey.public_id, question, score) + f"?locale={locale}") for score in SCALES[question]
    ]
    return _page(
        "storefront/surveys/question.html",
        survey,
        shop,
        question=question_text(question, locale, shop.name or shop.domain),
        kind=question,
        scores=scores,
        low=low,
        high=high,
    )


@survey_links_bp.post("/a/<token>")
def answer_form(token: str):
    """The tracking page's form (and the question page without JavaScript): the score comes in the form."""
    survey, shop, _link = _survey(token, ASK, lock=True)
    question = asks(survey.question)[0]
    score = valid_score(question, request.form.get("score"))
    if score is None or not record_answer(db.session, survey, question, score, "tracking_page"):
        db.session.rollback()
        abort(400)
    db.session.commit()
    return redirect(follow_up_path(survey.public_id, _locale(survey)), code=303)


@survey_links_bp.get("/f/<token>")
def follow_up_page(token: str):
    survey, shop, _link = _survey(token, FOLLOW)
    if survey.answered_at is None:
        abort(404)  # nothing to follow up yet: the question comes first
    return _follow_up(survey, shop, saved=False)


@survey_links_bp.post("/f/<token>")
def save_follow_up(token: str):
    survey, shop, _link = _survey(token, FOLLOW, lock=True)
    if survey.answered_at is None:
        abort(404)
    record_follow_up(
        db.session, survey, request.form.getlist("reasons"), request.form.get("comment"), request.form.get("nps")
    )
    db.session.commit()
    return _follow_up(survey, shop, saved=True)


def _follow_up(survey: Survey, shop: Shop, saved: bool):
    locale = _locale(survey)
    first = asks(survey.question)[0]
    score = survey.csat_score if first == "csat" else survey.nps_score
    nps_low, nps_high = scale_labels("nps", locale)
    return _page(
        "storefront/surveys/follow_up.html",
        survey,
        shop,
        locale=locale,
        kind=first,
        score=score,
        scale_max=max(SCALES[first]),
        reasons=offered_reasons(survey),
        chosen=set(survey.reasons or []),
        ask_nps=survey.question == "both",
        nps_question=question_text("nps", locale, shop.name or shop.domain),
        nps_scores=SCALES["nps"],
        nps_low=nps_low,
        nps_high=nps_high,
        saved=saved,
        change_scores=[(s, score_path(survey.public_id, first, s) + f"?locale={locale}") for s in SCALES[first]],
        now=utcnow(),
    )
