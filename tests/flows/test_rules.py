"""The flows' pure rules: segments, due times (a learned first wait moves the sequence, keeping the gaps), the
repeat interval (trusted from three samples), the replenishment wait, and the categories of the one frequency
policy (marketing held by the shopper's cap, updates never)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from app.flows.rules import (
    Segment,
    ShopperFacts,
    median_interval,
    replenish_wait,
    segment_matches,
    step_due_at,
    validate_flow,
)
from app.notifications import policy
from app.notifications.models import NotificationSettings

T = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
FACTS = ShopperFacts(
    orders_count=3, amount_spent=Decimal("2500"), tags=("VIP",), product_ids=(7,), locale="th", tier="gold"
)


def test_an_empty_segment_is_everyone_and_each_condition_narrows_it():
    assert segment_matches(Segment.from_dict({}), FACTS)
    assert segment_matches(Segment.from_dict({"min_orders": 3, "max_orders": 3}), FACTS)
    assert not segment_matches(Segment.from_dict({"min_orders": 4}), FACTS)
    assert not segment_matches(Segment.from_dict({"max_orders": 1}), FACTS)
    assert segment_matches(Segment.from_dict({"min_spent": "2500"}), FACTS)
    assert not segment_matches(Segment.from_dict({"min_spent": "2500.01"}), FACTS)
    assert segment_matches(Segment.from_dict({"tags": ["vip"]}), FACTS)  # tags match whatever their case
    assert not segment_matches(Segment.from_dict({"tags": ["wholesale"]}), FACTS)
    assert segment_matches(Segment.from_dict({"products": [7, 8]}), FACTS)
    assert not segment_matches(Segment.from_dict({"products": [8]}), FACTS)
    assert not segment_matches(Segment.from_dict({"locales": ["en"]}), FACTS)
    assert segment_matches(Segment.from_dict({"tiers": ["gold"]}), FACTS)
    assert not segment_matches(Segment.from_dict({"tiers": ["silver"]}), FACTS)


def test_waits_count_from_the_event_and_a_learned_first_wait_keeps_the_gaps():
    steps = [{"wait_days": 30}, {"wait_days": 37}]
    assert step_due_at(T, steps, 0) == T + timedelta(days=30)
    assert step_due_at(T, steps, 1) == T + timedelta(days=37)
    assert step_due_at(T, steps, 0, first_wait_days=15) == T + timedelta(days=15)
    assert step_due_at(T, steps, 1, first_wait_days=15) == T + timedelta(days=22)


def test_the_repeat_interval_is_trusted_from_three_samples():
    assert median_interval([20.0, 22.0]) is None
    assert median_interval([20.0, 22.0, 40.0]) == 22.0
    assert replenish_wait([None, 22.0, 30.0], days_from_order_to_event=2) == 17.0  # 22 - 2 - 3 days' lead
    assert replenish_wait([None], 2) is None
    assert replenish_wait([4.0], 2) == 1.0  # never before the next day


def test_the_editor_reads_lists_and_refuses_what_cannot_be_kept():
    step = {
        "wait_days": "3",
        "channel": "email",
        "texts": {lang: {"subject": "s", "body": "b"} for lang in ("en", "th")},
    }
    clean, errors = validate_flow(
        {
            "starts_on": "delivered",
            "segment": {"tags": "vip, loyal", "products": "7, 8", "min_spent": "100"},
            "steps": [step],
        }
    )
    assert errors == {}
    assert clean["segment"] == {"tags": ["vip", "loyal"], "products": [7, 8], "min_spent": "100"}
    assert clean["steps"][0]["wait_days"] == 3
    _, errors = validate_flow({"starts_on": "delivered", "segment": {}, "steps": [{**step, "wait_days": "366"}]})
    assert errors == {"steps.0.wait_days": "flows.error.wait_days"}


def test_one_frequency_policy_marketing_and_content_are_capped_and_updates_never():
    assert policy.is_marketing("flow_step")
    for trigger in ("shipped", "delivered", "return_resolved", "delivery_survey", "review_request", "tracking_link"):
        assert not policy.is_marketing(trigger), trigger
    assert "flow_step" in policy.capped_triggers()
    settings = NotificationSettings(marketing_per_day=1, marketing_per_week=3)
    now = T
    assert policy.marketing_release(0, 2, None, now - timedelta(days=2), settings, now) is None
    release, reason = policy.marketing_release(1, 1, now - timedelta(hours=2), now - timedelta(hours=2), settings, now)
    assert release == now + timedelta(hours=22) and reason == "marketing cap: 1 a day per shopper reached"
    release, reason = policy.marketing_release(0, 3, None, now - timedelta(days=6), settings, now)
    assert release == now + timedelta(days=1) and reason == "marketing cap: 3 a week per shopper reached"
    assert policy.shopper_key(" Ann@Example.com ", 5) == "ann@example.com"
    assert policy.shopper_key(None, 5) == "customer:5" and policy.shopper_key(None, None) is None
