"""The shipment and order state machine: derive each shipment's state from everything we hold,
then the order's, and record every change as a domain event.

Derivation is a pure function of the stored rows (latest evidence by happened_at), so any order,
duplication or lateness of deliveries ends in the same state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.events import record_event
from app.i18n import zone
from app.orders.models import Fulfillment, Order, TrackingEvent
from app.orders.status import FINISHED_STATES, Status, from_shopify_event_status, order_status, step_index
from app.shopify.models import Shop
from app.tracking import estimates
from app.tracking.calendar import BusinessCalendar
from app.tracking.carriers import detect_carrier, tracking_link
from app.tracking.models import DeliveryEstimate, TrackingSettings
from app.validation import web_url

PAID_STATES = {"paid", "partially_paid", "authorized", "partially_refunded", "refunded"}

# What every shipment update reads, built once per process (values bound per call): building and keying
# a statement anew costs about a third of running it.
_SETTINGS = select(TrackingSettings).where(TrackingSettings.shop_id == bindparam("shop_id"))
_LOCK_FULFILLMENT = (
    select(Fulfillment)
    .where(
        Fulfillment.shop_id == bindparam("shop_id"),
        Fulfillment.shopify_fulfillment_id == bindparam("fulfillment_id"),
    )
    .with_for_update()
)
_TRACKING_EVENTS = (
    select(TrackingEvent)
    .where(
        TrackingEvent.shop_id == bindparam("shop_id"),
        TrackingEvent.shopify_fulfillment_id == bindparam("fulfillment_id"),
    )
    .order_by(TrackingEvent.happened_at, TrackingEvent.id)
)
_ORDER_WITH_SHIPMENTS = (  # the order with its shipments, in one round trip
    select(Order, Fulfillment)
    .outerjoin(
        Fulfillment,
        and_(Fulfillment.shop_id == Order.shop_id, Fulfillment.shopify_order_id == Order.shopify_order_id),
    )
    .where(Order.shop_id == bindparam("shop_id"), Order.shopify_order_id == bindparam("order_id"))
)


@dataclass(frozen=True)
class ShopContext:
    """What the rules need to know about a shop: its time zone, calendar and settings."""

    settings: TrackingSettings
    tz: ZoneInfo
    calendar: BusinessCalendar

    def today(self, now: datetime | None = None) -> date:
        return (now or utcnow()).astimezone(self.tz).date()


def tracking_settings(session: Session, shop_id: int) -> TrackingSettings:
    """The shop's settings row, or unsaved defaults."""
    found = session.execute(_SETTINGS, {"shop_id": shop_id}).scalar_one_or_none()
    return found if found is not None else default_tracking_settings(shop_id)


def default_tracking_settings(shop_id: int) -> TrackingSettings:
    """Unsaved settings with every column's default: what a shop that never saved any gets."""
    defaults = TrackingSettings(shop_id=shop_id)
    for column in TrackingSettings.__table__.columns:
        if getattr(defaults, column.key) is None and column.default is not None and not callable(column.default.arg):
            setattr(defaults, column.key, column.default.arg)
    return defaults


def shop_context(session: Session, shop_id: int) -> ShopContext:
    settings = tracking_settings(session, shop_id)
    shop = session.get(Shop, shop_id)
    return ShopContext(
        settings=settings,
        tz=zone(shop.iana_timezone if shop else None),
        calendar=BusinessCalendar.build(settings.weekend_days, settings.holidays),
    )


def _evidence_rank(event: TrackingEvent) -> tuple:
    status = Status(event.status) if event.status else None
    return (event.happened_at, step_index(status) if status else -1, event.id or 0)


def derive_shipment_state(fulfillment: Fulfillment, events: list[TrackingEvent]) -> Status:
    """The shipment's state from the latest evidence we understand; unknown raw statuses never move it."""
    if (fulfillment.status or "").lower() == "cancelled":
        return Status.CANCELLED
    known = [e for e in events if e.status]
    mapped = from_shopify_event_status(fulfillment.shipment_status)
    if known:
        latest = max(known, key=_evidence_rank)
        # The fulfilment's own shipment_status is evidence as of its updated_at: scans that arrive after it
        # but happened before it must not take the parcel back (delivered, then "in transit" again).
        if mapped is not None and fulfillment.shopify_updated_at is not None:
            if (fulfillment.shopify_updated_at, step_index(mapped)) > _evidence_rank(latest)[:2]:
                return mapped
        return Status(latest.status)
    if mapped is not None:
        return mapped
    if (fulfillment.status or "").lower() in ("error", "failure"):
        return Status.EXCEPTION
    if (fulfillment.status or "").lower() in ("pending", "open"):
        return Status.LABEL_CREATED
    return Status.SHIPPED


