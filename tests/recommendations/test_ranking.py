"""Which products are recommended: every exclusion rule, pins, diversity, personalisation, return reasons."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.recommendations import recommend
from app.recommendations.models import RecommendationSettings
from tests.recommendations.conftest import (
    BANNED,
    BELT,
    CAP,
    CDN,
    DRAFT,
    HIDDEN,
    HOODIE,
    JACKET,
    JON,
    JON_EMAIL,
    SHORTS,
    SOCKS,
    SOLD_OUT,
    T0,
    TEE,
    TEE_L,
    TEE_M,
    TEE_S,
    TEE_XL,
    jon_orders,
    order_payload,
    product_payload,
)


def shown(cards) -> list[int]:
    return [card.product_id for card in cards]


def settings(shop_id: int, **values) -> None:
    row = db.session.execute(
        select(RecommendationSettings).where(RecommendationSettings.shop_id == shop_id)
    ).scalar_one_or_none()
    if row is None:
        row = RecommendationSettings(shop_id=shop_id, is_enabled=True, attribution_window_days=7)
        db.session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    db.session.commit()


def test_cards_come_from_what_others_bought_with_the_order_and_carry_everything_to_render(shop_with_history, deliver):
    order = jon_orders(deliver)
    cards = recommend(shop_with_history.id, "tracking_page", order_id=order.id, limit=4)
    assert cards, "the tee's co-purchases should give cards"
    assert set(shown(cards)) <= {SHORTS, CAP, JACKET, BELT, BANNED}  # the gift card is not excluded yet
    card = cards[0]
    assert card.title and card.image_url.startswith(CDN)
    assert card.currency == "THB" and card.price > 0 and "390.00" in card.price_label
    assert card.url.startswith("https://aftercart.test/l/r/")
    thai = recommend(shop_with_history.id, "tracking_page", order_id=order.id, locale="th", limit=1)
    assert thai and "฿" in thai[0].price_label


def test_products_already_bought_in_this_or_an_earlier_order_are_never_recommended(shop_with_history, deliver):
    order = jon_orders(deliver)
    ids = shown(recommend(shop_with_history.id, "tracking_page", order_id=order.id, limit=10))
    assert TEE not in ids and SOCKS not in ids  # this order
    assert HOODIE not in ids  # Jon's earlier order
    assert JACKET in ids  # control: the same rule lets others through


def test_other_variants_of_a_bought_product_are_excluded_even_when_the_line_has_only_a_variant_id(
    shop_with_history, deliver
):
    order = jon_orders(deliver, second_lines=[(TEE, TEE_S), (None, JACKET * 100 + 1)])
    cards = recommend(shop_with_history.id, "tracking_page", order_id=order.id, limit=10)
    assert JACKET not in shown(cards)
    assert all(card.variant_id not in (TEE_M, TEE_L) for card in cards)
    assert TEE not in shown(cards)


def test_unavailable_unpublished_draft_and_excluded_products_are_never_recommended(shop_with_history, deliver):
    order = jon_orders(deliver)
    settings(shop_with_history.id, excluded_product_ids=[BANNED])
    ids = shown(recommend(shop_with_history.id, "tracking_page", order_id=order.id, limit=10))
    for product in (DRAFT, HIDDEN, SOLD_OUT, BANNED):
        assert product not in ids, product


def test_each_exclusion_lifts_when_its_reason_goes(shop_with_history, deliver):
    """The same products are the strongest candidates: each rule alone is what kept it out."""
    order = jon_orders(deliver)
    settings(shop_with_history.id, excluded_product_ids=[BANNED])
    deliver(
        ("products/update", product_payload(SOLD_OUT, "Sold-out Sandals", "Shoes", updated=T0 + timedelta(days=30))),
        ("products/update", product_payload(DRAFT, "Draft Scarf", "Accessories", updated=T0 + timedelta(days=30))),
        ("products/update", product_payload(HIDDEN, "Hidden Bag", "Accessories", updated=T0 + timedelta(days=30))),
    )
    settings(shop_with_history.id, excluded_product_ids=[])
    ids = shown(recommend(shop_with_history.id, "tracking_page", order_id=order.id, limit=10))
    for product in (DRAFT, HIDDEN, SOLD_OUT, BANNED):
        assert product in ids, product


def test_a_deleted_product_is_not_recommended_and_a_late_update_cannot_bring_it_back(shop_with_history, deliver):
    order = jon_orders(deliver)
    assert JACKET in shown(recommend(shop_with_history.id, "tracking_page", order_id=order.id, limit=10))
    deliver(
        ("products/delete", {"id": JACKET}),
        ("products/update", product_payload(JACKET, "Rain Jacket", "Tops", updated=T0 + timedelta(days=60))),
    )
    assert JACKET not in shown(recommend(shop_with_history.id, "tracking_page", order_id=order.id, limit=10))


def test_an_older_product_update_delivered_late_does_not_overwrite_a_newer_one(shop_with_history, deliver):
    order = jon_orders(deliver)
    deliver(
        (
            "products/update",
            product_payload(SHORTS, "Linen Shorts", "Bottoms", stock=0, updated=T0 + timedelta(days=9)),
        ),
        (
            "products/update",
            product_payload(SHORTS, "Linen Shorts", "Bottoms", stock=5, updated=T0 + timedelta(days=5)),
        ),
    )
    assert SHORTS not in shown(recommend(shop_with_history.id, "tracking_page", order_id=order.id, limit=10))


def test_pinned_products_come_first_in_their_placement_only_and_still_obey_the_rules(shop_with_history, deliver):
    order = jon_orders(deliver)
    settings(shop_with_history.id, pins={"tracking_page": [BELT, SOLD_OUT, HOODIE]})
    page = recommend(shop_with_history.id, "tracking_page", order_id=order.id, limit=4)
    assert page[0].product_id == BELT and page[0].reason == "pinned"
    assert SOLD_OUT not in shown(page) and HOODIE not in shown(page)  # out of stock; already bought
    email = recommend(shop_with_history.id, "email", order_id=order.id, limit=4)
    assert email[0].product_id != BELT or email[0].reason != "pinned"


def test_diversity_keeps_one_type_from_taking_every_card(shop_with_history, deliver):
    order = jon_orders(deliver)
    cards = recommend(shop_with_history.id, "tracking_page", order_id=order.id, limit=3)
    assert len(shown(cards)) == 3
    # Jacket is the strongest; the other two candidates of the top four are a bottom and an accessory.
    assert {SHORTS, CAP} & set(shown(cards))


def test_the_sequence_model_recommends_what_customers_bought_next(shop_with_history, deliver):
    # Three customers bought socks, then a belt in their next order; nobody bought them together.
    deliveries = []
    for n in range(3):
        customer = 60000 + n
        deliveries.append(
            (
                "orders/create",
                order_payload(
                    8100 + n, [(SOCKS, SOCKS * 100 + 1)], customer_id=customer, email=f"c{n}@example.com", created=T0
                ),
            )
        )
        deliveries.append(
            (
                "orders/create",
                order_payload(
                    8200 + n,
                    [(BELT, BELT * 100 + 1)],
                    customer_id=customer,
                    email=f"c{n}@example.com",
                    created=T0 + timedelta(days=3),
                ),
            )
        )
    deliver(*deliveries)
    deliver(
        (
            "orders/create",
            order_payload(
                8300,
                [(SOCKS, SOCKS * 100 + 1)],
                customer_id=61000,
                email="new@example.com",
                created=T0 + timedelta(days=5),
            ),
        )
    )
    from app.orders.models import Order

    order = db.session.execute(select(Order).where(Order.shopify_order_id == 8300)).scalar_one()
    assert recommend(shop_with_history.id, "tracking_page", order_id=order.id, limit=1)[0].product_id == BELT


def test_a_new_shop_without_orders_falls_back_to_nothing_and_then_best_sellers(ctx, deliver):
    deliver(("products/create", product_payload(SHORTS, "Linen Shorts", "Bottoms")))
    from app.shopify.models import Shop

    shop = db.session.execute(select(Shop)).scalar_one()
    assert recommend(shop.id, "tracking_page", limit=4) == []
    deliver(
        (
            "orders/create",
            order_payload(1, [(SHORTS, SHORTS * 100 + 1)], customer_id=9, email="a@example.com", created=T0),
        )
    )
    assert shown(recommend(shop.id, "tracking_page", limit=4)) == [SHORTS]


def test_personalisation_prefers_types_the_shopper_buys(shop_with_history, deliver):
    order = jon_orders(deliver)  # Jon buys tops (hoodie, tee)
    plain = recommend(shop_with_history.id, "tracking_page", order_id=order.id, limit=1)
    assert plain[0].product_id == JACKET  # a top wins over equally strong non-tops


def test_too_small_offers_the_next_size_up_of_the_same_product(shop_with_history, deliver):
    order = jon_orders(deliver)  # the tee in S
    cards = recommend(
        shop_with_history.id,
        "return_exchange",
        order_id=order.id,
        product_ids=(TEE,),
        return_reason="SIZE_TOO_SMALL",
        limit=4,
    )
    assert (cards[0].product_id, cards[0].variant_id, cards[0].reason) == (TEE, TEE_M, "next_size")
    assert cards[0].variant_title == "M"


def test_too_large_offers_the_next_size_down_and_skips_sizes_out_of_stock(shop_with_history, deliver):
    order = jon_orders(deliver, second_lines=[(TEE, TEE_L)])
    down = recommend(
        shop_with_history.id,
        "return_exchange",
        order_id=order.id,
        product_ids=(TEE,),
        return_reason="too large",
        limit=2,
    )
    assert (down[0].product_id, down[0].variant_id) == (TEE, TEE_M)
    up = recommend(
        shop_with_history.id,
        "return_exchange",
        order_id=order.id,
        product_ids=(TEE,),
        return_reason="too small",
        limit=2,
    )
    assert all(card.variant_id != TEE_XL for card in up)  # XL is out of stock: no next size up
    assert TEE not in shown(up)


def test_not_as_described_offers_similar_products_only(shop_with_history, deliver):
    order = jon_orders(deliver, first_lines=[(SOCKS, SOCKS * 100 + 1)])
    cards = recommend(
        shop_with_history.id,
        "return_status",
        order_id=order.id,
        product_ids=(TEE,),
        return_reason="NOT_AS_DESCRIBED",
        limit=4,
    )
    assert cards and all(card.reason == "similar" for card in cards)
    assert set(shown(cards)) <= {HOODIE, JACKET}  # other tops; never the tee itself


def test_another_shops_order_gives_nothing(shop_with_history, deliver):
    order = jon_orders(deliver)
    assert recommend(shop_with_history.id + 999, "tracking_page", order_id=order.id) == []


def test_a_shop_that_turned_recommendations_off_gets_none(shop_with_history, deliver):
    order = jon_orders(deliver)
    settings(shop_with_history.id, is_enabled=False)
    assert recommend(shop_with_history.id, "tracking_page", order_id=order.id) == []


def test_jon_constants_match_the_orders(shop_with_history, deliver):
    order = jon_orders(deliver)
    assert order.shopify_customer_id == JON and order.email == JON_EMAIL
