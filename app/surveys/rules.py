"""The survey's rules: a pure module (no Flask, no database), so each promise can be checked on its own.

- Scales: CSAT is 1-5 about the delivery, NPS is 0-10 about the shop. A score outside its scale is no answer.
- Detractor: NPS 0-6 or CSAT 1-2. A survey with both questions is a detractor when either answer is.
- Reasons offered after a score depend on it: a low or middling score is asked what went wrong (late, damaged,
  wrong item, the courier, the packaging, ...), a high one what went well; a reason not offered for the score
  is dropped, never stored.
- Results: NPS = % promoters (9-10) - % detractors (0-6) of those who answered; CSAT average of those who
  answered; the response rate is answered / asked. Unanswered surveys are counted apart, never as satisfied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.i18n import N_

SCALES: dict[str, tuple[int, ...]] = {"csat": tuple(range(1, 6)), "nps": tuple(range(0, 11))}
MAX_COMMENT = 1000

# Reasons, by what they are about; each is a catalog key `survey.reason.<name>`.
PROBLEM_REASONS = ("late", "damaged", "wrong_item", "missing_item", "courier", "packaging", "tracking", "quality")
PRAISE_REASONS = ("fast", "packaging_good", "courier_good", "as_described", "updates")
REASON_KEYS = (
    N_("survey.reason.late"),
    N_("survey.reason.damaged"),
    N_("survey.reason.wrong_item"),
    N_("survey.reason.missing_item"),
    N_("survey.reason.courier"),
    N_("survey.reason.packaging"),
    N_("survey.reason.tracking"),
    N_("survey.reason.quality"),
    N_("survey.reason.fast"),
    N_("survey.reason.packaging_good"),
    N_("survey.reason.courier_good"),
    N_("survey.reason.as_described"),
    N_("survey.reason.updates"),
)


def valid_score(question: str, score: object) -> int | None:
    """The score as an int when it is on the question's scale, else None."""
    if isinstance(score, bool):
        return None
    try:
        value = int(str(score))
    except (TypeError, ValueError):
        return None
    return value if value in SCALES.get(question, ()) else None


def asks(question_setting: str) -> tuple[str, ...]:
    """The questions a survey asks, in order: the first is the one the message carries."""
    return ("csat", "nps") if question_setting == "both" else (question_setting,)


def is_detractor(csat: int | None, nps: int | None) -> bool:
    return (csat is not None and csat <= 2) or (nps is not None and nps <= 6)


def is_praise(csat: int | None, nps: int | None) -> bool:
    """Only high scores: a CSAT of 5 or 4 and no NPS below 9, or an NPS of 9-10 alone."""
    if csat is not None and csat < 4:
        return False
    if nps is not None and nps < 9:
        return False
    return csat is not None or nps is not None


def reasons_for(csat: int | None, nps: int | None) -> tuple[str, ...]:
    """The reason chips offered after these scores: what went well for a happy shopper, what went wrong else."""
    return PRAISE_REASONS if is_praise(csat, nps) else PROBLEM_REASONS


def clean_reasons(chosen: Iterable[str], csat: int | None, nps: int | None) -> list[str]:
    offered = reasons_for(csat, nps)
    picked = set(chosen)
    return [reason for reason in offered if reason in picked]


def clean_comment(text: str | None) -> str | None:
    """The shopper's comment without control characters (line breaks kept), at most MAX_COMMENT characters."""
    if not text:
        return None
    value = "".join(ch for ch in str(text).replace("\r\n", "\n") if ch == "\n" or ch >= " ").strip()
    return value[:MAX_COMMENT] or None


@dataclass(frozen=True)
class Summary:
    asked: int
    answered: int
    csat_count: int
    csat_average: float | None
    nps_count: int
    nps: int | None
    promoters: int
    passives: int
    detractors: int

    @property
    def unanswered(self) -> int:
        return self.asked - self.answered

    @property
    def response_rate(self) -> float | None:
        return round(100 * self.answered / self.asked, 1) if self.asked else None


def summarise(asked: int, answered: int, csat_scores: Iterable[int], nps_scores: Iterable[int]) -> Summary:
    csat = list(csat_scores)
    nps = list(nps_scores)
    promoters = sum(1 for s in nps if s >= 9)
    detractors = sum(1 for s in nps if s <= 6)
    return Summary(
        asked=asked,
        answered=answered,
        csat_count=len(csat),
        csat_average=round(sum(csat) / len(csat), 2) if csat else None,
        nps_count=len(nps),
        nps=round(100 * (promoters - detractors) / len(nps)) if nps else None,
        promoters=promoters,
        passives=len(nps) - promoters - detractors,
        detractors=detractors,
    )
