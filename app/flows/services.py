"""Follow-up flows: shoppers enrolled on real events, each step sent when its wait has passed, and the exits.

- **Enrolment**: an enabled flow whose `starts_on` event happens to one of its segment's shoppers gets one
  `flow_enrolments` row per flow and event (unique), its first step due `wait_days` after the event's own time.
  Events: the order delivered (its one parcel's `shipment.status_changed` → delivered, a split order's own
  `order.status_changed` → delivered), a return resolved, a survey answered (domain events), an order placed
  (the in-transaction `ORDER_UPSERTED`; the thank-you flow only for a shopper's first order).
- **Replenishment** learns from the shop's own orders: each new order of a product by a shopper who bought it
  before adds the days between the two to the product's samples; the median, once there are enough, sets when
  the replenishment step is due (the flow's own wait until then).
- **Exits**: the shopper's next order, a return opened, a delivery problem (an exception, a failed attempt, a
  parcel sent back, late or stalled), an unhappy survey answer; at send time again the next order, and consent:
  an opt-out, no marketing consent on the step's channel, or marketing held for an unhappy answer.
- **Sending**: `send_due_flow_steps` (every 5 minutes) reads only the due rows (`next_due_at <= now` on a partial
  index of the active ones, locked with SKIP LOCKED) and records `flow.step_sent`, which the notifications
  feature turns into a `flow_step` message (consent, the per-shopper marketing cap, quiet hours, the delivery
  log) and the integrations feature into the catalogue's event.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, literal_column, or_, select, update
from sqlalchemy.orm import Session

from app.db import insert_unless_present, utcnow
from app.events import DomainEvent, record_event
from app.extensions import db
from app.flows.defaults import DEFAULT_FLOWS, KINDS
from app.flows.models import ACTIVE, COMPLETED, EXITED, Flow, FlowEnrolment, ProductRepeatInterval
from app.flows.rules import (
    MAX_REPEAT_SAMPLES,
    Segment,
    ShopperFacts,
    median_interval,
    replenish_wait,
    segment_matches,
    step_due_at,
)
from app.i18n import N_, negotiate_locale
from app.jobs import with_app_context
from app.notifications.policy import consent_allows
from app.notifications.services import recipient_for
from app.orders.models import Fulfillment, Order
from app.returns.rules import tier_for
from app.returns.services import customer_facts, published_policy
from app.shopify.models import Shop

log = logging.getLogger(__name__)

STEP_SENT = "flow.step_sent"
# An event older than this when it reaches us is history (an install on a shop with old orders, a replay): no
# one is enrolled from it.
HISTORY = timedelta(days=7)
DUE_BATCH = 500

# Why an enrolment ended, shown on /app/flows (catalog keys, declared here for extraction).
EXIT_REASONS = (
    N_("flows.exit.new_order"),
    N_("flows.exit.return_opened"),
    N_("flows.exit.delivery_problem"),
    N_("flows.exit.detractor"),
    N_("flows.exit.no_consent"),
    N_("flows.exit.flow_off"),
    N_("flows.exit.order_gone"),
)
_PROBLEM_STATES = ("exception", "attempted_delivery", "returned_to_sender")


# --- a shop's flows --------------------------------------------------------------------------------------------


def shop_flows(session: Session, shop_id: int) -> dict[str, Flow]:
    """Every kind of flow for the shop: its saved row, else the default (switched off, not yet stored)."""
    stored = {f.kind: f for f in session.execute(select(Flow).where(Flow.shop_id == shop_id)).scalars()}
    flows = {}
    for kind in KINDS:
        if kind in stored:
            flows[kind] = stored[kind]
        else:
            default = DEFAULT_FLOWS[kind]
            flows[kind] = Flow(
                shop_id=shop_id,
                kind=kind,
                is_enabled=False,
                starts_on=default["starts_on"],
                segment={},
                steps=[dict(step) for step in default["steps"]],
            )
    return flows


def _stored_flow(session: Session, shop_id: int, kind: str) -> Flow:
    flow = shop_flows(session, shop_id)[kind]
    if flow.id is None:
        session.add(flow)
        session.flush()
    return flow


def save_flow(session: Session, shop_id: int, kind: str, clean: dict[str, Any]) -> Flow:
    """A merchant's edit (already checked by `rules.validate_flow`)."""
    flow = _stored_flow(session, shop_id, kind)
    flow.starts_on = clean["starts_on"]
    flow.segment = clean["segment"]
    flow.steps = clean["steps"]
    # Enrolments keep their event; their next step's time follows the edited waits.
    for enrolment in session.execute(
        select(FlowEnrolment).where(
            FlowEnrolment.shop_id == shop_id, FlowEnrolment.flow_id == flow.id, FlowEnrolment.status == ACTIVE
        )
    ).scalars():
        if enrolment.step_index >= len(flow.steps):
            enrolment.status, enrolment.next_due_at = COMPLETED, None
        else:
            enrolment.next_due_at = step_due_at(
                enrolment.anchored_at, flow.steps, enrolment.step_index, enrolment.first_wait_days
            )
    return flow


