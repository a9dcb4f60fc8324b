"""The demo's surveys: the shop asks CSAT and NPS two days after delivery; five orders delivered through the real
webhook path are asked, four answer (happy ones, a middling one on the tracking page, and an unhappy one whose
detractor item waits in the attention list) and one has not answered yet."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.orders.demo import deliver, fulfillment_payload, order_payload, scan_payload
from app.shopify.models import Shop
from app.surveys.models import Survey, SurveySettings
from app.surveys.services import ask_due_surveys, record_answer, record_follow_up

# number, shopper, locale, carrier, tracking number, (csat, nps, via, reasons, comment) or None: no answer yet
DEMO_SURVEYS = (
    (
        1030,
        "Ploy",
        "th",
        "Kerry Express",
        "SHP5012345630",
        (5, 10, "message", ["fast", "packaging_good"], "ส่งไวมาก ขอบคุณค่ะ"),
    ),
    (1031, "Sam", "en", "Flash Express", "TH0123456793E", (4, 9, "message", ["as_described"], None)),
    (
        1032,
        "Dao",
        "en",
        "J&T Express",
        "820012345632",
        (1, 2, "message", ["late", "damaged"], "The box arrived crushed, two days after the date I was given."),
    ),
    (1033, "Chai", "th", "Thailand Post", "EF582568163TH", (3, 7, "tracking_page", ["tracking"], None)),
    (1034, "Emma", "en", "Kerry Express", "SHP5012345634", None),
)


def seed_demo_surveys(shop: Shop) -> None:
    """Idempotent: does nothing once the demo has survey settings."""
    if db.session.execute(select(SurveySettings.id).where(SurveySettings.shop_id == shop.id)).first():
        return
    db.session.add(SurveySettings(shop_id=shop.id, is_enabled=True, question="both", delay_days=2))
    db.session.commit()
    for number, name, locale, carrier, tracking, _answer in DEMO_SURVEYS:
        order = order_payload(
            number, 6, f"{name.lower()}@example.com", name, [("Linen shirt", "890.00", 1)], locale=locale
        )
        parcel = fulfillment_payload(order, 1, 5, carrier, tracking)
        deliver("orders/create", order)
        deliver("fulfillments/create", parcel)
        deliver("fulfillment_events/create", scan_payload(parcel, 1, "in_transit", 4.5, "In transit"))
        deliver("fulfillment_events/create", scan_payload(parcel, 2, "delivered", 3, "Delivered"))
    ask_due_surveys()  # delivered three days ago: the two days have passed, so each is asked now (the message)
    for number, _name, _locale, _carrier, _tracking, answer in DEMO_SURVEYS:
        if answer is None:
            continue
        csat, nps, via, reasons, comment = answer
        survey = db.session.execute(
            select(Survey).where(Survey.shop_id == shop.id, Survey.order_name == f"#{number}")
        ).scalar_one_or_none()
        if survey is None:
            continue
        record_answer(db.session, survey, "csat", csat, via)
        record_follow_up(db.session, survey, reasons, comment, nps)
        db.session.commit()
