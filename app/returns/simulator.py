"""The policy simulator: what a changed policy would have done to the last 90 days of return requests and
orders, next to what the published one did.

For each past request, both policies decide its items as of the day it was requested. A request counts as
eligible when every one of its items is. Its resolution is kept when the policy allows it; a refund the
policy no longer allows becomes store credit, else an exchange (the first the policy offers), which is how
a policy turns refunds into credit or exchanges. Figures:
- requests whose eligibility changes (either way);
- credit bonus cost: the bonus on every credited request;
- free-shipping cost: the return shipping fee waived on every eligible request that is not "keep";
- share kept: requests ending as credit or exchange among the eligible ones;
- orders of the last 90 days with at least one item returnable today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.orders.models import Order
from app.returns.models import ReturnRequest
from app.returns.rules import CENT, OrderFacts, Policy, decide, quote
from app.returns.services import customer_facts, order_facts

KEPT = ("store_credit", "exchange_variant", "exchange_product")
FALLBACKS = ("store_credit", "exchange_variant", "exchange_product")


@dataclass
class PolicyFigures:
    eligible_requests: int = 0
    credit_bonus_cost: Decimal = Decimal("0.00")
    free_shipping_cost: Decimal = Decimal("0.00")
    kept_requests: int = 0
    returnable_orders: int = 0

    @property
    def kept_share(self) -> Decimal:
        if not self.eligible_requests:
            return Decimal("0.00")
        return (Decimal(self.kept_requests) * 100 / self.eligible_requests).quantize(CENT)


@dataclass
class Simulation:
    days: int
    requests: int
    orders: int
    published: PolicyFigures = field(default_factory=PolicyFigures)
    draft: PolicyFigures = field(default_factory=PolicyFigures)
    became_ineligible: list[int] = field(default_factory=list)
    became_eligible: list[int] = field(default_factory=list)


def _request_outcome(
    policy: Policy, facts: OrderFacts, customer, request: ReturnRequest, figures: PolicyFigures
) -> bool:
    wanted = {line.shopify_line_item_id: line for line in request.lines}
    items = tuple(i for i in facts.items if i.line_item_id in wanted)
    if not items:
        return False
    scoped = OrderFacts(facts.order_value, facts.currency, facts.delivered_on, facts.destination_country, items)
    decision = decide(policy, scoped, customer, request.requested_at.date())
    if not all(d.is_eligible for d in decision.items):
        return False
    resolution = request.resolution or "refund"
    if any(resolution not in d.allowed_resolutions for d in decision.items):
        resolution = next(
            (r for r in FALLBACKS if all(r in d.allowed_resolutions for d in decision.items)),
            None,
        )
        if resolution is None:
            return False
    figures.eligible_requests += 1
    if resolution in KEPT:
        figures.kept_requests += 1
    for index, (item, item_decision) in enumerate(zip(items, decision.items, strict=True)):
        quantity = wanted[item.line_item_id].quantity
        fee = policy.return_shipping_fee if index == 0 else Decimal("0")
        figures_for_item = quote(item_decision, item.unit_price, quantity, resolution, shipping_fee=fee)
        figures.credit_bonus_cost += figures_for_item["bonus"]
        if index == 0 and resolution != "keep" and item_decision.free_return_shipping:
            figures.free_shipping_cost += policy.return_shipping_fee
    return True


def simulate(
    session: Session, shop_id: int, published: Policy, draft: Policy, *, days: int = 90, today: date | None = None
) -> Simulation:
    """Compare two policies on the shop's own history (read-only)."""
    today = today or utcnow().date()
    since = today - timedelta(days=days)
    from datetime import UTC, datetime, time

    since_at = datetime.combine(since, time.min, tzinfo=UTC)
    requests = list(
        session.execute(
            select(ReturnRequest)
            .where(ReturnRequest.shop_id == shop_id, ReturnRequest.requested_at >= since_at)
            .order_by(ReturnRequest.id)
        ).scalars()
    )
    orders = list(
        session.execute(
            select(Order).where(Order.shop_id == shop_id, Order.shopify_created_at >= since_at).order_by(Order.id)
        ).scalars()
    )
    result = Simulation(days=days, requests=len(requests), orders=len(orders))
    cache: dict[int, tuple] = {}

    def facts_for(order: Order):
        if order.id not in cache:
            facts, _ = order_facts(session, order)
            cache[order.id] = (facts, customer_facts(session, order))
        return cache[order.id]

    orders_by_shopify_id = {o.shopify_order_id: o for o in orders}
    for request in requests:
        order = (
            orders_by_shopify_id.get(request.shopify_order_id)
            or session.execute(
                select(Order).where(Order.shop_id == shop_id, Order.shopify_order_id == request.shopify_order_id)
            ).scalar_one_or_none()
        )
        if order is None:
            continue
        facts, customer = facts_for(order)
        before = _request_outcome(published, facts, customer, request, result.published)
        after = _request_outcome(draft, facts, customer, request, result.draft)
        if before and not after:
            result.became_ineligible.append(request.id)
        elif after and not before:
            result.became_eligible.append(request.id)
    for order in orders:
        facts, customer = facts_for(order)
        for policy, figures in ((published, result.published), (draft, result.draft)):
            if any(d.is_eligible for d in decide(policy, facts, customer, today).items):
                figures.returnable_orders += 1
    return result