def state_reached_at(fulfillment: Fulfillment, events: list[TrackingEvent], state: Status) -> datetime | None:
    """When the shipment reached `state`, by the evidence's own clock: the delivery time, else the time of the
    scan the state comes from, else the fulfilment's own update. What a message about the change is dated by."""
    if state == Status.DELIVERED and fulfillment.delivered_at is not None:
        return fulfillment.delivered_at
    known = [e for e in events if e.status]
    if known and (fulfillment.status or "").lower() != "cancelled":
        return max(known, key=_evidence_rank).happened_at
    return fulfillment.shopify_updated_at or fulfillment.shopify_created_at


def refresh_shipment(session: Session, shop_id: int, shopify_fulfillment_id: int, now: datetime | None = None) -> None:
    """Recompute one shipment's state, carrier, estimate and flags; record changes; then its order.

    Locks the fulfilment row so concurrent jobs for the same parcel serialise. A no-op until the
    fulfilment itself has arrived (events may come first).
    """
    key = {"shop_id": shop_id, "fulfillment_id": shopify_fulfillment_id}
    fulfillment = session.execute(_LOCK_FULFILLMENT, key).scalar_one_or_none()
    if fulfillment is None:
        return
    now = now or utcnow()
    ctx = shop_context(session, shop_id)
    events = list(session.execute(_TRACKING_EVENTS, key).scalars())
    previous_state = fulfillment.shipment_state
    previous_scan = fulfillment.last_scan_at
    state = derive_shipment_state(fulfillment, events)
    _apply_carrier(fulfillment)
    _apply_timestamps(fulfillment, events, state)
    fulfillment.shipment_state = state.value

    if fulfillment.is_stalled and fulfillment.last_scan_at and fulfillment.last_scan_at != previous_scan:
        fulfillment.is_stalled = False  # it moved again
        record_event(
            session,
            shop_id,
            "shipment.stall_cleared",
            f"shipment:{shopify_fulfillment_id}:stall_cleared:{fulfillment.last_scan_at.isoformat()}",
            shopify_order_id=fulfillment.shopify_order_id,
            shopify_fulfillment_id=shopify_fulfillment_id,
        )
    if state in FINISHED_STATES:
        fulfillment.is_stalled = False
    _apply_estimate(session, ctx, fulfillment, state, now)

    if previous_state != state.value:
        record_event(
            session,
            shop_id,
            "shipment.status_changed",
            f"shipment:{shopify_fulfillment_id}:status:{state.value}",
            shopify_order_id=fulfillment.shopify_order_id,
            shopify_fulfillment_id=shopify_fulfillment_id,
            data={"from": previous_state, "to": state.value},
            happened_at=state_reached_at(fulfillment, events, state),
        )
    session.flush()
    refresh_order(session, shop_id, fulfillment.shopify_order_id, now=now)


def _apply_carrier(fulfillment: Fulfillment) -> None:
    numbers = fulfillment.tracking_numbers or []
    number = numbers[0] if numbers else None
    # The first http(s) page the fulfilment names; a row stored before URLs were checked at intake may hold
    # anything, and this becomes an href on the tracking page, so it is checked here too, number or not.
    url = next((u for u in map(web_url, fulfillment.tracking_urls or []) if u), None)
    carrier = detect_carrier(number, hint=fulfillment.tracking_company) if number else None
    fulfillment.carrier_code = carrier.code if carrier else None
    if number:
        name, url = tracking_link(number, fulfillment.tracking_company, url)
    else:
        name = fulfillment.tracking_company
    fulfillment.carrier_name = name
    fulfillment.tracking_url = url


