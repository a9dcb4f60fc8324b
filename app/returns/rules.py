"""The return rules engine: a pure function from (policy, order facts, customer facts, today) to a decision.

No Flask, no database. Every "no" carries an explanation (a catalog key plus its values) so the portal can
say it in the shopper's language, and every decision lists the rules that shaped it.

How a decision is made, per item:
1. start from the policy's defaults (window, resolutions the merchant offers, credit bonus, fees, review);
2. apply the customer's loyalty tier perks that are switched on (app/returns/tiers.py);
3. apply every rule whose conditions all hold, in order; a later rule overrides what an earlier one set,
   except that "not eligible" always wins and "allowed resolutions" only ever narrows;
4. check the return window against the delivery date, and "keep the item" against its value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

RESOLUTIONS = ("refund", "store_credit", "exchange_variant", "exchange_product", "keep")
REVIEW_MODES = ("auto", "manual")
CENT = Decimal("0.01")

# field -> kind; the kind decides which operators make sense.
CONDITION_FIELDS: dict[str, str] = {
    "days_since_delivery": "number",
    "product_tags": "set",
    "product_type": "text",
    "collections": "set",
    "is_final_sale": "bool",
    "discount_percent": "number",
    "order_value": "number",
    "destination_country": "text",
    "customer_tags": "set",
    "tier": "text",
    "past_return_count": "number",
    "past_return_rate": "number",
}
OPERATORS: dict[str, tuple[str, ...]] = {
    "number": ("eq", "ne", "gt", "gte", "lt", "lte"),
    "text": ("eq", "ne", "in", "not_in"),
    "set": ("contains_any", "contains_none"),
    "bool": ("is_true", "is_false"),
}


class PolicyError(ValueError):
    """A policy the engine cannot use; `errors` maps a path ("rules.2.conditions.0.op") to what is wrong, in
    English (the JSON API's answer), and `reasons` maps the same paths to an Explanation (a catalog key,
    `admin.policy.err.*`) so the admin can say it in the merchant's language."""

    def __init__(self, errors: dict[str, str], reasons: dict[str, Explanation] | None = None) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.reasons = reasons if reasons is not None else getattr(errors, "reasons", {})


@dataclass(frozen=True)
class Explanation:
    """Why something is so, as a catalog key (app/returns/messages.py) and the values it needs."""

    key: str
    values: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, key: str, **values: Any) -> Explanation:
        return cls(key, tuple(sorted((k, str(v)) for k, v in values.items())))

    def params(self) -> dict[str, str]:
        return dict(self.values)


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any = None

    def holds(self, facts: dict[str, Any]) -> bool:
        actual = facts.get(self.field)
        kind = CONDITION_FIELDS[self.field]
        if kind == "bool":
            return bool(actual) is (self.op == "is_true")
        if kind == "set":
            wanted = {str(v).strip().lower() for v in _as_list(self.value)}
            have = {str(v).strip().lower() for v in (actual or ())}
            overlap = bool(wanted & have)
            return overlap if self.op == "contains_any" else not overlap
        if kind == "text":
            text = str(actual or "").strip().lower()
            if self.op in ("in", "not_in"):
                options = {str(v).strip().lower() for v in _as_list(self.value)}
                return (text in options) is (self.op == "in")
            return (text == str(self.value or "").strip().lower()) is (self.op == "eq")
        if actual is None:
            return False  # an unknown number (e.g. not delivered yet) never satisfies a comparison
        left, right = Decimal(str(actual)), Decimal(str(self.value))
        return {
            "eq": left == right,
            "ne": left != right,
            "gt": left > right,
            "gte": left >= right,
            "lt": left < right,
            "lte": left <= right,
        }[self.op]


@dataclass(frozen=True)
class Outcome:
    """What a matching rule does; None leaves a setting as it was."""

    eligible: bool | None = None
    window_days: int | None = None
    allowed_resolutions: tuple[str, ...] | None = None
    credit_bonus_percent: Decimal | None = None
    free_return_shipping: bool | None = None
    restocking_fee_percent: Decimal | None = None
    review: str | None = None
    keep_under_value: Decimal | None = None
    # Shown to the shopper when this rule says no (merchant text per locale); a default is used otherwise.
    message: dict[str, str] | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    conditions: tuple[Condition, ...]
    outcome: Outcome
    is_enabled: bool = True

    def matches(self, facts: dict[str, Any]) -> bool:
        return self.is_enabled and all(c.holds(facts) for c in self.conditions)


