"""Read-only selects for the survey results: the shop's figures, by carrier and by lane, the latest answers, and
surveys asked but not answered (kept apart: no answer is not a happy shopper)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from app.surveys.models import Survey
from app.surveys.rules import Summary, summarise

_ASKED = or_(Survey.asked_at.is_not(None), Survey.answered_at.is_not(None))


def _columns():
    return (
        func.count().label("asked"),
        func.count(Survey.answered_at).label("answered"),
        func.count(Survey.csat_score).label("csat_count"),
        func.sum(Survey.csat_score).label("csat_sum"),
        func.count(Survey.nps_score).label("nps_count"),
        func.sum(case((Survey.nps_score >= 9, 1), else_=0)).label("promoters"),
        func.sum(case((Survey.nps_score <= 6, 1), else_=0)).label("detractors"),
    )


def _summary(row: Any) -> Summary:
    csat_count = row.csat_count or 0
    nps_count = row.nps_count or 0
    promoters = int(row.promoters or 0)
    detractors = int(row.detractors or 0)
    return Summary(
        asked=row.asked or 0,
        answered=row.answered or 0,
        csat_count=csat_count,
        csat_average=round(float(row.csat_sum) / csat_count, 2) if csat_count else None,
        nps_count=nps_count,
        nps=round(100 * (promoters - detractors) / nps_count) if nps_count else None,
        promoters=promoters,
        passives=nps_count - promoters - detractors,
        detractors=detractors,
    )


def shop_summary(session: Session, shop_id: int) -> Summary:
    row = session.execute(select(*_columns()).where(Survey.shop_id == shop_id, _ASKED)).one()
    return _summary(row) if row.asked else summarise(0, 0, [], [])


@dataclass(frozen=True)
class Group:
    label: tuple[str | None, ...]
    summary: Summary


def by_carrier(session: Session, shop_id: int, limit: int = 20) -> list[Group]:
    rows = session.execute(
        select(Survey.carrier, *_columns())
        .where(Survey.shop_id == shop_id, _ASKED)
        .group_by(Survey.carrier)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    return [Group((row.carrier,), _summary(row)) for row in rows]


def by_lane(session: Session, shop_id: int, limit: int = 20) -> list[Group]:
    rows = session.execute(
        select(Survey.origin_country, Survey.destination_country, Survey.destination_province, *_columns())
        .where(Survey.shop_id == shop_id, _ASKED)
        .group_by(Survey.origin_country, Survey.destination_country, Survey.destination_province)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    return [
        Group((row.origin_country, row.destination_country, row.destination_province), _summary(row)) for row in rows
    ]


def latest_answers(session: Session, shop_id: int, limit: int = 25) -> list[Survey]:
    return list(
        session.execute(
            select(Survey)
            .where(Survey.shop_id == shop_id, Survey.answered_at.is_not(None))
            .order_by(Survey.changed_at.desc(), Survey.id.desc())
            .limit(limit)
        ).scalars()
    )


def unanswered(session: Session, shop_id: int, limit: int = 10) -> list[Survey]:
    return list(
        session.execute(
            select(Survey)
            .where(Survey.shop_id == shop_id, Survey.asked_at.is_not(None), Survey.answered_at.is_(None))
            .order_by(Survey.asked_at.desc())
            .limit(limit)
        ).scalars()
    )


def open_detractors(session: Session, shop_id: int) -> list[Survey]:
    return list(
        session.execute(
            select(Survey)
            .where(Survey.shop_id == shop_id, Survey.detractor_at.is_not(None), Survey.detractor_handled_at.is_(None))
            .order_by(Survey.detractor_at)
        ).scalars()
    )
