"""customers/redact: recommendations forget whose baskets and clicks they were; the counts stay."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.orders.privacy import CustomerRef
from app.recommendations.models import CoPurchase, OrderBasket, RecommendationClick
from app.recommendations.privacy import erase_customer_recommendation_data
from tests.recommendations.conftest import JON, JON_EMAIL, jon_orders


def test_erasing_a_customer_unlinks_baskets_and_clicks_but_keeps_the_models(shop_with_history, deliver):
    jon_orders(deliver)
    db.session.add(
        RecommendationClick(
            shop_id=shop_with_history.id,
            public_id="b" * 24,
            placement="email",
            shopify_product_id=3,
            customer_key=f"e:{JON_EMAIL}",
        )
    )
    db.session.commit()
    pairs_before = db.session.execute(select(func.count()).select_from(CoPurchase)).scalar()
    changed = erase_customer_recommendation_data(
        db.session, shop_with_history.id, CustomerRef(shopify_customer_id=JON, email=JON_EMAIL)
    )
    db.session.commit()
    assert changed == 3  # two baskets, one click
    keys = {f"c:{JON}", f"e:{JON_EMAIL}"}
    assert not db.session.execute(select(OrderBasket).where(OrderBasket.customer_key.in_(keys))).first()
    assert not db.session.execute(select(RecommendationClick).where(RecommendationClick.customer_key.in_(keys))).first()
    assert db.session.execute(select(func.count()).select_from(CoPurchase)).scalar() == pairs_before
    again = erase_customer_recommendation_data(
        db.session, shop_with_history.id, CustomerRef(shopify_customer_id=JON, email=JON_EMAIL)
    )
    assert again == 0


def test_the_customers_redact_webhook_unlinks_the_shoppers_baskets(shop_with_history, deliver):
    jon_orders(deliver)
    deliver(
        (
            "customers/redact",
            {
                "shop_id": 1,
                "shop_domain": "snowdevil.myshopify.com",
                "customer": {"id": JON, "email": JON_EMAIL, "phone": None},
                "orders_to_redact": [7001, 7002],
            },
        )
    )
    keys = {f"c:{JON}", f"e:{JON_EMAIL}"}
    assert not db.session.execute(select(OrderBasket).where(OrderBasket.customer_key.in_(keys))).first()
    assert db.session.execute(select(func.count()).select_from(OrderBasket)).scalar() > 2  # others' stay linked
