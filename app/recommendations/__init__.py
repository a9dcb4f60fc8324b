"""Upsell and cross-sell recommendations (issue 6): catalogue sync, models, ranking, placements, attribution.

The one entry point other packages call is `recommend()`; it never raises for a shopper-facing page.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency

from app.i18n import N_
from app.recommendations.models import PLACEMENTS

log = logging.getLogger(__name__)


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
    price_label: str = ""  # the price formatted for the shopper's language, in the shop's currency
    variant_title: str | None = None
    reason: str = "recommended"  # pinned | next_size | similar | recommended | bestseller

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["price"] = str(self.price)
        return data


_SHOPIFY_CDN = re.compile(r"\Ahttps://cdn\.shopify\.com/s/files/(?:\d+/)+((?:files|products)/[^\s]+)\Z")


def storefront_image(url: str | None) -> str | None:
    """The image as the shop's own domain serves it (`/cdn/shop/...`), so a storefront page or the theme
    block makes no third-party request; an image from anywhere else is left out (the card keeps its box)."""
    if not url:
        return None
    match = _SHOPIFY_CDN.match(url)
    if match:
        return "/cdn/shop/" + match.group(1)
    if url.startswith(("/cdn/shop/", "data:image/")):
        return url
    return None


def storefront_cards(cards: list[Card]) -> list[dict[str, Any]]:
    """Cards as the storefront placements (tracking page, widget JSON) send them."""
    return [{**card.as_json(), "image_url": storefront_image(card.image_url)} for card in cards]


@functools.lru_cache(maxsize=8192)  # babel re-parses the pattern on every call; prices repeat
def format_price(amount: Decimal, currency: str, locale: str) -> str:
    try:
        return format_currency(amount, currency, locale="th_TH" if locale == "th" else "en_US")
    except (ValueError, KeyError):
        return f"{amount} {currency}"


# Never an upsell to someone who needs help: no cards in a message about these moments, whatever the
# order's state by the time it is sent (the shopper reads it as an answer to their problem).
HELP_MOMENTS = frozenset({"delayed", "exception", "attempted_delivery", "return_declined"})


def recommend(
    shop_id: int,
    placement: str,
    *,
    order_id: int | None = None,
    return_reason: str | None = None,
    product_ids: tuple[int, ...] = (),
    locale: str = "en",
    limit: int = 4,
    moment: str | None = None,
) -> list[Card]:
    """Products to show in `placement` for this order / shopper; an empty list when there is nothing good.

    `order_id` is our orders.id (scoped to the shop); `product_ids` are Shopify product ids the page is about
    (e.g. the returned items), defaulting to the order's products; `return_reason` a return reason code
    ("SIZE_TOO_SMALL", "too small", "not_as_described", ...); `moment` the message's trigger, if any.
    None while the shopper needs help: a moment in HELP_MOMENTS, or an order whose parcel is late, stalled,
    in trouble, at a failed attempt or going back (an apology is no place for a product card).
    Records one impression per call with cards. Raises ValueError for an unknown placement (a programming
    error); any other failure is logged and answered with no cards, so a page never breaks here.
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}")
    if moment in HELP_MOMENTS:
        return []
    try:
        cards = _cards(shop_id, placement, order_id, return_reason, tuple(product_ids), locale, limit)
    except Exception:  # noqa: BLE001 - see docstring: shopper pages must not fail here
        log.exception("recommendations failed for shop %s placement %s", shop_id, placement)
        return []
    if cards:
        from app.recommendations.attribution import record_impressions

        record_impressions(shop_id, placement, len(cards))
    return cards


