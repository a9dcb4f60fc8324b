"""Explanations of the returns engine in the shopper's language (their text: the `returns.*` messages of the
gettext catalogs in app/translations)."""

from __future__ import annotations

from typing import Any

from app.i18n import N_, t
from app.returns.rules import Tier
from app.returns.tiers import DEFAULT_TIERS

# The default tiers' names as a new shop gets them; a tier still so named is shown in the shopper's language.
_DEFAULT_TIER_NAMES = {tier["code"]: tier["name"] for tier in DEFAULT_TIERS}
_TIER_NAME_KEYS = {
    "member": N_("returns.tier_name.member"),
    "silver": N_("returns.tier_name.silver"),
    "gold": N_("returns.tier_name.gold"),
}


def tier_display_name(tier: Tier, locale: str) -> str:
    """A loyalty tier's name for the shopper: a default tier the merchant has not renamed in their language,
    otherwise the merchant's own name for it."""
    return _tier_name(tier.code, tier.name, locale)


def _tier_name(code: str | None, name: str, locale: str) -> str:
    key = _TIER_NAME_KEYS.get(code or "")
    if key and _DEFAULT_TIER_NAMES.get(code or "") == name:
        return t(locale, key)
    return name


def explain(explanation, locale: str) -> str:
    """An engine Explanation (app/returns/rules.py) in the shopper's language; dates shown as "3 May"."""
    from datetime import date

    from babel.dates import format_date

    params = explanation.params()
    if explanation.key == "returns.no.custom":
        return params.get(locale) or params.get("en") or t(locale, "returns.no.by_rule")
    if "tier" in params:
        params["tier"] = _tier_name(params.pop("tier_code", None), params["tier"], locale)
    if "date" in params:
        try:
            params["date"] = format_date(date.fromisoformat(params["date"]), "d MMM", locale=locale)
        except ValueError:
            pass
    return t(locale, explanation.key, **params)


# Messages whose keys are built at run time (a status, a resolution, an engine's reason), declared so that
# `make translations` extracts them (app/i18n.py).
_KEYS_BUILT_AT_RUN_TIME = (
    N_("returns.already_requested"),
    N_("returns.comment_required"),
    N_("returns.no.choose_product"),
    N_("returns.no.final_sale"),
    N_("returns.no.item_not_eligible"),
    N_("returns.no.keep_not_offered"),
    N_("returns.no.keep_over_value"),
    N_("returns.no.no_other_variant"),
    N_("returns.no.no_resolution_left"),
    N_("returns.no.not_delivered"),
    N_("returns.no.resolution_by_rule"),
    N_("returns.no.resolution_not_offered"),
    N_("returns.no.window_ended"),
    N_("returns.no.window_ended_tier_hint"),
    N_("returns.no_items_chosen"),
    N_("returns.photo_bad_type"),
    N_("returns.photo_required"),
    N_("returns.photo_too_large"),
    N_("returns.price_difference_pay"),
    N_("returns.price_difference_refund"),
    N_("returns.resolution.exchange_product"),
    N_("returns.resolution.exchange_variant"),
    N_("returns.resolution.keep"),
    N_("returns.resolution.refund"),
    N_("returns.resolution.store_credit"),
    N_("returns.restocking_fee"),
    N_("returns.status.approved"),
    N_("returns.status.approved.explain"),
    N_("returns.status.awaiting_shipment"),
    N_("returns.status.awaiting_shipment.explain"),
    N_("returns.status.canceled"),
    N_("returns.status.canceled.explain"),
    N_("returns.status.closed"),
    N_("returns.status.closed.explain"),
    N_("returns.status.declined"),
    N_("returns.status.declined.explain"),
    N_("returns.status.in_transit"),
    N_("returns.status.in_transit.explain"),
    N_("returns.status.inspected"),
    N_("returns.status.inspected.explain"),
    N_("returns.status.received"),
    N_("returns.status.received.explain"),
    N_("returns.status.requested"),
    N_("returns.status.requested.explain"),
    N_("returns.status.resolved"),
    N_("returns.status.resolved.explain"),
    N_("returns.you_might_like"),
)


# Shopify's ReturnDeclineReason values, explained to the shopper.
_DECLINE_KEYS = {
    "RETURN_PERIOD_ENDED": N_("returns.decline.return_period_ended"),
    "FINAL_SALE": N_("returns.decline.final_sale"),
    "OTHER": N_("returns.decline.other"),
}


def return_message_facts(session, shop_id: int, return_id: int, locale: str) -> dict[str, Any]:
    """What a message about a return tells the shopper beyond the order, in their language: the path of the
    return's status page (a signed link, /l/returns/status/...), what to do next once it is approved, and why
    it was declined. Empty when the return is not this shop's."""
    from app.returns.labels import adapter_for
    from app.returns.links import return_status_path
    from app.returns.services import get_return, seller_fault_reasons

    request = get_return(session, shop_id, return_id)
    if request is None:
        return {}
    return {
        # A damaged or wrong item: the shop let the shopper down, so the message carries no product cards.
        "is_seller_fault": request.reason_code in seller_fault_reasons(session, shop_id),
        "return_path": return_status_path(shop_id, request.id),
        "next_steps": _next_steps(session, request, adapter_for(request.label_adapter), locale),
        "decline_reason": decline_reason_text(request, locale) if request.status == "declined" else None,
    }


def _next_steps(session, request, adapter, locale: str) -> str | None:
    if request.status in ("requested", "declined", "canceled"):
        return None
    if request.resolution == "keep":
        return t(locale, "returns.next.keep")
    steps = [t(locale, "returns.next.pack")]
    steps.append(adapter.instructions(session, request, locale) or t(locale, "returns.next.send"))
    if adapter.label(session, request) is not None:
        steps.append(t(locale, "returns.next.label"))
    steps.append(t(locale, "returns.next.add_tracking"))
    return " ".join(step.strip() for step in steps if step and step.strip())


def decline_reason_text(request, locale: str) -> str:
    """Why a return was declined, in the shopper's language: Shopify's reason explained, then the shop's note."""
    reason = t(locale, _DECLINE_KEYS.get((request.decline_reason or "").upper(), _DECLINE_KEYS["OTHER"]))
    note = (request.decline_note or "").strip()
    if not note:
        return reason
    return reason + " " + t(locale, "returns.decline.note", note=note)
