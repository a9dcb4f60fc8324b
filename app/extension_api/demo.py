"""The demo's thank-you answers: five orders placed through the real webhook path (#1050-#1054), four of whose
buyers answered the shop's question on Shopify's thank-you page (one in Thai), so the merchant's page has
figures to show."""

from __future__ import annotations

from sqlalchemy import select

from app.extension_api.models import ThankYouAnswer
from app.extension_api.services import record_thank_you_answer
from app.extensions import db
from app.orders.demo import deliver, order_payload
from app.orders.models import Order
from app.shopify.models import Shop

# number, shopper, locale, their answer (None: they skipped the optional question)
DEMO_ANSWERS = (
    (1050, "Mali", "th", "เพื่อนแนะนำ"),
    (1051, "Tom", "en", "Instagram"),
    (1052, "Ann", "en", "instagram"),
    (1053, "Ken", "en", "A friend told me"),
    (1054, "Nok", "th", None),
)


def seed_demo_thank_you_answers(shop: Shop) -> None:
    """Idempotent: does nothing once the demo has an answer."""
    if db.session.execute(select(ThankYouAnswer.id).where(ThankYouAnswer.shop_id == shop.id)).first():
        return
    for number, name, locale, _answer in DEMO_ANSWERS:
        email = f"{name.lower()}@example.com"
        deliver("orders/create", order_payload(number, 1, email, name, [("Cotton tote", "390.00", 1)], locale=locale))
    for number, _name, locale, answer in DEMO_ANSWERS:
        order = db.session.execute(
            select(Order).where(Order.shop_id == shop.id, Order.name == f"#{number}")
        ).scalar_one_or_none()
        if order is not None and answer is not None:
            record_thank_you_answer(db.session, shop.id, order, answer, locale)