def set_flow_enabled(session: Session, shop_id: int, kind: str, enabled: bool) -> Flow:
    """Switch a flow on or off; off ends every enrolment still waiting (nothing more is sent from it)."""
    flow = _stored_flow(session, shop_id, kind)
    flow.is_enabled = enabled
    if not enabled:
        session.execute(
            update(FlowEnrolment)
            .where(FlowEnrolment.shop_id == shop_id, FlowEnrolment.flow_id == flow.id, FlowEnrolment.status == ACTIVE)
            .values(status=EXITED, exit_reason="flows.exit.flow_off", next_due_at=None, updated_at=utcnow())
        )
    return flow


def flow_counts(session: Session, shop_id: int) -> dict[int, dict[str, int]]:
    """Per flow id: shoppers waiting, completed and exited, and steps sent."""
    rows = session.execute(
        select(FlowEnrolment.flow_id, FlowEnrolment.status, func.count(), func.sum(FlowEnrolment.steps_sent))
        .where(FlowEnrolment.shop_id == shop_id)
        .group_by(FlowEnrolment.flow_id, FlowEnrolment.status)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for flow_id, status, count, sent in rows:
        entry = counts.setdefault(flow_id, {ACTIVE: 0, COMPLETED: 0, EXITED: 0, "sent": 0})
        entry[status] = int(count)
        entry["sent"] += int(sent or 0)
    return counts


def recent_enrolments(session: Session, shop_id: int, limit: int = 20) -> list[FlowEnrolment]:
    return list(
        session.execute(
            select(FlowEnrolment)
            .where(FlowEnrolment.shop_id == shop_id)
            .order_by(FlowEnrolment.updated_at.desc(), FlowEnrolment.id.desc())
            .limit(limit)
        ).scalars()
    )


# --- enrolment -------------------------------------------------------------------------------------------------


def _enabled(session: Session, shop_id: int, starts_on: str | None = None) -> list[Flow]:
    conditions = [Flow.shop_id == shop_id, Flow.is_enabled.is_(True)]
    if starts_on is not None:
        conditions.append(Flow.starts_on == starts_on)
    return list(session.execute(select(Flow).where(*conditions)).scalars())


def _facts(session: Session, order: Order, need_tier: bool) -> ShopperFacts:
    figures = customer_facts(session, order)
    tier = None
    if need_tier:
        found = tier_for(published_policy(session, order.shop_id).tiers, figures)
        tier = found.code if found is not None else None
    return ShopperFacts(
        orders_count=figures.orders_count,
        amount_spent=Decimal(str(figures.amount_spent)),
        tags=tuple(figures.tags),
        product_ids=tuple(int(i["product_id"]) for i in order.line_items or [] if i.get("product_id")),
        locale=negotiate_locale(order.customer_locale),
        tier=tier,
    )


def _enrol(session: Session, flows: list[Flow], order: Order, anchored_at: datetime, event_key: str) -> list[int]:
    """Enrol the order's shopper in each of `flows` whose segment they are in (once per flow and event)."""
    if order.cancelled_at is not None or not (order.email or order.shopify_customer_id):
        return []
    if anchored_at < utcnow() - HISTORY:
        return []
    facts = _facts(session, order, any(Segment.from_dict(f.segment).needs_tier for f in flows))
    enrolled = []
    for flow in flows:
        if not flow.steps or not segment_matches(Segment.from_dict(flow.segment), facts):
            continue
        if flow.kind == "first_order_thanks" and facts.orders_count > 1:
            continue
        first_wait = None
        if flow.kind == "replenishment":
            first_wait = _replenish_wait(session, order, anchored_at)
        enrolment_id = insert_unless_present(
            session,
            FlowEnrolment.__table__,
            {
                "shop_id": order.shop_id,
                "flow_id": flow.id,
                "dedupe_key": f"{flow.id}:{event_key}"[:255],
                "shopify_order_id": order.shopify_order_id,
                "shopify_customer_id": order.shopify_customer_id,
                "email": (order.email or "").strip().lower() or None,
                "status": ACTIVE,
                "step_index": 0,
                "steps_sent": 0,
                "anchored_at": anchored_at,
                "first_wait_days": first_wait,
                "next_due_at": step_due_at(anchored_at, flow.steps, 0, first_wait),
                "enrolled_at": utcnow(),
                "updated_at": utcnow(),
            },
            ["shop_id", "dedupe_key"],
        )
        if enrolment_id:
            enrolled.append(enrolment_id)
    return enrolled


def _replenish_wait(session: Session, order: Order, anchored_at: datetime) -> float | None:
    product_ids = {int(i["product_id"]) for i in order.line_items or [] if i.get("product_id")}
    if not product_ids:
        return None
    medians = session.execute(
        select(ProductRepeatInterval.median_days).where(
            ProductRepeatInterval.shop_id == order.shop_id, ProductRepeatInterval.product_id.in_(product_ids)
        )
    ).scalars()
    placed = order.shopify_created_at or anchored_at
    return replenish_wait(medians, max((anchored_at - placed).total_seconds() / 86400, 0.0))


def _order(session: Session, shop_id: int, shopify_order_id: int) -> Order | None:
    return session.execute(
        select(Order).where(Order.shop_id == shop_id, Order.shopify_order_id == shopify_order_id)
    ).scalar_one_or_none()


# Domain events that start a flow, by the flow's `starts_on`.
def _starts(event: DomainEvent) -> str | None:
    data = event.data or {}
    if event.kind in ("order.status_changed", "shipment.status_changed") and data.get("to") == "delivered":
        return "delivered"
    if event.kind == "return.status_changed" and data.get("to") == "resolved":
        return "return_resolved"
    if event.kind == "survey.answered":
        return "survey_answered"
    return None


def _exit_for(event: DomainEvent) -> str | None:
    data = event.data or {}
    if event.kind == "return.status_changed" and data.get("to") == "requested":
        return "flows.exit.return_opened"
    if event.kind == "shipment.status_changed" and data.get("to") in _PROBLEM_STATES:
        return "flows.exit.delivery_problem"
    if event.kind in ("shipment.delayed", "shipment.stalled"):
        return "flows.exit.delivery_problem"
    if event.kind == "survey.detractor":
        return "flows.exit.detractor"
    return None


def on_domain_event(event: DomainEvent) -> None:
    """Event subscriber: enrol on the events flows start from, end enrolments on the events that stop them.
    Costs nothing for any other event."""
    if event.shopify_order_id is None:
        return
    reason = _exit_for(event)
    if reason is not None:
        _exit_shopper_of_order(db.session, event.shop_id, event.shopify_order_id, reason)
        return
    starts_on = _starts(event)
    if starts_on is None:
        return
    session = db.session
    flows = _enabled(session, event.shop_id, starts_on)
    if not flows:
        return
    order = _order(session, event.shop_id, event.shopify_order_id)
    if order is None:
        return
    if event.kind == "shipment.status_changed" and _parcels(session, order) > 1:
        return  # a split order starts when its last parcel arrives (the order's own "delivered")
    # Once per order for a delivery or an answer (a survey has several scores), once per return resolved.
    key = event.dedupe_key if starts_on == "return_resolved" else str(order.shopify_order_id)
    _enrol(session, flows, order, event.happened_at or event.occurred_at or utcnow(), f"{starts_on}:{key}")


def _parcels(session: Session, order: Order) -> int:
    return session.execute(
        select(func.count()).where(
            Fulfillment.shop_id == order.shop_id,
            Fulfillment.shopify_order_id == order.shopify_order_id,
            Fulfillment.shipment_state != "cancelled",
        )
    ).scalar_one()


def _exit_shopper_of_order(session: Session, shop_id: int, shopify_order_id: int, reason: str) -> int:
    """End every waiting enrolment of the order's shopper (by email or customer id), in one statement."""
    order = select(Order).where(Order.shop_id == shop_id, Order.shopify_order_id == shopify_order_id)
    email = order.with_only_columns(func.lower(Order.email)).scalar_subquery()
    customer = order.with_only_columns(Order.shopify_customer_id).scalar_subquery()
    result = session.execute(
        update(FlowEnrolment)
        .where(
            FlowEnrolment.shop_id == shop_id,
            FlowEnrolment.status == ACTIVE,
            or_(FlowEnrolment.email == email, FlowEnrolment.shopify_customer_id == customer),
        )
        .values(status=EXITED, exit_reason=reason, next_due_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def on_order_upserted(shop: Shop, payload: dict[str, Any]) -> None:
    """In-transaction subscriber of ORDER_UPSERTED: for a shop with a flow switched on, the order ends its
    shopper's earlier enrolments (their next order), teaches the products' repeat intervals, and enrols the
    shopper in the flows that start when an order is placed. Idempotent: a redelivered order changes nothing.
    A shop without flows pays one indexed select."""
    session = db.session
    flows = _enabled(session, shop.id)
    if not flows or not isinstance(payload.get("id"), int):
        return
    order = _order(session, shop.id, payload["id"])
    if order is None or order.cancelled_at is not None:
        return
    placed = order.shopify_created_at or utcnow()
    email = (order.email or "").strip().lower() or None
    shopper = _shopper_condition(Order, email, order.shopify_customer_id)
    if shopper is None:
        return
    session.execute(
        update(FlowEnrolment)
        .where(
            FlowEnrolment.shop_id == shop.id,
            FlowEnrolment.status == ACTIVE,
            FlowEnrolment.shopify_order_id != order.shopify_order_id,
            _shopper_condition(FlowEnrolment, email, order.shopify_customer_id),
        )
        .where(
            exists().where(
                Order.shop_id == shop.id,
                Order.shopify_order_id == FlowEnrolment.shopify_order_id,
                Order.shopify_created_at < placed,
            )
        )
        .values(status=EXITED, exit_reason="flows.exit.new_order", next_due_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    learn_repeat_intervals(session, order, shopper)
    starting = [f for f in flows if f.starts_on == "order_placed"]
    if starting:
        _enrol(session, starting, order, placed, f"order_placed:{order.shopify_order_id}")


def _shopper_condition(model: Any, email: str | None, customer_id: int | None):
    conditions = []
    if email:
        conditions.append((func.lower(model.email) if model is Order else model.email) == email)
    if customer_id:
        conditions.append(model.shopify_customer_id == customer_id)
    return or_(*conditions) if conditions else None


def learn_repeat_intervals(session: Session, order: Order, shopper: Any) -> None:
    """Add, for each product of the order the shopper bought before, the days since their latest earlier order
    of it to the product's samples (keyed by this order, so a redelivery adds nothing)."""
    placed = order.shopify_created_at
    products = {int(i["product_id"]) for i in order.line_items or [] if i.get("product_id")}
    if placed is None or not products:
        return
    earlier = session.execute(
        select(Order.shopify_created_at, Order.line_items)
        .where(
            Order.shop_id == order.shop_id,
            shopper,
            Order.shopify_order_id != order.shopify_order_id,
            Order.shopify_created_at < placed,
            Order.cancelled_at.is_(None),
        )
        .order_by(Order.shopify_created_at.desc())
        .limit(50)
    ).all()
    last_bought: dict[int, datetime] = {}
    for created_at, items in earlier:
        for item in items or []:
            product = item.get("product_id")
            if product and int(product) in products and int(product) not in last_bought:
                last_bought[int(product)] = created_at
    if not last_bought:
        return
    rows = {
        row.product_id: row
        for row in session.execute(
            select(ProductRepeatInterval).where(
                ProductRepeatInterval.shop_id == order.shop_id,
                ProductRepeatInterval.product_id.in_(last_bought),
            )
        ).scalars()
    }
    for product, before in last_bought.items():
        days = round((placed - before).total_seconds() / 86400, 2)
        row = rows.get(product)
        if row is None:
            row = ProductRepeatInterval(shop_id=order.shop_id, product_id=product, samples={})
            session.add(row)
        samples = dict(row.samples or {})
        samples[str(order.shopify_order_id)] = days
        samples = dict(list(samples.items())[-MAX_REPEAT_SAMPLES:])
        row.samples = samples
        row.median_days = median_interval(samples.values())
    session.flush()


# --- sending ---------------------------------------------------------------------------------------------------


# Written into the statement, not bound: PostgreSQL matches the partial index's predicate only against a literal,
# and once psycopg prepares the statement (its fifth run) a generic plan with `status = $1` read every enrolment
# (benchmarks/flows.py: 1.1 s at a million, as slow as a full scan).
_IS_ACTIVE = FlowEnrolment.status == literal_column(f"'{ACTIVE}'")


def due_enrolments(session: Session, now: datetime, limit: int = DUE_BATCH) -> list[FlowEnrolment]:
    """The enrolments whose next step is due, oldest first: an index range scan of the active rows with
    `next_due_at <= now`, never a read of the orders or of the rows not due."""
    return list(
        session.execute(
            select(FlowEnrolment)
            .where(_IS_ACTIVE, FlowEnrolment.next_due_at <= now)
            .order_by(FlowEnrolment.next_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )


def _end(enrolment: FlowEnrolment, status: str, reason: str | None = None) -> None:
    enrolment.status, enrolment.exit_reason, enrolment.next_due_at = status, reason, None


def _next_order_since(session: Session, enrolment: FlowEnrolment, order: Order) -> bool:
    shopper = _shopper_condition(Order, enrolment.email, enrolment.shopify_customer_id)
    if shopper is None or order.shopify_created_at is None:
        return False
    return bool(
        session.execute(
            select(
                exists().where(
                    Order.shop_id == enrolment.shop_id,
                    shopper,
                    Order.shopify_order_id != order.shopify_order_id,
                    Order.shopify_created_at > order.shopify_created_at,
                    Order.cancelled_at.is_(None),
                )
            )
        ).scalar()
    )


def send_step(session: Session, enrolment: FlowEnrolment, flow: Flow | None, now: datetime) -> bool:
    """Send the enrolment's next step (record `flow.step_sent`) unless something ends it first; then move on to
    the following step or finish. True when a step was sent."""
    if flow is None or not flow.is_enabled or flow.shop_id != enrolment.shop_id:
        _end(enrolment, EXITED, "flows.exit.flow_off")
        return False
    if enrolment.step_index >= len(flow.steps):
        _end(enrolment, COMPLETED)
        return False
    order = _order(session, enrolment.shop_id, enrolment.shopify_order_id)
    if order is None:
        _end(enrolment, EXITED, "flows.exit.order_gone")
        return False
    if _next_order_since(session, enrolment, order):
        _end(enrolment, EXITED, "flows.exit.new_order")
        return False
    step = flow.steps[enrolment.step_index]
    channel = step.get("channel") or "email"
    refusal = consent_allows(session, enrolment.shop_id, channel, recipient_for(session, order, channel), True)
    if refusal is not None:
        # An opt-out, no marketing consent on this channel, or marketing held for an unhappy answer.
        _end(enrolment, EXITED, f"flows.exit.no_consent:{refusal}"[:255])
        return False
    record_event(
        session,
        enrolment.shop_id,
        STEP_SENT,
        f"flow:{enrolment.id}:step:{enrolment.step_index + 1}",
        shopify_order_id=enrolment.shopify_order_id,
        data={
            "flow": flow.kind,
            "flow_id": flow.id,
            "step": enrolment.step_index + 1,
            "channel": channel,
            "enrolment_id": enrolment.id,
        },
        happened_at=now,
    )
    enrolment.steps_sent += 1
    enrolment.step_index += 1
    if enrolment.step_index >= len(flow.steps):
        _end(enrolment, COMPLETED)
    else:
        enrolment.next_due_at = max(
            step_due_at(enrolment.anchored_at, flow.steps, enrolment.step_index, enrolment.first_wait_days), now
        )
    return True


@with_app_context
def send_due_flow_steps(now: datetime | None = None, limit: int = DUE_BATCH) -> int:
    """Periodic job: send every due step (batches of `limit`, each committed). `now` is the clock (tests pass
    the moment they mean)."""
    session = db.session
    now = now or utcnow()
    sent = 0
    while True:
        due = due_enrolments(session, now, limit)
        if not due:
            session.rollback()
            return sent
        flows = {
            flow.id: flow
            for flow in session.execute(select(Flow).where(Flow.id.in_({e.flow_id for e in due}))).scalars()
        }
        for enrolment in due:
            enrolment.updated_at = now
            sent += send_step(session, enrolment, flows.get(enrolment.flow_id), now)
        session.commit()
        if len(due) < limit:
            return sent


def exit_reason_key(reason: str | None) -> tuple[str | None, str | None]:
    """(catalog key, detail) of a stored exit reason (the consent one carries the pipeline's words)."""
    if not reason:
        return None, None
    key, _, detail = reason.partition(":")
    return key, detail or None


__all__ = [
    "STEP_SENT",
    "due_enrolments",
    "exit_reason_key",
    "flow_counts",
    "learn_repeat_intervals",
    "on_domain_event",
    "on_order_upserted",
    "recent_enrolments",
    "save_flow",
    "send_due_flow_steps",
    "send_step",
    "set_flow_enabled",
    "shop_flows",
]
