"""The return policy as the admin's form edits it: rows of rules (conditions and outcomes picked from lists) and
loyalty tiers, turned into exactly the JSON the rules engine reads (`rules.policy_from_dict`) and back.

Pure: no Flask, no database. The form is a plain dict of strings, lists and booleans (what the template shows and
what a post carries); field names are flat (`rules-0-cond-1-value`, `tiers-2-min_spent`) so a plain HTML post
works without JavaScript. Validation is the engine's own (one source of truth); the form adds only what a form
can get wrong that the JSON cannot (a blank name, a blank condition value). Every problem is an Explanation
keyed by the form field it belongs to, so the page shows it next to that field in the merchant's language.

Canonical JSON: whole numbers (days, orders, rank) as ints, money and percentages as strings, optional settings
left out when blank, a rule's `enabled` only when it is off. A policy in that form survives JSON -> form -> JSON
unchanged; any valid policy survives it with the same meaning (`policy_from_dict` gives an equal Policy).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.returns.rules import (
    CONDITION_FIELDS,
    OPERATORS,
    RESOLUTIONS,
    Explanation,
    PolicyError,
    policy_from_dict,
)

# Each comparison once, with the kinds of fact it fits (the form's list; the engine checks the pair).
OPERATOR_KINDS: dict[str, list[str]] = {}
for _kind, _ops in OPERATORS.items():
    for _op in _ops:
        OPERATOR_KINDS.setdefault(_op, []).append(_kind)
OFFERED_RESOLUTIONS = tuple(r for r in RESOLUTIONS if r != "keep")  # "keep" is offered by its value limit
MAX_RULES = 50
MAX_CONDITIONS = 20
MAX_TIERS = 10
_ACTION = re.compile(
    r"\A(save|add_rule|add_tier|remove_rule-(\d+)|remove_tier-(\d+)|add_condition-(\d+)|"
    r"remove_condition-(\d+)-(\d+))\Z"
)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _join(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _choice(value: Any) -> str:
    """A yes/no/unchanged select's value from an optional boolean."""
    return "" if value in (None, "") else ("yes" if value else "no")


def _perk(perks: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    found = perks.get(name) if isinstance(perks, Mapping) else None
    return found if isinstance(found, Mapping) else {}


# --- JSON -> form -----------------------------------------------------------------------------------------


def blank_condition() -> dict[str, str]:
    return {"field": "days_since_delivery", "op": "gt", "value": ""}


def blank_rule(rule_id: str) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": "",
        "enabled": True,
        "conditions": [blank_condition()],
        "not_eligible": False,
        "window_days": "",
        "restrict_resolutions": False,
        "allowed_resolutions": [],
        "credit_bonus_percent": "",
        "free_return_shipping": "",
        "restocking_fee_percent": "",
        "review": "",
        "keep_under_value": "",
        "message_en": "",
        "message_th": "",
    }


def blank_tier(rank: int) -> dict[str, Any]:
    return {
        "code": "",
        "name": "",
        "rank": str(rank),
        "min_orders": "",
        "min_spent": "",
        "tags": "",
        "window_enabled": False,
        "window_days": "",
        "free_return_shipping_enabled": False,
        "auto_approve_enabled": False,
        "credit_bonus_enabled": False,
        "credit_bonus_percent": "",
    }