def _cards(
    shop_id: int,
    placement: str,
    order_id: int | None,
    return_reason: str | None,
    product_ids: tuple[int, ...],
    locale: str,
    limit: int,
) -> list[Card]:
    from sqlalchemy import select

    from app.extensions import db
    from app.recommendations.attribution import card_link
    from app.recommendations.ranking import rank
    from app.shopify.models import Shop

    session = db.session
    order = None
    if order_id is not None:
        # One row holds the order's columns the ranking reads, the shop's currency and the settings: plain
        # columns through the session's connection, not an ORM entity (this is the serving hot path).
        found = session.connection().execute(_order_statement(), {"order_id": order_id, "shop_id": shop_id}).first()
        if found is None or found.needs_help:
            return []
        order = settings = found
        shop_currency = found.shop_currency
    else:
        shop_currency = session.execute(select(Shop.currency).where(Shop.id == shop_id)).scalar_one_or_none()
        settings = None
    choices = rank(
        session,
        shop_id,
        placement,
        order=order,
        product_ids=product_ids,
        return_reason=return_reason,
        limit=limit,
        settings=settings,
    )
    if not choices:
        return []
    currency = shop_currency or (order.currency if order else None) or "USD"
    cards = []
    for choice in choices:
        product, variant = choice.product, choice.variant
        price = (variant.price if variant is not None and variant.price is not None else product.min_price) or Decimal(
            0
        )
        cards.append(
            Card(
                product_id=product.shopify_product_id,
                variant_id=variant.shopify_variant_id if variant is not None else None,
                title=product.title,
                image_url=(variant.image_url if variant is not None and variant.image_url else product.image_url),
                price=price,
                currency=currency,
                url=card_link(
                    shop_id,
                    placement,
                    product.shopify_product_id,
                    variant.shopify_variant_id if variant is not None else None,
                    order.id if order else None,
                ),
                price_label=format_price(price, currency, locale),
                variant_title=variant.title if variant is not None else None,
                reason=choice.reason,
            )
        )
    return cards


@functools.cache
def _order_statement() -> Any:
    from sqlalchemy import bindparam, exists, func, or_, select, true

    from app.orders.models import Fulfillment, Order
    from app.orders.status import PROBLEM_STATES
    from app.recommendations.models import RecommendationSettings
    from app.shopify.models import Shop

    problems = sorted(state.value for state in PROBLEM_STATES)
    parcel_in_trouble = exists().where(
        Fulfillment.shop_id == Order.shop_id,
        Fulfillment.shopify_order_id == Order.shopify_order_id,
        or_(Fulfillment.is_delayed, Fulfillment.is_stalled, Fulfillment.shipment_state.in_(problems)),
    )
    return (
        select(
            or_(Order.status.in_(problems), parcel_in_trouble).label("needs_help"),
            Order.id,
            Order.line_items,
            Order.shopify_customer_id,
            Order.email,
            Order.currency,
            Shop.currency.label("shop_currency"),
            func.coalesce(RecommendationSettings.is_enabled, true()).label("is_enabled"),  # no row: the default
            RecommendationSettings.excluded_product_ids,
            RecommendationSettings.pins,
        )
        .join(Shop, Shop.id == Order.shop_id)
        .outerjoin(RecommendationSettings, RecommendationSettings.shop_id == Order.shop_id)
        .where(Order.id == bindparam("order_id"), Order.shop_id == bindparam("shop_id"))
    )


UNREAD = object()  # "the caller has not read the shopper's email preference"


def recommendations_for_email(
    shop_id: int,
    order: Any,
    locale: str,
    limit: int = 3,
    *,
    email_preference: Any = UNREAD,
    moment: str | None = None,
) -> list[Card]:
    """Cards for an order email, only when the shopper agreed to marketing email (policy.consent_allows) and
    does not need help (`recommend`: the message's moment and the order's state).

    `email_preference` is the order email's ContactPreference row (or None for none) when the caller has it."""
    if moment in HELP_MOMENTS:
        return []
    from app.extensions import db
    from app.notifications.policy import consent_allows, consent_refusal

    if order is None or not order.email:
        return []
    if email_preference is UNREAD:
        refusal = consent_allows(db.session, shop_id, "email", order.email, marketing=True)
    else:
        refusal = consent_refusal(email_preference, "email", order.email, marketing=True)
    if refusal is not None:
        return []
    return recommend(shop_id, "email", order_id=order.id, locale=locale, limit=limit, moment=moment)


# Messages whose keys are built at run time (a status, a resolution, an engine's reason), declared so that
# `make translations` extracts them (app/i18n.py).
_KEYS_BUILT_AT_RUN_TIME = (
    N_("recs.title"),
    N_("recs.title.exchange"),
)