@dataclass(frozen=True)
class Perks:
    """A loyalty tier's perks; each is applied only when switched on."""

    window_days: int | None = None
    is_window_enabled: bool = False
    free_return_shipping: bool = False
    is_free_shipping_enabled: bool = False
    auto_approve: bool = False
    is_auto_approve_enabled: bool = False
    credit_bonus_percent: Decimal = Decimal("0")
    is_credit_bonus_enabled: bool = False


@dataclass(frozen=True)
class Tier:
    code: str
    name: str
    rank: int
    min_orders: int | None = None
    min_spent: Decimal | None = None
    tags: tuple[str, ...] = ()
    perks: Perks = field(default_factory=Perks)


@dataclass(frozen=True)
class Policy:
    window_days: int = 30
    resolutions: tuple[str, ...] = ("refund", "store_credit", "exchange_variant", "exchange_product")
    credit_bonus_percent: Decimal = Decimal("0")
    return_shipping_fee: Decimal = Decimal("0")
    restocking_fee_percent: Decimal = Decimal("0")
    review: str = "manual"
    keep_under_value: Decimal | None = None
    final_sale_tags: tuple[str, ...] = ("final-sale",)
    rules: tuple[Rule, ...] = ()
    tiers: tuple[Tier, ...] = ()
    # The shop pays the return shipping when the reason is its own fault (damaged, wrong item).
    seller_fault_free_shipping: bool = True


@dataclass(frozen=True)
class ItemFacts:
    """One line of the order as the engine sees it."""

    line_item_id: int
    title: str
    unit_price: Decimal
    quantity: int
    product_tags: tuple[str, ...] = ()
    product_type: str | None = None
    collections: tuple[str, ...] = ()
    discount_percent: Decimal = Decimal("0")


@dataclass(frozen=True)
class OrderFacts:
    order_value: Decimal
    currency: str
    delivered_on: date | None
    destination_country: str | None
    items: tuple[ItemFacts, ...]


@dataclass(frozen=True)
class CustomerFacts:
    orders_count: int = 0
    amount_spent: Decimal = Decimal("0")
    tags: tuple[str, ...] = ()
    past_return_count: int = 0
    past_order_count: int = 0

    @property
    def past_return_rate(self) -> Decimal:
        if self.past_order_count <= 0:
            return Decimal("0")
        return (Decimal(self.past_return_count) / Decimal(self.past_order_count)).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class ItemDecision:
    line_item_id: int
    is_eligible: bool
    reasons: tuple[Explanation, ...]
    allowed_resolutions: tuple[str, ...]
    denied_resolutions: tuple[tuple[str, Explanation], ...]
    window_days: int
    window_ends_on: date | None
    credit_bonus_percent: Decimal
    free_return_shipping: bool
    restocking_fee_percent: Decimal
    auto_approve: bool
    matched_rules: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    tier: str | None
    items: tuple[ItemDecision, ...]

    def item(self, line_item_id: int) -> ItemDecision:
        for decision in self.items:
            if decision.line_item_id == line_item_id:
                return decision
        raise KeyError(line_item_id)


def tier_for(tiers: Iterable[Tier], customer: CustomerFacts) -> Tier | None:
    """The highest-ranked tier the customer qualifies for: any one of its thresholds (orders, amount
    spent, a tag) is enough; a tier without thresholds is everyone's base tier."""
    best: Tier | None = None
    tags = {t.strip().lower() for t in customer.tags}
    for tier in tiers:
        criteria = []
        if tier.min_orders is not None:
            criteria.append(customer.orders_count >= tier.min_orders)
        if tier.min_spent is not None:
            criteria.append(customer.amount_spent >= tier.min_spent)
        if tier.tags:
            criteria.append(bool(tags & {t.strip().lower() for t in tier.tags}))
        if (not criteria or any(criteria)) and (best is None or tier.rank > best.rank):
            best = tier
    return best


def decide(policy: Policy, order: OrderFacts, customer: CustomerFacts, today: date) -> Decision:
    """The decision for every item of the order. Deterministic: the same inputs give the same decision."""
    tier = tier_for(policy.tiers, customer)
    days_since = (today - order.delivered_on).days if order.delivered_on else None
    items = tuple(_decide_item(policy, order, item, customer, tier, days_since) for item in order.items)
    return Decision(tier=tier.code if tier else None, items=items)


