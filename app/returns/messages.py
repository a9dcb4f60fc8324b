"""Explanations of the returns engine in the shopper's language (their text: the `returns.*` messages of the
gettext catalogs in app/translations)."""

from __future__ import annotations

from app.i18n import N_


def explain(explanation, locale: str) -> str:
    """An engine Explanation (app/returns/rules.py) in the shopper's language; dates shown as "3 May"."""
    from datetime import date

    from babel.dates import format_date

    from app.i18n import t

    params = explanation.params()
    if explanation.key == "returns.no.custom":
        return params.get(locale) or params.get("en") or t(locale, "returns.no.by_rule")
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