def _apply_timestamps(fulfillment: Fulfillment, events: list[TrackingEvent], state: Status) -> None:
    scans = [e.happened_at for e in events]
    fulfillment.last_scan_at = max(scans) if scans else None
    moved = [e.happened_at for e in events if e.status and step_index(Status(e.status)) >= 1]
    fulfillment.shipped_at = min(moved) if moved else (fulfillment.shopify_created_at or fulfillment.created_at)
    delivered = [e.happened_at for e in events if e.status == Status.DELIVERED]
    if state == Status.DELIVERED:
        fulfillment.delivered_at = (
            min(delivered) if delivered else (fulfillment.shopify_updated_at or fulfillment.delivered_at or utcnow())
        )
    else:
        fulfillment.delivered_at = None
    with_estimate = [e for e in events if e.estimated_delivery_at]
    fulfillment.carrier_estimated_delivery_at = (
        max(with_estimate, key=_evidence_rank).estimated_delivery_at if with_estimate else None
    )


def _apply_estimate(session: Session, ctx: ShopContext, fulfillment: Fulfillment, state: Status, now: datetime) -> None:
    if state in FINISHED_STATES:
        # Nothing left to estimate; what was shown stays in DeliveryEstimate for accuracy reports.
        fulfillment.is_delayed = False
        fulfillment.estimate_from = fulfillment.estimate_to = fulfillment.estimate_source = None
        return
    today = ctx.today(now)
    if fulfillment.is_delayed and fulfillment.estimate_source == "revised":
        if fulfillment.carrier_estimated_delivery_at is None:
            return  # keep the revised estimate until the carrier says otherwise
    shipped_on = estimates.local_date(fulfillment.shipped_at or now, ctx.tz)
    # Past deliveries only (this shipment is not delivered): its pending changes can wait for the next flush,
    # which then writes the row once instead of twice.
    with session.no_autoflush:
        learned = estimates.learned_transit(
            session,
            fulfillment.shop_id,
            fulfillment.carrier_code,
            fulfillment.destination_country,
            ctx.calendar,
            ctx.tz,
        )
    estimate = estimates.shipment_estimate(
        shipped_on=shipped_on,
        carrier_estimate=fulfillment.carrier_estimated_delivery_at,
        learned=learned,
        defaults=estimates.default_transit(ctx.settings.default_transit, fulfillment.destination_country),
        calendar=ctx.calendar,
        tz=ctx.tz,
    )
    if fulfillment.is_delayed and estimate.end >= today:
        fulfillment.is_delayed = False  # a new estimate puts delivery ahead again
        record_event(
            session,
            fulfillment.shop_id,
            "shipment.delay_cleared",
            f"shipment:{fulfillment.shopify_fulfillment_id}:delay_cleared:{estimate.end.isoformat()}",
            shopify_order_id=fulfillment.shopify_order_id,
            shopify_fulfillment_id=fulfillment.shopify_fulfillment_id,
        )
    set_estimate(session, fulfillment, estimate)


def set_estimate(session: Session, fulfillment: Fulfillment, estimate: estimates.Estimate) -> None:
    """Store the estimate on the shipment and keep a record of it when it changed."""
    if (fulfillment.estimate_from, fulfillment.estimate_to, fulfillment.estimate_source) == (
        estimate.start,
        estimate.end,
        estimate.source,
    ):
        return
    previous_end = fulfillment.estimate_to
    fulfillment.estimate_from, fulfillment.estimate_to = estimate.start, estimate.end
    fulfillment.estimate_source = estimate.source
    if previous_end is not None and estimate.source == "carrier" and estimate.end != previous_end:
        # The carrier moved the date: worth telling the shopper ("in transit, now arriving ...").
        record_event(
            session,
            fulfillment.shop_id,
            "shipment.estimate_changed",
            f"shipment:{fulfillment.shopify_fulfillment_id}:estimate:{estimate.end.isoformat()}",
            shopify_order_id=fulfillment.shopify_order_id,
            shopify_fulfillment_id=fulfillment.shopify_fulfillment_id,
            data={"from": previous_end.isoformat(), "to": estimate.end.isoformat()},
            happened_at=fulfillment.last_scan_at,  # the carrier's new date comes with its latest scan
        )
    session.add(
        DeliveryEstimate(
            shop_id=fulfillment.shop_id,
            shopify_fulfillment_id=fulfillment.shopify_fulfillment_id,
            carrier_code=fulfillment.carrier_code,
            destination_country=fulfillment.destination_country,
            estimate_from=estimate.start,
            estimate_to=estimate.end,
            source=estimate.source,
        )
    )