def _decide_item(
    policy: Policy,
    order: OrderFacts,
    item: ItemFacts,
    customer: CustomerFacts,
    tier: Tier | None,
    days_since: int | None,
) -> ItemDecision:
    final_sale_tags = {t.lower() for t in policy.final_sale_tags}
    is_final_sale = bool(final_sale_tags & {t.lower() for t in item.product_tags})
    facts = {
        "days_since_delivery": days_since,
        "product_tags": item.product_tags,
        "product_type": item.product_type,
        "collections": item.collections,
        "is_final_sale": is_final_sale,
        "discount_percent": item.discount_percent,
        "order_value": order.order_value,
        "destination_country": order.destination_country,
        "customer_tags": customer.tags,
        "tier": tier.code if tier else None,
        "past_return_count": customer.past_return_count,
        "past_return_rate": customer.past_return_rate,
    }
    reasons: list[Explanation] = []
    denied: dict[str, Explanation] = {}
    offered = [r for r in RESOLUTIONS if r in policy.resolutions or r == "keep"]
    for resolution in RESOLUTIONS:
        if resolution not in offered:
            denied[resolution] = Explanation.of("returns.no.resolution_not_offered")
    window = policy.window_days
    bonus = policy.credit_bonus_percent
    free_shipping = policy.return_shipping_fee <= 0
    restocking = policy.restocking_fee_percent
    auto_approve = policy.review == "auto"
    keep_under = policy.keep_under_value
    eligible = True

    if tier is not None:
        perks = tier.perks
        if perks.is_window_enabled and perks.window_days is not None:
            window = max(window, perks.window_days)
        if perks.is_free_shipping_enabled and perks.free_return_shipping:
            free_shipping = True
        if perks.is_auto_approve_enabled and perks.auto_approve:
            auto_approve = True
        if perks.is_credit_bonus_enabled:
            bonus = bonus + perks.credit_bonus_percent

    if is_final_sale:
        eligible = False
        reasons.append(Explanation.of("returns.no.final_sale", item=item.title))

    matched: list[str] = []
    for rule in policy.rules:
        if not rule.matches(facts):
            continue
        matched.append(rule.id)
        outcome = rule.outcome
        if outcome.eligible is False:
            eligible = False
            reasons.append(_rule_refusal(rule))
        if outcome.window_days is not None:
            window = outcome.window_days
        if outcome.allowed_resolutions is not None:
            for resolution in offered:
                if resolution not in outcome.allowed_resolutions and resolution not in denied:
                    denied[resolution] = Explanation.of("returns.no.resolution_by_rule", rule=rule.name)
        if outcome.credit_bonus_percent is not None:
            bonus = outcome.credit_bonus_percent
        if outcome.free_return_shipping is not None:
            free_shipping = outcome.free_return_shipping
        if outcome.restocking_fee_percent is not None:
            restocking = outcome.restocking_fee_percent
        if outcome.review is not None:
            auto_approve = outcome.review == "auto"
        if outcome.keep_under_value is not None:
            keep_under = outcome.keep_under_value

    window_ends_on = None
    if days_since is None or order.delivered_on is None:
        eligible = False
        reasons.append(Explanation.of("returns.no.not_delivered"))
    else:
        window_ends_on = order.delivered_on + timedelta(days=window)
        if days_since > window:
            eligible = False
            reasons.append(_window_refusal(policy, tier, window, window_ends_on, days_since))

    item_value = item.unit_price * item.quantity
    if "keep" not in denied:
        if keep_under is None:
            denied["keep"] = Explanation.of("returns.no.keep_not_offered")
        elif item_value > keep_under:
            denied["keep"] = Explanation.of("returns.no.keep_over_value", limit=_money(keep_under, order.currency))

    if not eligible:
        for resolution in RESOLUTIONS:
            denied.setdefault(resolution, Explanation.of("returns.no.item_not_eligible"))
    allowed = tuple(r for r in RESOLUTIONS if r not in denied)
    if eligible and not allowed:
        eligible = False
        reasons.append(Explanation.of("returns.no.no_resolution_left"))
    return ItemDecision(
        line_item_id=item.line_item_id,
        is_eligible=eligible,
        reasons=tuple(reasons),
        allowed_resolutions=allowed if eligible else (),
        denied_resolutions=tuple(sorted(denied.items())),
        window_days=window,
        window_ends_on=window_ends_on,
        credit_bonus_percent=bonus,
        free_return_shipping=free_shipping,
        restocking_fee_percent=restocking,
        auto_approve=auto_approve,
        matched_rules=tuple(matched),
    )


