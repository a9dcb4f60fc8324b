"""Upsell and cross-sell recommendations (issue 6): catalogue sync, models, ranking, placements, attribution.

The one entry point other packages call is `recommend()`; it never raises for a shopper-facing page.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

PLACEMENTS = ("tracking_page", "tracking_widget", "return_status", "return_exchange", "email")


@dataclass(frozen=True)
class Card:
    """One product card, ready to render: everything a template needs, nothing it must compute."""

    product_id: int
    variant_id: int | None
    title: str
    image_url: str | None
    price: Decimal
    currency: str
    url: str  # product URL with attribution parameters (and the merchant's discount code, if any)


def recommend(
    shop_id: int,
    placement: str,
    *,
    order_id: int | None = None,
    return_reason: str | None = None,
    product_ids: tuple[int, ...] = (),
    locale: str = "en",
    limit: int = 4,
) -> list[Card]:
    """Products to show in `placement` for this order / shopper; an empty list when there is nothing good.

    Placeholder until the recommendations package lands in this same change: returns nothing."""
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}")
    return []