def form_from_policy(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The form showing a stored policy (JSON). Anything the engine would refuse is shown as it is."""
    raw = raw if isinstance(raw, Mapping) else {}
    rules = []
    for index, rule in enumerate(r for r in raw.get("rules") or [] if isinstance(r, Mapping)):
        outcome = rule.get("outcome") if isinstance(rule.get("outcome"), Mapping) else {}
        message = outcome.get("message") if isinstance(outcome.get("message"), Mapping) else {}
        allowed = outcome.get("allowed_resolutions")
        rules.append(
            {
                **blank_rule(_text(rule.get("id")) or f"rule-{index + 1}"),
                "name": _text(rule.get("name")),
                "enabled": rule.get("enabled", True) is not False,
                "conditions": [
                    {"field": _text(c.get("field")), "op": _text(c.get("op")), "value": _join(c.get("value"))}
                    for c in rule.get("conditions") or []
                    if isinstance(c, Mapping)
                ],
                "not_eligible": outcome.get("eligible") is False,
                "window_days": _text(outcome.get("window_days")),
                "restrict_resolutions": allowed is not None,
                "allowed_resolutions": [str(r) for r in allowed or []],
                "credit_bonus_percent": _text(outcome.get("credit_bonus_percent")),
                "free_return_shipping": _choice(outcome.get("free_return_shipping")),
                "restocking_fee_percent": _text(outcome.get("restocking_fee_percent")),
                "review": _text(outcome.get("review")),
                "keep_under_value": _text(outcome.get("keep_under_value")),
                "message_en": _text(message.get("en")),
                "message_th": _text(message.get("th")),
            }
        )
    tiers = []
    for index, tier in enumerate(t for t in raw.get("tiers") or [] if isinstance(t, Mapping)):
        perks = tier.get("perks") if isinstance(tier.get("perks"), Mapping) else {}
        tiers.append(
            {
                "code": _text(tier.get("code")),
                "name": _text(tier.get("name")),
                "rank": _text(tier.get("rank", index)),
                "min_orders": _text(tier.get("min_orders")),
                "min_spent": _text(tier.get("min_spent")),
                "tags": _join(tier.get("tags")),
                "window_enabled": bool(_perk(perks, "window").get("enabled")),
                "window_days": _text(_perk(perks, "window").get("days")),
                "free_return_shipping_enabled": bool(_perk(perks, "free_return_shipping").get("enabled")),
                "auto_approve_enabled": bool(_perk(perks, "auto_approve").get("enabled")),
                "credit_bonus_enabled": bool(_perk(perks, "credit_bonus").get("enabled")),
                "credit_bonus_percent": _text(_perk(perks, "credit_bonus").get("percent")),
            }
        )
    keep = raw.get("keep_under_value")
    return {
        "window_days": _text(raw.get("window_days", 30)),
        "resolutions": [str(r) for r in raw.get("resolutions", OFFERED_RESOLUTIONS) or []],
        "credit_bonus_percent": _text(raw.get("credit_bonus_percent", "0")),
        "return_shipping_fee": _text(raw.get("return_shipping_fee", "0")),
        "restocking_fee_percent": _text(raw.get("restocking_fee_percent", "0")),
        "review": _text(raw.get("review", "manual")),
        "keep_under_value": _text(keep),
        "final_sale_tags": _join(raw.get("final_sale_tags", ["final-sale"])),
        "seller_fault_free_shipping": raw.get("seller_fault_free_shipping", True) is not False,
        "rules": rules,
        "tiers": tiers,
    }


# --- a post -> form ---------------------------------------------------------------------------------------


def _indices(keys: list[str], pattern: str) -> list[int]:
    found = {int(m.group(1)) for k in keys if (m := re.fullmatch(pattern, k))}
    return sorted(found)


def form_from_post(post: Any) -> dict[str, Any]:
    """The form as the browser posted it (a werkzeug MultiDict or a dict of lists), kept as typed."""

    def one(name: str) -> str:
        value = post.get(name) if hasattr(post, "getlist") else (post.get(name) or [""])[0]
        return _text(value).strip()

    def many(name: str) -> list[str]:
        values = post.getlist(name) if hasattr(post, "getlist") else (post.get(name) or [])
        return [str(v) for v in values]

    def checked(name: str) -> bool:
        return bool(one(name))

    keys = list(post.keys())
    rules = []
    for r in _indices(keys, r"rules-(\d+)-id")[:MAX_RULES]:
        p = f"rules-{r}-"
        conditions = [
            {"field": one(f"{p}cond-{c}-field"), "op": one(f"{p}cond-{c}-op"), "value": one(f"{p}cond-{c}-value")}
            for c in _indices(keys, rf"rules-{r}-cond-(\d+)-field")[:MAX_CONDITIONS]
        ]
        rules.append(
            {
                "id": one(f"{p}id"),
                "name": one(f"{p}name"),
                "enabled": checked(f"{p}enabled"),
                "conditions": conditions,
                "not_eligible": checked(f"{p}not_eligible"),
                "window_days": one(f"{p}window_days"),
                "restrict_resolutions": checked(f"{p}restrict_resolutions"),
                "allowed_resolutions": many(f"{p}allowed_resolutions"),
                "credit_bonus_percent": one(f"{p}credit_bonus_percent"),
                "free_return_shipping": one(f"{p}free_return_shipping"),
                "restocking_fee_percent": one(f"{p}restocking_fee_percent"),
                "review": one(f"{p}review"),
                "keep_under_value": one(f"{p}keep_under_value"),
                "message_en": one(f"{p}message_en"),
                "message_th": one(f"{p}message_th"),
            }
        )
    tiers = []
    for i in _indices(keys, r"tiers-(\d+)-code")[:MAX_TIERS]:
        p = f"tiers-{i}-"
        tiers.append(
            {
                "code": one(f"{p}code"),
                "name": one(f"{p}name"),
                "rank": one(f"{p}rank"),
                "min_orders": one(f"{p}min_orders"),
                "min_spent": one(f"{p}min_spent"),
                "tags": one(f"{p}tags"),
                "window_enabled": checked(f"{p}window_enabled"),
                "window_days": one(f"{p}window_days"),
                "free_return_shipping_enabled": checked(f"{p}free_return_shipping_enabled"),
                "auto_approve_enabled": checked(f"{p}auto_approve_enabled"),
                "credit_bonus_enabled": checked(f"{p}credit_bonus_enabled"),
                "credit_bonus_percent": one(f"{p}credit_bonus_percent"),
            }
        )
    return {
        "window_days": one("window_days"),
        "resolutions": many("resolutions"),
        "credit_bonus_percent": one("credit_bonus_percent"),
        "return_shipping_fee": one("return_shipping_fee"),
        "restocking_fee_percent": one("restocking_fee_percent"),
        "review": one("review"),
        "keep_under_value": one("keep_under_value"),
        "final_sale_tags": one("final_sale_tags"),
        "seller_fault_free_shipping": checked("seller_fault_free_shipping"),
        "rules": rules,
        "tiers": tiers,
    }


def post_from_form(form: Mapping[str, Any]) -> dict[str, list[str]]:
    """What the browser posts for a form (the round-trip tests post it; the template writes the same names)."""
    post: dict[str, list[str]] = {}

    def put(name: str, value: Any) -> None:
        if isinstance(value, bool):
            if value:
                post[name] = ["on"]
        elif isinstance(value, list):
            post[name] = [str(v) for v in value]
        else:
            post[name] = [_text(value)]

    for name in (
        "window_days",
        "resolutions",
        "credit_bonus_percent",
        "return_shipping_fee",
        "restocking_fee_percent",
        "review",
        "keep_under_value",
        "final_sale_tags",
        "seller_fault_free_shipping",
    ):
        put(name, form[name])
    for r, rule in enumerate(form["rules"]):
        for name, value in rule.items():
            if name != "conditions":
                put(f"rules-{r}-{name}", value)
        for c, condition in enumerate(rule["conditions"]):
            for name, value in condition.items():
                put(f"rules-{r}-cond-{c}-{name}", value)
    for i, tier in enumerate(form["tiers"]):
        for name, value in tier.items():
            put(f"tiers-{i}-{name}", value)
    return post


# --- form -> JSON -----------------------------------------------------------------------------------------


def _whole(text: str) -> Any:
    """A whole number as an int; anything else as typed, for the engine to refuse with its reason."""
    return int(text) if re.fullmatch(r"\d{1,9}", text) else text


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _condition_json(condition: Mapping[str, str]) -> dict[str, Any]:
    field, op, value = condition["field"], condition["op"], condition["value"]
    kind = CONDITION_FIELDS.get(field)
    out: dict[str, Any] = {"field": field, "op": op}
    if kind == "bool":
        return out
    if kind == "set" or op in ("in", "not_in"):
        out["value"] = _list(value)
    else:
        out["value"] = value
    return out


def _rule_json(rule: Mapping[str, Any], index: int) -> dict[str, Any]:
    outcome: dict[str, Any] = {}
    if rule["not_eligible"]:
        outcome["eligible"] = False
    if rule["window_days"]:
        outcome["window_days"] = _whole(rule["window_days"])
    if rule["restrict_resolutions"]:
        outcome["allowed_resolutions"] = list(rule["allowed_resolutions"])
    for name in ("credit_bonus_percent", "restocking_fee_percent", "keep_under_value"):
        if rule[name]:
            outcome[name] = rule[name]
    if rule["free_return_shipping"] in ("yes", "no"):
        outcome["free_return_shipping"] = rule["free_return_shipping"] == "yes"
    elif rule["free_return_shipping"]:
        outcome["free_return_shipping"] = rule["free_return_shipping"]  # tampered: not a choice, kept for the check
    if rule["review"]:
        outcome["review"] = rule["review"]
    message = {lang: rule[f"message_{lang}"] for lang in ("en", "th") if rule[f"message_{lang}"]}
    if message:
        outcome["message"] = message
    out: dict[str, Any] = {
        "id": rule["id"] or f"rule-{index + 1}",
        "name": rule["name"],
        "conditions": [_condition_json(c) for c in rule["conditions"]],
        "outcome": outcome,
    }
    if not rule["enabled"]:
        out["enabled"] = False
    return out


def _tier_json(tier: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"code": tier["code"], "name": tier["name"] or tier["code"], "rank": _whole(tier["rank"])}
    if tier["min_orders"]:
        out["min_orders"] = _whole(tier["min_orders"])
    if tier["min_spent"]:
        out["min_spent"] = tier["min_spent"]
    if _list(tier["tags"]):
        out["tags"] = _list(tier["tags"])
    perks: dict[str, Any] = {}
    if tier["window_enabled"] or tier["window_days"]:
        perks["window"] = {"enabled": tier["window_enabled"]}
        if tier["window_days"]:
            perks["window"]["days"] = _whole(tier["window_days"])
    for name in ("free_return_shipping", "auto_approve"):
        if tier[f"{name}_enabled"]:
            perks[name] = {"enabled": True}
    if tier["credit_bonus_enabled"] or tier["credit_bonus_percent"]:
        perks["credit_bonus"] = {"enabled": tier["credit_bonus_enabled"]}
        if tier["credit_bonus_percent"]:
            perks["credit_bonus"]["percent"] = tier["credit_bonus_percent"]
    out["perks"] = perks
    return out


def policy_json(form: Mapping[str, Any]) -> dict[str, Any]:
    """The stored form (JSON) of what the form says; not yet checked (see `check_form`)."""
    return {
        "window_days": _whole(form["window_days"]),
        "resolutions": list(form["resolutions"]),
        "credit_bonus_percent": form["credit_bonus_percent"] or "0",
        "return_shipping_fee": form["return_shipping_fee"] or "0",
        "seller_fault_free_shipping": bool(form["seller_fault_free_shipping"]),
        "restocking_fee_percent": form["restocking_fee_percent"] or "0",
        "review": form["review"],
        "keep_under_value": form["keep_under_value"] or None,
        "final_sale_tags": _list(form["final_sale_tags"]),
        "rules": [_rule_json(rule, index) for index, rule in enumerate(form["rules"])],
        "tiers": [_tier_json(tier) for tier in form["tiers"]],
    }


def field_for_path(path: str) -> str:
    """The form field an engine error path belongs to: "rules.0.outcome.window_days" -> "rules-0-window_days"."""
    path = re.sub(r"^rules\.(\d+)$", r"rules.\1.name", path)
    path = re.sub(r"^tiers\.(\d+)$", r"tiers.\1.code", path)
    path = re.sub(r"\.conditions\.(\d+)$", r".conditions.\1.field", path)
    path = path.replace(".conditions.", ".cond.").replace(".outcome.message", ".message_en")
    path = path.replace(".outcome.", ".").replace(".perks.window.days", ".window_days")
    path = path.replace(".perks.credit_bonus.percent", ".credit_bonus_percent")
    return path.replace(".", "-")


def check_form(form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Explanation]]:
    """The policy JSON the form gives and its problems by form field (empty when the engine accepts it)."""
    problems: dict[str, Explanation] = {}
    for r, rule in enumerate(form["rules"]):
        if not rule["name"]:
            problems[f"rules-{r}-name"] = Explanation.of("admin.policy.err.required")
        if rule["free_return_shipping"] not in ("", "yes", "no"):
            problems[f"rules-{r}-free_return_shipping"] = Explanation.of("admin.policy.err.choice")
        for c, condition in enumerate(rule["conditions"]):
            kind = CONDITION_FIELDS.get(condition["field"])
            if kind in ("number", "set") and not condition["value"]:
                problems[f"rules-{r}-cond-{c}-value"] = Explanation.of("admin.policy.err.required")
            if kind == "number" and condition["op"] in OPERATORS["number"] and condition["value"]:
                if not re.fullmatch(r"-?\d+(\.\d+)?", condition["value"]):
                    problems[f"rules-{r}-cond-{c}-value"] = Explanation.of("admin.policy.err.number")
    for i, tier in enumerate(form["tiers"]):
        if not re.fullmatch(r"[a-z0-9_-]{1,40}", tier["code"]):
            problems[f"tiers-{i}-code"] = Explanation.of("admin.policy.err.tier_code")
    raw = policy_json(form)
    try:
        policy_from_dict(raw)
    except PolicyError as exc:
        for path, reason in exc.reasons.items():
            field = field_for_path(path)
            if path == "tiers":
                codes = [t["code"] for t in form["tiers"]]
                for i, code in enumerate(codes):
                    if codes.count(code) > 1:
                        problems.setdefault(f"tiers-{i}-code", reason)
                continue
            problems.setdefault(field, reason)
    return raw, problems


def apply_action(form: dict[str, Any], action: str) -> bool:
    """Add or remove a row as a button asked; False for "save" or an action that names no row."""
    match = _ACTION.match(action or "save")
    if match is None or action == "save":
        return False
    rules, tiers = form["rules"], form["tiers"]
    if action == "add_rule" and len(rules) < MAX_RULES:
        taken = {rule["id"] for rule in rules}
        number = len(rules) + 1
        while f"rule-{number}" in taken:
            number += 1
        rules.append(blank_rule(f"rule-{number}"))
    elif action == "add_tier" and len(tiers) < MAX_TIERS:
        tiers.append(blank_tier(max((int(t["rank"]) for t in tiers if t["rank"].isdigit()), default=-1) + 1))
    elif match.group(2) is not None and int(match.group(2)) < len(rules):
        del rules[int(match.group(2))]
    elif match.group(3) is not None and int(match.group(3)) < len(tiers):
        del tiers[int(match.group(3))]
    elif match.group(4) is not None and int(match.group(4)) < len(rules):
        conditions = rules[int(match.group(4))]["conditions"]
        if len(conditions) < MAX_CONDITIONS:
            conditions.append(blank_condition())
    elif match.group(5) is not None and int(match.group(5)) < len(rules):
        conditions = rules[int(match.group(5))]["conditions"]
        if int(match.group(6)) < len(conditions):
            del conditions[int(match.group(6))]
    return True
