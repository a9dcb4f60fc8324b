"""What surveys hold on a customer: their answers (scores, reasons, a comment) keyed to their orders, and the
email the detractor events carried."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.events import DomainEvent
from app.orders.privacy import CustomerRef
from app.surveys.models import Survey


def _condition(customer: CustomerRef):
    conditions = []
    if customer.shopify_order_ids:
        conditions.append(Survey.shopify_order_id.in_(customer.shopify_order_ids))
    if customer.shopify_customer_id:
        conditions.append(Survey.shopify_customer_id == customer.shopify_customer_id)
    return or_(*conditions) if conditions else None


def _surveys(session: Session, shop_id: int, customer: CustomerRef) -> list[Survey]:
    condition = _condition(customer)
    if condition is None:
        return []
    return list(session.execute(select(Survey).where(Survey.shop_id == shop_id, condition)).scalars())


def export_customer_surveys(session: Session, shop_id: int, customer: CustomerRef) -> dict[str, Any]:
    return {
        "survey_answers": [
            {
                "order": s.order_name,
                "asked_at": s.asked_at.isoformat() if s.asked_at else None,
                "answered_at": s.answered_at.isoformat() if s.answered_at else None,
                "csat_score": s.csat_score,
                "nps_score": s.nps_score,
                "reasons": list(s.reasons or []),
                "comment": s.comment,
            }
            for s in _surveys(session, shop_id, customer)
        ]
    }


def erase_customer_surveys(session: Session, shop_id: int, customer: CustomerRef) -> int:
    """Forget the shopper in their answers: the comment (free text) and the customer id go, every link of the
    survey dies (a new public id), and the email in its detractor events is blanked. The scores and reason
    chips stay, tied to no one, so the shop's figures do not change."""
    surveys = _surveys(session, shop_id, customer)
    for survey in surveys:
        survey.comment = None
        survey.shopify_customer_id = None
        survey.public_id = secrets.token_urlsafe(16)
    if surveys:
        keys = [f"survey:{s.id}:" for s in surveys]
        events = session.execute(
            select(DomainEvent).where(
                DomainEvent.shop_id == shop_id,
                DomainEvent.kind.in_(("survey.detractor", "survey.detractor_handled")),
                or_(*(DomainEvent.dedupe_key.startswith(key) for key in keys)),
            )
        ).scalars()
        for event in events:
            event.data = {**(event.data or {}), "email": None, "shopify_customer_id": None}
    return len(surveys)
