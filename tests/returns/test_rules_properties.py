"""Property tests of the return rules engine: for any order and policy the decision is deterministic,
explains itself, never offers a resolution the policy forbids, and loyalty perks apply exactly to their tier."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.i18n import read_catalog
from app.returns import messages  # noqa: F401  (registers the returns.* keys)
from app.returns.messages import explain
from app.returns.rules import (
    CONDITION_FIELDS,
    OPERATORS,
    RESOLUTIONS,
    Condition,
    CustomerFacts,
    ItemFacts,
    OrderFacts,
    Outcome,
    Perks,
    Policy,
    PolicyError,
    Rule,
    Tier,
    decide,
    policy_from_dict,
    quote,
    tier_for,
)
from app.returns.tiers import default_policy

TODAY = date(2026, 11, 23)
TAGS = ("final-sale", "sale", "shoes", "vip", "new", "clearance")
money = st.decimals(min_value=Decimal("0"), max_value=Decimal("5000"), places=2, allow_nan=False)
percent = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=0)


@st.composite
def conditions(draw):
    name = draw(st.sampled_from(sorted(CONDITION_FIELDS)))
    kind = CONDITION_FIELDS[name]
    op = draw(st.sampled_from(OPERATORS[kind]))
    if kind == "number":
        value = draw(st.decimals(min_value=Decimal("0"), max_value=Decimal("200"), places=1))
    elif kind == "set" or op in ("in", "not_in"):
        value = tuple(draw(st.lists(st.sampled_from(TAGS + ("gold", "silver", "TH", "US")), max_size=3)))
    elif kind == "text":
        value = draw(st.sampled_from(("TH", "US", "gold", "silver", "member", "shirt")))
    else:
        value = None
    return Condition(name, op, value)


@st.composite
def outcomes(draw):
    return Outcome(
        eligible=draw(st.sampled_from((None, None, True, False))),
        window_days=draw(st.one_of(st.none(), st.integers(0, 120))),
        allowed_resolutions=draw(st.one_of(st.none(), st.lists(st.sampled_from(RESOLUTIONS), unique=True).map(tuple))),
        credit_bonus_percent=draw(st.one_of(st.none(), percent)),
        free_return_shipping=draw(st.one_of(st.none(), st.booleans())),
        restocking_fee_percent=draw(st.one_of(st.none(), percent)),
        review=draw(st.sampled_from((None, "auto", "manual"))),
        keep_under_value=draw(st.one_of(st.none(), money)),
        message=draw(st.sampled_from((None, {"en": "No returns on gift cards", "th": "บัตรของขวัญคืนไม่ได้"}))),
    )


@st.composite
def perks(draw):
    return Perks(
        window_days=draw(st.one_of(st.none(), st.integers(0, 120))),
        is_window_enabled=draw(st.booleans()),
        free_return_shipping=True,
        is_free_shipping_enabled=draw(st.booleans()),
        auto_approve=True,
        is_auto_approve_enabled=draw(st.booleans()),
        credit_bonus_percent=draw(percent),
        is_credit_bonus_enabled=draw(st.booleans()),
    )


@st.composite
def tier_lists(draw):
    count = draw(st.integers(0, 3))
    tiers = []
    for rank in range(count):
        tiers.append(
            Tier(
                code=f"t{rank}",
                name=f"Tier {rank}",
                rank=rank,
                min_orders=None if rank == 0 else draw(st.one_of(st.none(), st.integers(1, 20))),
                min_spent=None if rank == 0 else draw(st.one_of(st.none(), money)),
                tags=() if rank == 0 else tuple(draw(st.lists(st.sampled_from(("vip", "friend")), max_size=1))),
                perks=draw(perks()),
            )
        )
    return tuple(tiers)


@st.composite
def policies(draw):
    rules = tuple(
        Rule(
            id=f"r{i}",
            name=f"Rule {i}",
            conditions=tuple(draw(st.lists(conditions(), max_size=3))),
            outcome=draw(outcomes()),
            is_enabled=draw(st.booleans()),
        )
        for i in range(draw(st.integers(0, 4)))
    )
    return Policy(
        window_days=draw(st.integers(0, 90)),
        resolutions=tuple(draw(st.lists(st.sampled_from(RESOLUTIONS[:4]), unique=True))),
        credit_bonus_percent=draw(percent),
        return_shipping_fee=draw(st.sampled_from((Decimal("0"), Decimal("60")))),
        restocking_fee_percent=draw(percent),
        review=draw(st.sampled_from(("auto", "manual"))),
        keep_under_value=draw(st.one_of(st.none(), money)),
        rules=rules,
        tiers=draw(tier_lists()),
    )


@st.composite
def orders(draw):
    items = tuple(
        ItemFacts(
            line_item_id=i + 1,
            title=f"Item {i}",
            unit_price=draw(money),
            quantity=draw(st.integers(1, 3)),
            product_tags=tuple(draw(st.lists(st.sampled_from(TAGS), max_size=3, unique=True))),
            product_type=draw(st.sampled_from((None, "shirt", "shoes"))),
            collections=tuple(draw(st.lists(st.sampled_from(("summer", "sale")), max_size=2, unique=True))),
            discount_percent=draw(percent),
        )
        for i in range(draw(st.integers(1, 4)))
    )
    delivered_ago = draw(st.one_of(st.none(), st.integers(0, 200)))
    return OrderFacts(
        order_value=sum((i.unit_price * i.quantity for i in items), Decimal("0")),
        currency="THB",
        delivered_on=None if delivered_ago is None else TODAY - timedelta(days=delivered_ago),
        destination_country=draw(st.sampled_from(("TH", "US", None))),
        items=items,
    )


@st.composite
def customers(draw):
    past_orders = draw(st.integers(0, 30))
    return CustomerFacts(
        orders_count=draw(st.integers(0, 30)),
        amount_spent=draw(money),
        tags=tuple(draw(st.lists(st.sampled_from(("vip", "friend", "wholesale")), max_size=2, unique=True))),
        past_return_count=draw(st.integers(0, past_orders)),
        past_order_count=past_orders,
    )


@settings(max_examples=300, deadline=None)
@given(policies(), orders(), customers())
def test_decision_is_deterministic(policy, order, customer):
    assert decide(policy, order, customer, TODAY) == decide(policy, order, customer, TODAY)


@settings(max_examples=300, deadline=None)
@given(policies(), orders(), customers())
def test_every_no_is_explained_in_both_languages(policy, order, customer):
    decision = decide(policy, order, customer, TODAY)
    for item in decision.items:
        if not item.is_eligible:
            assert item.reasons, item
            assert item.allowed_resolutions == ()
        denied = dict(item.denied_resolutions)
        assert set(denied) | set(item.allowed_resolutions) == set(RESOLUTIONS)
        assert not set(denied) & set(item.allowed_resolutions)
        for explanation in [*item.reasons, *denied.values()]:
            for locale in ("en", "th"):
                if explanation.key != "returns.no.custom":
                    assert explanation.key in {m.id for m in read_catalog(locale)}
                assert explain(explanation, locale).strip()


@settings(max_examples=300, deadline=None)
@given(policies(), orders(), customers())
def test_never_offers_a_resolution_the_policy_forbids(policy, order, customer):
    decision = decide(policy, order, customer, TODAY)
    tier = tier_for(policy.tiers, customer)
    for item_facts, item in zip(order.items, decision.items, strict=True):
        allowed = set(item.allowed_resolutions)
        assert allowed <= set(policy.resolutions) | {"keep"}
        facts_rules = [r for r in policy.rules if r.id in item.matched_rules]
        for rule in facts_rules:
            if rule.outcome.allowed_resolutions is not None:
                assert allowed <= set(rule.outcome.allowed_resolutions)
            if rule.outcome.eligible is False:
                assert not item.is_eligible
        if "keep" in allowed:
            limits = [policy.keep_under_value, *(r.outcome.keep_under_value for r in facts_rules)]
            effective_limit = [v for v in limits if v is not None][-1]
            assert item_facts.unit_price * item_facts.quantity <= effective_limit
        if {t.lower() for t in item_facts.product_tags} & {t.lower() for t in policy.final_sale_tags}:
            assert not item.is_eligible
        if order.delivered_on is None or (TODAY - order.delivered_on).days > item.window_days:
            assert not item.is_eligible
        assert decision.tier == (tier.code if tier else None)


@settings(max_examples=300, deadline=None)
@given(tier_lists(), customers(), orders(), st.integers(0, 90))
def test_loyalty_perks_apply_exactly_to_their_tier(tiers, customer, order, window):
    policy = Policy(window_days=window, return_shipping_fee=Decimal("60"), review="manual", tiers=tiers)
    decision = decide(policy, order, customer, TODAY)
    tier = tier_for(tiers, customer)
    perks = tier.perks if tier else Perks()
    for item in decision.items:
        expected_window = window
        if perks.is_window_enabled and perks.window_days is not None:
            expected_window = max(window, perks.window_days)
        assert item.window_days == expected_window
        assert item.free_return_shipping is perks.is_free_shipping_enabled
        assert item.auto_approve is perks.is_auto_approve_enabled
        expected_bonus = perks.credit_bonus_percent if perks.is_credit_bonus_enabled else Decimal("0")
        assert item.credit_bonus_percent == expected_bonus
    # The tier is the highest-ranked one the customer qualifies for, and no higher one qualifies.
    if tier is not None:
        for other in tiers:
            if other.rank > tier.rank:
                assert tier_for((other,), customer) is None


@settings(max_examples=200, deadline=None)
@given(policies(), orders(), customers(), st.sampled_from(RESOLUTIONS))
def test_quote_never_goes_negative_and_bonus_only_for_credit(policy, order, customer, resolution):
    decision = decide(policy, order, customer, TODAY)
    for facts, item in zip(order.items, decision.items, strict=True):
        figures = quote(item, facts.unit_price, facts.quantity, resolution, shipping_fee=policy.return_shipping_fee)
        assert figures["total"] >= 0
        assert (figures["bonus"] > 0) <= (resolution == "store_credit")


def test_window_refusal_names_the_date_and_the_better_tier():
    policy = policy_from_dict(default_policy())
    order = OrderFacts(
        order_value=Decimal("900"),
        currency="THB",
        delivered_on=date(2026, 4, 3),
        destination_country="TH",
        items=(ItemFacts(1, "Linen shirt", Decimal("900"), 1),),
    )
    decision = decide(policy, order, CustomerFacts(orders_count=1), date(2026, 5, 10))
    item = decision.item(1)
    assert not item.is_eligible and decision.tier == "member"
    assert explain(item.reasons[0], "en") == "Your 30-day return window ended on 3 May; Silver members have 45 days."
    assert "3 พ.ค." in explain(item.reasons[0], "th")
    gold = decide(policy, order, CustomerFacts(orders_count=9, tags=("vip",)), date(2026, 5, 10))
    assert gold.tier == "gold" and gold.item(1).is_eligible and gold.item(1).window_days == 60


def test_final_sale_is_explained():
    policy = policy_from_dict(default_policy())
    order = OrderFacts(
        Decimal("100"),
        "THB",
        TODAY - timedelta(days=2),
        "TH",
        (ItemFacts(7, "Sale tee", Decimal("100"), 1, ("Final-Sale",)),),
    )
    item = decide(policy, order, CustomerFacts(), TODAY).item(7)
    assert not item.is_eligible
    assert explain(item.reasons[0], "en") == "Sale tee was a final sale item and cannot be returned."


def test_bad_policy_names_every_bad_field():
    raw = default_policy()
    raw["window_days"] = "-3"
    raw["resolutions"] = ["refund", "teleport"]
    raw["rules"] = [
        {"conditions": [{"field": "moon_phase", "op": "eq"}, {"field": "order_value", "op": "contains_any"}]}
    ]
    with pytest.raises(PolicyError) as caught:
        policy_from_dict(raw)
    assert set(caught.value.errors) == {
        "window_days",
        "resolutions",
        "rules.0.conditions.0.field",
        "rules.0.conditions.1.op",
    }
