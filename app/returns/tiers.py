"""Loyalty tiers and the default return policy a new shop starts with (the merchant renames and tunes them).

Tiers come from Shopify's own customer data: number of orders, amount spent, tags (`rules.tier_for`).
"""

from __future__ import annotations

import copy
from typing import Any

# Thresholds are in the shop's currency; any one threshold qualifies. Every perk can be switched off.
DEFAULT_TIERS: list[dict[str, Any]] = [
    {
        "code": "member",
        "name": "Member",
        "rank": 0,
        "perks": {},
    },
    {
        "code": "silver",
        "name": "Silver",
        "rank": 1,
        "min_orders": 3,
        "min_spent": "5000",
        "perks": {
            "window": {"enabled": True, "days": 45},
            "credit_bonus": {"enabled": True, "percent": "5"},
        },
    },
    {
        "code": "gold",
        "name": "Gold",
        "rank": 2,
        "min_orders": 8,
        "min_spent": "20000",
        "tags": ["vip"],
        "perks": {
            "window": {"enabled": True, "days": 60},
            "free_return_shipping": {"enabled": True},
            "auto_approve": {"enabled": True},
            "credit_bonus": {"enabled": True, "percent": "10"},
        },
    },
]

DEFAULT_REASONS: list[dict[str, Any]] = [
    {"code": "too_small", "label": {"en": "Too small", "th": "เล็กเกินไป"}},
    {"code": "too_large", "label": {"en": "Too large", "th": "ใหญ่เกินไป"}},
    {"code": "not_as_described", "label": {"en": "Not as described", "th": "ไม่ตรงตามที่อธิบาย"}, "comment": True},
    {
        "code": "damaged",
        "label": {"en": "Arrived damaged", "th": "สินค้าเสียหาย"},
        "comment": True,
        "photo": True,
        "seller_fault": True,
    },
    {
        "code": "wrong_item",
        "label": {"en": "Wrong item sent", "th": "ได้รับสินค้าผิดรายการ"},
        "comment": True,
        "seller_fault": True,
    },
    {"code": "changed_mind", "label": {"en": "Changed my mind", "th": "เปลี่ยนใจ"}},
    {"code": "other", "label": {"en": "Other", "th": "อื่น ๆ"}, "comment": True},
]

DEFAULT_POLICY: dict[str, Any] = {
    "window_days": 30,
    "resolutions": ["refund", "store_credit", "exchange_variant", "exchange_product"],
    "credit_bonus_percent": "10",
    "return_shipping_fee": "60",
    "seller_fault_free_shipping": True,
    "restocking_fee_percent": "0",
    "review": "manual",
    "keep_under_value": "150",
    "final_sale_tags": ["final-sale"],
    "rules": [
        {
            "id": "serial-returners",
            "name": "Serial returners need review and get no free shipping",
            "conditions": [{"field": "past_return_rate", "op": "gte", "value": "0.5"}],
            "outcome": {"review": "manual", "free_return_shipping": False},
        },
    ],
    "tiers": DEFAULT_TIERS,
}


# Reasons that are the shop's fault, for policies saved before reasons carried the `seller_fault` flag.
SELLER_FAULT_CODES = ("damaged", "wrong_item")


def is_seller_fault(reason: dict[str, Any] | None) -> bool:
    """Whether the shopper returns the item because of the shop (then no shipping charge, no upsell)."""
    if not reason:
        return False
    return bool(reason.get("seller_fault", reason.get("code") in SELLER_FAULT_CODES))


def default_policy() -> dict[str, Any]:
    """A fresh copy of the default policy, safe to modify."""
    return copy.deepcopy(DEFAULT_POLICY)


def default_reasons() -> list[dict[str, Any]]:
    return copy.deepcopy(DEFAULT_REASONS)
