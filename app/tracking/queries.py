"""Read-only: build the tracking view (the JSON the page and widget use)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.alerts import shop_was_told
from app.i18n import N_, format_day_range, format_moment, t
from app.orders.models import Fulfillment, Order, TrackingEvent, shown_variant_title
from app.orders.status import PROBLEM_STATES, STEPS, Status, step_index
from app.tracking.services import display_state, shop_context, unshipped_quantities
from app.validation import web_url


def _items(line_items: list[dict[str, Any]] | None, quantities: dict[int, int] | None = None) -> list[dict[str, Any]]:
    result = []
    for item in line_items or []:
        quantity = item.get("quantity")
        if quantities is not None:
            quantity = quantities.get(item.get("id"), 0)
            if not quantity:
                continue
        result.append(
            {
                "title": item.get("title"),
                "variant_title": shown_variant_title(item.get("variant_title")),
                "quantity": quantity,
                "image_url": item.get("image_url"),
            }
        )
    return result


def _status_block(status: Status, locale: str, shop_told: bool = True) -> dict[str, str]:
    explanation = f"status.{status.value}.explain"
    if status == Status.EXCEPTION and not shop_told:
        explanation = N_("status.exception.explain_untold")  # never claim the shop knows when no alert went out
    return {
        "status": status.value,
        "status_label": t(locale, f"status.{status.value}"),
        "status_explanation": t(locale, explanation),
    }


def tracking_view(session: Session, order: Order, locale: str, tz: ZoneInfo | None = None) -> dict[str, Any]:
    """Everything the shopper may see about one order, localised, in their time zone."""
    tz = tz or shop_context(session, order.shop_id).tz
    fulfillments = list(
        session.execute(
            select(Fulfillment)
            .where(Fulfillment.shop_id == order.shop_id, Fulfillment.shopify_order_id == order.shopify_order_id)
            .order_by(Fulfillment.shopify_created_at, Fulfillment.id)
        ).scalars()
    )
    live = [f for f in fulfillments if f.shipment_state != Status.CANCELLED] or fulfillments
    events_by_fulfillment: dict[int, list[TrackingEvent]] = {}
    if live:
        rows = session.execute(
            select(TrackingEvent)
            .where(
                TrackingEvent.shop_id == order.shop_id,
                TrackingEvent.shopify_fulfillment_id.in_([f.shopify_fulfillment_id for f in live]),
            )
            .order_by(TrackingEvent.happened_at.desc(), TrackingEvent.id.desc())
        ).scalars()
        for event in rows:
            events_by_fulfillment.setdefault(event.shopify_fulfillment_id, []).append(event)

    shipments = []
    any_told = False
    for fulfillment in live:
        state = display_state(fulfillment)
        told = state == Status.EXCEPTION and shop_was_told(session, order.shop_id, fulfillment.shopify_fulfillment_id)
        any_told = any_told or told
        estimate = None
        if fulfillment.estimate_from and fulfillment.estimate_to and state not in (Status.DELIVERED, Status.CANCELLED):
            estimate = {
                "label": format_day_range(fulfillment.estimate_from, fulfillment.estimate_to, locale),
                "from": fulfillment.estimate_from.isoformat(),
                "to": fulfillment.estimate_to.isoformat(),
                "source": fulfillment.estimate_source,
                "source_label": t(locale, f"track.estimate.{fulfillment.estimate_source}"),
            }
        numbers = fulfillment.tracking_numbers or []
        status_block = _status_block(state, locale, shop_told=told)
        if fulfillment.merchant_state == "lost":  # the shop's word over the carrier's
            status_block["status_explanation"] = t(locale, "track.parcel.lost")
        elif fulfillment.merchant_state == "reshipped":
            status_block["status_explanation"] = (
                t(locale, "track.parcel.reshipped_number", number=fulfillment.replacement_tracking_number)
                if fulfillment.replacement_tracking_number
                else t(locale, "track.parcel.reshipped")
            )
        shipments.append(
            {
                "name": fulfillment.name,
                **status_block,
                "step_index": step_index(state),
                "is_problem": state in PROBLEM_STATES or fulfillment.merchant_state == "lost",
                "carrier": {
                    "name": fulfillment.carrier_name or fulfillment.tracking_company,
                    "tracking_number": numbers[0] if numbers else None,
                    "tracking_url": web_url(fulfillment.tracking_url),  # the widget writes it into an href
                },
                "estimate": estimate,
                "delivered_at": _moment(fulfillment.delivered_at, locale, tz),
                "items": _items(fulfillment.line_items),
                "events": [
                    _event(e, locale, tz) for e in events_by_fulfillment.get(fulfillment.shopify_fulfillment_id, [])
                ],
            }
        )
    order_state = Status(order.status or Status.ORDERED)
    return {
        "order": {
            "name": order.name,
            **_status_block(order_state, locale, shop_told=any_told),
            "placed_at": order.shopify_created_at.astimezone(tz).isoformat() if order.shopify_created_at else None,
            "placed_at_display": _moment(order.shopify_created_at, locale, tz),
            "items": _items(order.line_items),
        },
        "steps": [{"key": s.value, "label": t(locale, f"status.{s.value}")} for s in STEPS],
        "shipments": shipments,
        "unfulfilled_items": _items(order.line_items, unshipped_quantities(order, fulfillments))
        if order_state != Status.CANCELLED
        else [],
        "recommendations": [],
        "locale": locale,
    }


def _moment(value: datetime | None, locale: str, tz: ZoneInfo) -> str | None:
    return format_moment(value, locale, tz) if value else None


def _event(event: TrackingEvent, locale: str, tz: ZoneInfo) -> dict[str, Any]:
    status = Status(event.status) if event.status else None
    location = ", ".join(part for part in (event.city, event.province, event.country) if part)
    return {
        "status": status.value if status else None,
        "label": t(locale, f"status.{status.value}") if status else (event.raw_status or "").replace("_", " "),
        "message": event.message,
        "location": location or None,
        "happened_at": event.happened_at.astimezone(tz).isoformat(),
        "happened_at_display": format_moment(event.happened_at, locale, tz),
    }


def count_orders(session: Session, shop_id: int) -> int:
    return session.execute(select(func.count()).where(Order.shop_id == shop_id)).scalar_one()


# Messages whose keys are built at run time (a status, a resolution, an engine's reason), declared so that
# `make translations` extracts them (app/i18n.py).
_KEYS_BUILT_AT_RUN_TIME = (
    N_("status.attempted_delivery"),
    N_("status.attempted_delivery.explain"),
    N_("status.cancelled"),
    N_("status.cancelled.explain"),
    N_("status.confirmed"),
    N_("status.confirmed.explain"),
    N_("status.delayed"),
    N_("status.delayed.explain"),
    N_("status.delivered"),
    N_("status.delivered.explain"),
    N_("status.exception"),
    N_("status.exception.explain"),
    N_("status.label_created"),
    N_("status.label_created.explain"),
    N_("status.ordered"),
    N_("status.ordered.explain"),
    N_("status.out_for_delivery"),
    N_("status.out_for_delivery.explain"),
    N_("status.ready_for_pickup"),
    N_("status.ready_for_pickup.explain"),
    N_("status.returned_to_sender"),
    N_("status.returned_to_sender.explain"),
    N_("status.shipped"),
    N_("status.shipped.explain"),
    N_("track.email"),
    N_("track.error"),
    N_("track.estimate.carrier"),
    N_("track.estimate.default"),
    N_("track.estimate.revised"),
    N_("track.phone"),
    N_("track.rate_limited"),
)