def _rule_refusal(rule: Rule) -> Explanation:
    if rule.outcome.message:
        message = rule.outcome.message
        return Explanation.of(
            "returns.no.custom", en=message.get("en", ""), th=message.get("th", message.get("en", ""))
        )
    return Explanation.of("returns.no.by_rule", rule=rule.name)


def _window_refusal(policy: Policy, tier: Tier | None, window: int, ends_on: date, days_since: int) -> Explanation:
    """ "Your 30-day window ended on 3 May; Gold members have 60 days" when a higher tier would have helped."""
    better = None
    for candidate in sorted(policy.tiers, key=lambda t: t.rank):
        perks = candidate.perks
        if tier is not None and candidate.rank <= tier.rank:
            continue
        if perks.is_window_enabled and perks.window_days and perks.window_days > window:
            better = candidate
            break
    if better is not None:
        return Explanation.of(
            "returns.no.window_ended_tier_hint",
            days=window,
            date=ends_on.isoformat(),
            tier=better.name,
            tier_code=better.code,
            tier_days=better.perks.window_days,
        )
    return Explanation.of("returns.no.window_ended", days=window, date=ends_on.isoformat())


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP)} {currency}"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return [part for part in str(value).split(",") if part.strip()]


# --- the stored form (JSON) of a policy -----------------------------------------------------------------


class _Errors(dict):
    """Path -> English text, plus `reasons`: path -> Explanation (the same problem as a catalog key)."""

    def __init__(self) -> None:
        super().__init__()
        self.reasons: dict[str, Explanation] = {}


def _fail(errors: dict[str, str], path: str, text: str, key: str, **values: Any) -> None:
    errors[path] = text
    if isinstance(errors, _Errors):
        errors.reasons[path] = Explanation.of(key, **values)


def _decimal(value: Any, path: str, errors: dict[str, str], *, low: str = "0", high: str | None = None) -> Decimal:
    try:
        number = Decimal(str(value if value not in (None, "") else "0").strip())
        if not number.is_finite() or number < Decimal(low) or (high is not None and number > Decimal(high)):
            raise ValueError
        return number
    except (ValueError, ArithmeticError):
        text = f"a number from {low}" + (f" to {high}" if high else "")
        if high is None:
            _fail(errors, path, text, "admin.policy.err.number_from", low=low)
        else:
            _fail(errors, path, text, "admin.policy.err.number_range", low=low, high=high)
        return Decimal("0")


def _int(value: Any, path: str, errors: dict[str, str], low: int = 0, high: int = 3650) -> int:
    try:
        number = int(str(value).strip())
        if not low <= number <= high:
            raise ValueError
        return number
    except (TypeError, ValueError):
        _fail(errors, path, f"a whole number from {low} to {high}", "admin.policy.err.whole_number", low=low, high=high)
        return low


def _optional_decimal(value: Any, path: str, errors: dict[str, str], high: str | None = None) -> Decimal | None:
    return None if value in (None, "") else _decimal(value, path, errors, high=high)


def _resolutions(value: Any, path: str, errors: dict[str, str]) -> tuple[str, ...]:
    chosen = [str(v) for v in _as_list(value)]
    unknown = [v for v in chosen if v not in RESOLUTIONS]
    if unknown:
        _fail(errors, path, f"unknown resolutions {unknown}; use {list(RESOLUTIONS)}", "admin.policy.err.resolutions")
    return tuple(r for r in RESOLUTIONS if r in chosen)


