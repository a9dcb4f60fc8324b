"""The survey's signed links: opaque, naming a survey's public id (never the shop, the order or the shopper),
timed, and bound to what they do (one score, the question page, the follow-up form).

Refused, recording nothing: a forged or altered token, one older than LINK_MAX_AGE, one for another purpose, and
one whose survey is gone or was given a new public id (an erased customer's links die with their answers)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_SALT = "aftercart.survey-link.v1"
# A survey asked about a parcel can be answered for 60 days; after that a tap is refused (and nothing recorded).
LINK_MAX_AGE = 60 * 24 * 3600

SCORE = "s"  # one tap: a question and a score
ASK = "a"  # the question page (SMS, LINE) and the tracking page's form: the score comes with the request
FOLLOW = "f"  # the follow-up page (reasons and a comment)


@dataclass(frozen=True)
class SurveyLink:
    public_id: str
    purpose: str
    question: str | None = None
    score: int | None = None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SETTINGS"].secret_key, salt=_SALT)


def make_token(public_id: str, purpose: str, question: str | None = None, score: int | None = None) -> str:
    return _serializer().dumps([public_id, purpose, question, score])


def read_token(token: str, purpose: str, max_age: int = LINK_MAX_AGE) -> SurveyLink | None:
    """The link's content when it is genuine, fresh and made for `purpose`; None otherwise."""
    try:
        public_id, made_for, question, score = _serializer().loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature, ValueError, TypeError):
        return None
    if made_for != purpose or not isinstance(public_id, str):
        return None
    if score is not None and (isinstance(score, bool) or not isinstance(score, int)):
        return None
    return SurveyLink(public_id, made_for, question if isinstance(question, str) else None, score)


def public_url(path: str) -> str:
    return current_app.config["SETTINGS"].shopify_app_url + path


def score_path(public_id: str, question: str, score: int) -> str:
    return f"/l/s/{make_token(public_id, SCORE, question, score)}"


def score_url(public_id: str, question: str, score: int) -> str:
    """For messages: the app's own origin (a page of ours links by path instead)."""
    return public_url(score_path(public_id, question, score))


def ask_url(public_id: str) -> str:
    return public_url(f"/l/s/a/{make_token(public_id, ASK)}")


def follow_up_path(public_id: str, locale: str | None = None) -> str:
    suffix = f"?locale={locale}" if locale else ""
    return f"/l/s/f/{make_token(public_id, FOLLOW)}{suffix}"


def follow_up_url(public_id: str, locale: str | None = None) -> str:
    return public_url(follow_up_path(public_id, locale))
