"""The rules behind `/ext`: which order a caller may see, what each block shows, the thank-you answer."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.extension_api.auth import ExtensionCaller
from app.extension_api.models import ANSWER_MAX_LENGTH, ThankYouAnswer, ThankYouSettings
from app.i18n import N_, t
from app.notifications.channels import configured_channels
from app.notifications.channels.line import line_connect_url, make_line_connect_code
from app.orders.models import Fulfillment, Order
from app.returns.links import returns_portal_path
from app.surveys import tracking_page_survey
from app.tracking.queries import tracking_view

GID = {
    "order": re.compile(r"^gid://shopify/Order/([1-9][0-9]{0,19})$"),
    "fulfillment": re.compile(r"^gid://shopify/Fulfillment/([1-9][0-9]{0,19})$"),
}
LATEST_SCANS = 3
DEFAULT_QUESTION = N_("ext.thank_you.default_question")


def parse_gid(kind: str, value: Any) -> int | None:
    """Shopify's numeric id from a GID of the expected kind (`gid://shopify/Order/123`), else None."""
    match = GID[kind].match(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def order_for_caller(
    session: Session, caller: ExtensionCaller, shopify_order_id: int, email: str | None = None
) -> Order | None:
    """The order, if the token's shop has it and the token's customer owns it.

    A logged-in buyer (`sub`) sees only their own orders. Without `sub` (a guest on the thank-you page) the
    order's email must be given as well: the same second factor as the tracking page's lookup, so the block
    learns nothing an order number and email would not already show there. Another shop's order, another
    customer's, or a guess finds nothing, answered the same way."""
    order = session.execute(
        select(Order).where(Order.shop_id == caller.shop_id, Order.shopify_order_id == shopify_order_id)
    ).scalar_one_or_none()
    if order is None:
        return None
    if caller.customer_id is not None:
        return order if order.shopify_customer_id == caller.customer_id else None
    given = (email or "").strip().lower()
    if given and order.email and given == order.email.strip().lower():
        return order
    return None


def order_status_view(
    session: Session,
    shop: Any,
    order: Order,
    locale: str,
    tz: ZoneInfo,
    app_url: str,
    shopify_fulfillment_id: int | None = None,
) -> dict[str, Any] | None:
    """The order status page's block (every parcel) or one fulfilment card's slot (that parcel): status,
    estimate and lateness, the latest scans, the carrier's link, and what the shopper can do next. No name,
    address, email or phone: the page already shows Shopify's own, and the token allows no more."""
    view = tracking_view(session, order, locale, tz)
    shipments = view["shipments"]
    if shopify_fulfillment_id is not None:
        name = session.execute(
            select(Fulfillment.name).where(
                Fulfillment.shop_id == order.shop_id,
                Fulfillment.shopify_order_id == order.shopify_order_id,
                Fulfillment.shopify_fulfillment_id == shopify_fulfillment_id,
            )
        ).scalar_one_or_none()
        if name is None:
            return None
        shipments = [s for s in shipments if s["name"] == name]
    today = datetime.now(tz).date()
    delivered = any(s["status"] == "delivered" for s in view["shipments"])
    survey = tracking_page_survey(session, shop.id, order, locale, shop.name or shop.domain.split(".")[0])
    return {
        "order": {"name": order.name, "status": view["order"]["status"], "status_label": view["order"]["status_label"]},
        "parcels": [_parcel(s, today) for s in shipments],
        "waiting_items": sum(item["quantity"] or 0 for item in view["unfulfilled_items"]),
        "actions": {
            "return_url": f"{app_url}{returns_portal_path(shop.id, order.id)}?locale={locale}" if delivered else None,
            "survey": {
                "question": survey["question"],
                "url": survey["action"],
                "answered": survey["answered"] is not None,
            }
            if survey
            else None,
            **_updates(shop, order),
        },
        "locale": locale,
    }


def _parcel(shipment: dict[str, Any], today: date) -> dict[str, Any]:
    estimate = shipment["estimate"]
    late = shipment["status"] == "delayed" or bool(
        estimate and shipment["status"] not in ("delivered", "cancelled") and date.fromisoformat(estimate["to"]) < today
    )
    return {
        "name": shipment["name"],
        "status": shipment["status"],
        "status_label": shipment["status_label"],
        "status_explanation": shipment["status_explanation"],
        "is_problem": shipment["is_problem"],
        "is_late": late,
        "estimate": estimate["label"] if estimate else None,
        "delivered_at": shipment["delivered_at"],
        "carrier": shipment["carrier"],
        "scans": [
            {"label": e["label"], "message": e["message"], "location": e["location"], "at": e["happened_at_display"]}
            for e in shipment["events"][:LATEST_SCANS]
        ],
    }


def _updates(shop: Any, order: Order) -> dict[str, Any]:
    channels = configured_channels()
    line_url = None
    if "line" in channels:  # the signed connect code costs a signature: only made when LINE is set up
        line_url = line_connect_url(make_line_connect_code(shop.id, order.email, order.shopify_customer_id))
    return {"sms": "sms" in channels, "line_url": line_url}


def thank_you_question(session: Session, shop_id: int, locale: str) -> str | None:
    """The shop's question in the buyer's language (its English, else ours), or None when it asks none."""
    settings = session.execute(select(ThankYouSettings).where(ThankYouSettings.shop_id == shop_id)).scalar()
    if settings is not None and not settings.ask_question:
        return None
    wording = (settings.question or {}) if settings else {}
    return (wording.get(locale) or wording.get("en") or "").strip() or t(locale, DEFAULT_QUESTION)


def thank_you_view(session: Session, shop: Any, order: Order, locale: str) -> dict[str, Any]:
    answered = session.execute(
        select(func.count())
        .select_from(ThankYouAnswer)
        .where(ThankYouAnswer.shop_id == shop.id, ThankYouAnswer.shopify_order_id == order.shopify_order_id)
    ).scalar_one()
    return {
        "order": {"name": order.name},
        "tracked": True,
        "question": None if answered else thank_you_question(session, shop.id, locale),
        "answered": bool(answered),
        **_updates(shop, order),
        "locale": locale,
    }


class AnswerRefused(ValueError):
    """Why an answer is not kept: a catalog key."""


def record_thank_you_answer(session: Session, shop_id: int, order: Order, answer: Any, locale: str) -> bool:
    """Keep the order's answer once (a replay or a second answer changes nothing). True when this one was kept."""
    text = " ".join(answer.split()) if isinstance(answer, str) else ""
    if not text:
        raise AnswerRefused(N_("ext.answer.empty"))
    if len(text) > ANSWER_MAX_LENGTH:
        raise AnswerRefused(N_("ext.answer.too_long"))
    question = thank_you_question(session, shop_id, locale)
    if question is None:
        raise AnswerRefused(N_("ext.answer.not_asked"))
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = session.execute(
        insert(ThankYouAnswer)
        .values(
            shop_id=shop_id,
            shopify_order_id=order.shopify_order_id,
            shopify_customer_id=order.shopify_customer_id,
            question=question[:300],
            answer=text,
            locale=locale,
        )
        .on_conflict_do_nothing(index_elements=["shop_id", "shopify_order_id"])
        .returning(ThankYouAnswer.id)
    ).scalar()
    session.commit()
    return result is not None


def save_thank_you_settings(session: Session, shop_id: int, ask_question: bool, question: dict[str, str]) -> None:
    settings = session.execute(select(ThankYouSettings).where(ThankYouSettings.shop_id == shop_id)).scalar()
    if settings is None:
        settings = ThankYouSettings(shop_id=shop_id)
        session.add(settings)
    settings.ask_question = ask_question
    settings.question = {k: v.strip()[:300] for k, v in question.items() if v and v.strip()}
    session.commit()