def _condition(raw: Any, path: str, errors: dict[str, str]) -> Condition | None:
    if not isinstance(raw, dict):
        _fail(errors, path, "a condition object", "admin.policy.err.condition")
        return None
    name, op = str(raw.get("field") or ""), str(raw.get("op") or "")
    kind = CONDITION_FIELDS.get(name)
    if kind is None:
        _fail(errors, f"{path}.field", f"one of {sorted(CONDITION_FIELDS)}", "admin.policy.err.condition_field")
        return None
    if op not in OPERATORS[kind]:
        _fail(errors, f"{path}.op", f"one of {list(OPERATORS[kind])} for {name}", "admin.policy.err.condition_op")
        return None
    value = raw.get("value")
    if kind == "number":
        value = _decimal(value, f"{path}.value", errors, low="-1000000000")
    elif kind == "set" or op in ("in", "not_in"):
        value = tuple(str(v).strip() for v in _as_list(value) if str(v).strip())
    elif kind == "text":
        value = str(value or "").strip()
    else:
        value = None
    return Condition(name, op, value)


def _outcome(raw: Any, path: str, errors: dict[str, str]) -> Outcome:
    raw = raw if isinstance(raw, dict) else {}
    review = raw.get("review")
    if review not in (None, "", *REVIEW_MODES):
        _fail(errors, f"{path}.review", f"one of {list(REVIEW_MODES)}", "admin.policy.err.review")
        review = None
    message = raw.get("message")
    if message is not None and not (isinstance(message, dict) and all(isinstance(v, str) for v in message.values())):
        _fail(errors, f"{path}.message", 'texts by locale, e.g. {"en": ..., "th": ...}', "admin.policy.err.message")
        message = None
    eligible = raw.get("eligible")
    return Outcome(
        eligible=None if eligible in (None, "") else bool(eligible),
        window_days=None
        if raw.get("window_days") in (None, "")
        else _int(raw["window_days"], f"{path}.window_days", errors),
        allowed_resolutions=(
            None
            if raw.get("allowed_resolutions") is None
            else _resolutions(raw["allowed_resolutions"], f"{path}.allowed_resolutions", errors)
        ),
        credit_bonus_percent=_optional_decimal(
            raw.get("credit_bonus_percent"), f"{path}.credit_bonus_percent", errors, "100"
        ),
        free_return_shipping=None
        if raw.get("free_return_shipping") in (None, "")
        else bool(raw["free_return_shipping"]),
        restocking_fee_percent=_optional_decimal(
            raw.get("restocking_fee_percent"), f"{path}.restocking_fee_percent", errors, "100"
        ),
        review=review or None,
        keep_under_value=_optional_decimal(raw.get("keep_under_value"), f"{path}.keep_under_value", errors),
        message={k: v[:300] for k, v in message.items() if k in ("en", "th")} if message else None,
    )


def _perks(raw: Any, path: str, errors: dict[str, str]) -> Perks:
    raw = raw if isinstance(raw, dict) else {}

    def perk(name: str) -> dict[str, Any]:
        value = raw.get(name)
        return value if isinstance(value, dict) else {}

    window = perk("window")
    return Perks(
        window_days=None if window.get("days") in (None, "") else _int(window["days"], f"{path}.window.days", errors),
        is_window_enabled=bool(window.get("enabled")),
        free_return_shipping=True,
        is_free_shipping_enabled=bool(perk("free_return_shipping").get("enabled")),
        auto_approve=True,
        is_auto_approve_enabled=bool(perk("auto_approve").get("enabled")),
        credit_bonus_percent=_decimal(
            perk("credit_bonus").get("percent"), f"{path}.credit_bonus.percent", errors, high="100"
        ),
        is_credit_bonus_enabled=bool(perk("credit_bonus").get("enabled")),
    )