def display_state(fulfillment: Fulfillment) -> Status:
    """What the shopper sees: the evidence-derived state, or "delayed" once the estimate has passed."""
    state = Status(fulfillment.shipment_state or Status.SHIPPED)
    if fulfillment.is_delayed and state in (Status.SHIPPED, Status.IN_TRANSIT, Status.LABEL_CREATED):
        return Status.DELAYED
    return state


def unshipped_quantities(order: Order, fulfillments: list[Fulfillment]) -> dict[int, int]:
    """Line item id -> quantity not yet in any live shipment."""
    if (order.fulfillment_status or "") == "fulfilled":
        return {}
    remaining = {int(i["id"]): int(i.get("quantity") or 0) for i in order.line_items or [] if i.get("id")}
    for fulfillment in fulfillments:
        if fulfillment.shipment_state == Status.CANCELLED:
            continue
        for item in fulfillment.line_items or []:
            if item.get("id") in remaining:
                remaining[item["id"]] -= int(item.get("quantity") or 0)
    return {k: v for k, v in remaining.items() if v > 0}


def refresh_order(session: Session, shop_id: int, shopify_order_id: int, now: datetime | None = None) -> None:
    """Recompute the order's overall status from its shipments; record a change once."""
    rows = session.execute(_ORDER_WITH_SHIPMENTS, {"shop_id": shop_id, "order_id": shopify_order_id}).all()
    if not rows:
        return
    order = rows[0][0]
    fulfillments = [fulfillment for _, fulfillment in rows if fulfillment is not None]
    status = order_status(
        [display_state(f) for f in fulfillments if f.shipment_state],
        has_unshipped_items=bool(unshipped_quantities(order, fulfillments)),
        is_cancelled=order.cancelled_at is not None,
        is_paid_or_authorised=(order.financial_status or "") in PAID_STATES,
    )
    if order.is_fulfillment_overdue and (fulfillments or order.cancelled_at is not None):
        order.is_fulfillment_overdue = False
        record_event(
            session,
            shop_id,
            "order.fulfillment_overdue_cleared",
            f"order:{shopify_order_id}:overdue_cleared",
            shopify_order_id=shopify_order_id,
        )
    if order.status != status.value:
        previous = order.status
        order.status = status.value
        record_event(
            session,
            shop_id,
            "order.status_changed",
            f"order:{shopify_order_id}:status:{status.value}",
            shopify_order_id=shopify_order_id,
            data={"from": previous, "to": status.value},
            happened_at=_order_status_reached_at(order, fulfillments, status),
        )


def _order_status_reached_at(order: Order, fulfillments: list[Fulfillment], status: Status) -> datetime | None:
    """When the order reached `status`: delivered when its last parcel was, otherwise the order's own update."""
    delivered = [f.delivered_at for f in fulfillments if f.delivered_at is not None]
    if status == Status.DELIVERED and delivered:
        return max(delivered)
    return order.shopify_updated_at or order.shopify_created_at


def refresh_order_shipments(session: Session, shop_id: int, shopify_order_id: int) -> None:
    """After an order changes: its shipments' line items or cancellation may change their state."""
    ids = (
        session.execute(
            select(Fulfillment.shopify_fulfillment_id).where(
                Fulfillment.shop_id == shop_id, Fulfillment.shopify_order_id == shopify_order_id
            )
        )
        .scalars()
        .all()
    )
    for fulfillment_id in ids:
        refresh_shipment(session, shop_id, fulfillment_id)
    refresh_order(session, shop_id, shopify_order_id)


def mark_parcel(session: Session, parcel: Fulfillment, state: str, replacement_number: str | None = None) -> None:
    """The merchant's word on a parcel: "lost", or "reshipped" (a replacement went out, maybe with its number).
    The monitor stops flagging it, and `shipment.marked_<state>` closes its open alerts (the shop knows)."""
    now = utcnow()
    parcel.merchant_state = state
    parcel.merchant_state_at = now
    parcel.replacement_tracking_number = replacement_number
    parcel.is_stalled = False
    parcel.is_delayed = False
    record_event(
        session,
        parcel.shop_id,
        f"shipment.marked_{state}",
        f"shipment:{parcel.shopify_fulfillment_id}:marked:{state}:{now.isoformat()}",
        shopify_order_id=parcel.shopify_order_id,
        shopify_fulfillment_id=parcel.shopify_fulfillment_id,
        data={"state": state},
        happened_at=now,
    )
