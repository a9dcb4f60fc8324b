"""What a flow step's message says: the merchant's own words for the step, in the shopper's language, for the
notifications feature to render in its sandbox (the one arrow from notifications into flows)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.flows.models import Flow


def flow_message_facts(session: Session, shop_id: int, data: dict[str, Any], locale: str) -> dict[str, Any]:
    """`flow_override` (subject, body and the short text for SMS and LINE) for the step a `flow.step_sent`
    event names; empty when the flow or step is gone (the message then says the default)."""
    flow_id, number = data.get("flow_id"), data.get("step")
    if not isinstance(flow_id, int) or not isinstance(number, int):
        return {}
    steps = session.execute(select(Flow.steps).where(Flow.id == flow_id, Flow.shop_id == shop_id)).scalar()
    if not steps or not 1 <= number <= len(steps):
        return {}
    texts = steps[number - 1].get("texts") or {}
    text = texts.get(locale) or texts.get("en") or {}
    if not text.get("body"):
        return {}
    return {"flow_override": {"subject": text.get("subject"), "body": text["body"], "short": text["body"]}}