def policy_from_dict(raw: dict[str, Any]) -> Policy:
    """Build (and validate) a policy from its stored JSON form. Raises PolicyError naming every bad field."""
    if not isinstance(raw, dict):
        raise PolicyError({"policy": "a JSON object"}, {"policy": Explanation.of("admin.policy.err.object")})
    errors: dict[str, str] = _Errors()
    review = raw.get("review", "manual")
    if review not in REVIEW_MODES:
        _fail(errors, "review", f"one of {list(REVIEW_MODES)}", "admin.policy.err.review")
    rules = []
    for index, rule_raw in enumerate(raw.get("rules") or []):
        path = f"rules.{index}"
        if not isinstance(rule_raw, dict):
            _fail(errors, path, "a rule object", "admin.policy.err.rule")
            continue
        conditions = [
            _condition(c, f"{path}.conditions.{i}", errors) for i, c in enumerate(rule_raw.get("conditions") or [])
        ]
        rules.append(
            Rule(
                id=str(rule_raw.get("id") or f"rule-{index + 1}")[:40],
                name=str(rule_raw.get("name") or f"Rule {index + 1}")[:120],
                conditions=tuple(c for c in conditions if c is not None),
                outcome=_outcome(rule_raw.get("outcome"), f"{path}.outcome", errors),
                is_enabled=bool(rule_raw.get("enabled", True)),
            )
        )
    tiers = []
    for index, tier_raw in enumerate(raw.get("tiers") or []):
        path = f"tiers.{index}"
        if not isinstance(tier_raw, dict) or not str(tier_raw.get("code") or "").strip():
            _fail(errors, path, "a tier with a code", "admin.policy.err.tier_code")
            continue
        tiers.append(
            Tier(
                code=str(tier_raw["code"]).strip()[:40],
                name=str(tier_raw.get("name") or tier_raw["code"]).strip()[:60],
                rank=_int(tier_raw.get("rank", index), f"{path}.rank", errors, 0, 100),
                min_orders=None
                if tier_raw.get("min_orders") in (None, "")
                else _int(tier_raw["min_orders"], f"{path}.min_orders", errors, 0, 100000),
                min_spent=_optional_decimal(tier_raw.get("min_spent"), f"{path}.min_spent", errors),
                tags=tuple(str(t).strip() for t in _as_list(tier_raw.get("tags")) if str(t).strip()),
                perks=_perks(tier_raw.get("perks"), f"{path}.perks", errors),
            )
        )
    if len({t.code for t in tiers}) != len(tiers):
        _fail(errors, "tiers", "tier codes must be unique", "admin.policy.err.tier_codes_unique")
    keep = raw.get("keep_under_value")
    policy = Policy(
        window_days=_int(raw.get("window_days", 30), "window_days", errors),
        resolutions=_resolutions(raw.get("resolutions", list(Policy.resolutions)), "resolutions", errors),
        credit_bonus_percent=_decimal(raw.get("credit_bonus_percent"), "credit_bonus_percent", errors, high="100"),
        return_shipping_fee=_decimal(raw.get("return_shipping_fee"), "return_shipping_fee", errors),
        restocking_fee_percent=_decimal(
            raw.get("restocking_fee_percent"), "restocking_fee_percent", errors, high="100"
        ),
        review=review if review in REVIEW_MODES else "manual",
        keep_under_value=None if keep in (None, "") else _decimal(keep, "keep_under_value", errors),
        final_sale_tags=tuple(
            str(t).strip() for t in _as_list(raw.get("final_sale_tags", ["final-sale"])) if str(t).strip()
        ),
        rules=tuple(rules),
        tiers=tuple(tiers),
        seller_fault_free_shipping=_flag(
            raw.get("seller_fault_free_shipping", True), "seller_fault_free_shipping", errors
        ),
    )
    if errors:
        raise PolicyError(errors)
    return policy


def _flag(value: Any, path: str, errors: dict[str, str]) -> bool:
    if isinstance(value, bool):
        return value
    _fail(errors, path, "true or false", "admin.policy.err.true_false")
    return True


def quote(
    decision: ItemDecision, unit_price: Decimal, quantity: int, resolution: str, *, shipping_fee: Decimal
) -> dict[str, Decimal]:
    """What one item's return is worth under a resolution: subtotal, fees, bonus, and what the shopper gets.

    Refund: subtotal less restocking and (unless free) the return shipping fee. Store credit: the same plus
    the bonus on the subtotal. Keep: the refund without any shipping fee (nothing is shipped).
    """
    subtotal = (unit_price * quantity).quantize(CENT, rounding=ROUND_HALF_UP)
    restocking = (subtotal * decision.restocking_fee_percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    shipping = Decimal("0.00") if decision.free_return_shipping or resolution == "keep" else shipping_fee
    bonus = Decimal("0.00")
    if resolution == "store_credit":
        bonus = (subtotal * decision.credit_bonus_percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    total = max(Decimal("0.00"), subtotal - restocking - shipping + bonus)
    return {
        "subtotal": subtotal,
        "restocking_fee": restocking,
        "shipping_fee": shipping.quantize(CENT),
        "bonus": bonus,
        "total": total.quantize(CENT),
    }
