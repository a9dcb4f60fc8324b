"""The periodic delay and stall monitor.

- delayed: a live shipment whose estimate has ended (in the shop's time zone) without delivery;
  it gets a revised estimate, and the flag clears on delivery or a new carrier estimate.
- stalled: no scan for longer than is normal for that carrier and lane, counted in business days
  (so weekends and holidays never trip it: no Monday spikes); clears on the next scan.
- fulfilment overdue: an order not shipped within the shop's handling time; clears when shipped.
Each change is a domain event for notifications to use.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.events import record_event
from app.extensions import db
from app.jobs import with_app_context
from app.orders.models import Fulfillment, Order, TrackingEvent
from app.orders.status import MOVING_STATES, Status
from app.shopify.models import Shop
from app.tracking import estimates
from app.tracking.services import ShopContext, refresh_order, set_estimate, shop_context

DEFAULT_STALL_DAYS = 3
MIN_GAP_SAMPLES = 20
ACTIVE_STATES = [s.value for s in MOVING_STATES | {Status.LABEL_CREATED}]


def stall_threshold(
    session: Session,
    ctx: ShopContext,
    shop_id: int,
    carrier_code: str | None,
    country: str | None,
    cache: dict,
) -> int:
    """Business days without a scan after which a parcel counts as stalled for this carrier and lane.

    Learned from the gaps between consecutive scans of this shop's delivered parcels (P90, plus a
    day of slack); a merchant override wins; a new shop starts at DEFAULT_STALL_DAYS.
    """
    if ctx.settings.stall_after_days:
        return int(ctx.settings.stall_after_days)
    key = (carrier_code, country)
    if key in cache:
        return cache[key]
    rows = session.execute(
        select(TrackingEvent.shopify_fulfillment_id, TrackingEvent.happened_at)
        .join(
            Fulfillment,
            (Fulfillment.shop_id == TrackingEvent.shop_id)
            & (Fulfillment.shopify_fulfillment_id == TrackingEvent.shopify_fulfillment_id),
        )
        .where(
            TrackingEvent.shop_id == shop_id,
            Fulfillment.carrier_code == carrier_code,
            Fulfillment.destination_country == country,
            Fulfillment.delivered_at.is_not(None),
            Fulfillment.delivered_at >= utcnow() - estimates.LOOKBACK,
        )
        .order_by(TrackingEvent.shopify_fulfillment_id, TrackingEvent.happened_at)
        .limit(20000)
    ).all()
    gaps: list[int] = []
    previous: tuple[int, datetime] | None = None
    for fulfillment_id, happened_at in rows:
        if previous and previous[0] == fulfillment_id:
            gaps.append(
                ctx.calendar.business_days_between(
                    estimates.local_date(previous[1], ctx.tz), estimates.local_date(happened_at, ctx.tz)
                )
            )
        previous = (fulfillment_id, happened_at)
    if len(gaps) >= MIN_GAP_SAMPLES:
        threshold = max(2, estimates.percentile(gaps, 0.9) + 1)
    else:
        threshold = DEFAULT_STALL_DAYS
    cache[key] = threshold
    return threshold


def check_shop(session: Session, shop_id: int, now: datetime | None = None) -> dict[str, int]:
    """Flag delayed and stalled shipments and overdue orders of one shop; returns counts of new flags."""
    now = now or utcnow()
    ctx = shop_context(session, shop_id)
    today = ctx.today(now)
    counts = {"delayed": 0, "stalled": 0, "overdue": 0}
    cache: dict = {}
    touched_orders: set[int] = set()
    shipments = (
        session.execute(
            select(Fulfillment).where(
                Fulfillment.shop_id == shop_id,
                Fulfillment.shipment_state.in_(ACTIVE_STATES),
                Fulfillment.merchant_state.is_(None),  # lost or replaced: the merchant has it in hand
            )
        )
        .scalars()
        .all()
    )
    for shipment in shipments:
        if shipment.estimate_to and shipment.estimate_to < today:
            spread = max(1, (shipment.estimate_to - shipment.estimate_from).days) if shipment.estimate_from else 2
            missed = shipment.estimate_to
            shipment.is_delayed = True
            set_estimate(session, shipment, estimates.revised_estimate(today, spread, ctx.calendar))
            if record_event(
                session,
                shop_id,
                "shipment.delayed",
                f"shipment:{shipment.shopify_fulfillment_id}:delayed:{missed.isoformat()}",
                shopify_order_id=shipment.shopify_order_id,
                shopify_fulfillment_id=shipment.shopify_fulfillment_id,
                # Late from the start of the day after the missed estimate (shop's time), not from when the
                # sweep noticed: a parcel that missed its estimate long ago is not news to tell the shopper.
                happened_at=estimates.start_of_day(missed + timedelta(days=1), ctx.tz),
                data={
                    "missed_estimate": missed.isoformat(),
                    "new_from": shipment.estimate_from.isoformat(),
                    "new_to": shipment.estimate_to.isoformat(),
                },
            ):
                counts["delayed"] += 1
            touched_orders.add(shipment.shopify_order_id)
        if Status(shipment.shipment_state) in MOVING_STATES and not shipment.is_stalled:
            reference = shipment.last_scan_at or shipment.shipped_at
            if reference is None:
                continue
            quiet_days = ctx.calendar.business_days_between(estimates.local_date(reference, ctx.tz), today)
            threshold = stall_threshold(
                session, ctx, shop_id, shipment.carrier_code, shipment.destination_country, cache
            )
            if quiet_days > threshold:
                shipment.is_stalled = True
                if record_event(
                    session,
                    shop_id,
                    "shipment.stalled",
                    f"shipment:{shipment.shopify_fulfillment_id}:stalled:{reference.isoformat()}",
                    shopify_order_id=shipment.shopify_order_id,
                    shopify_fulfillment_id=shipment.shopify_fulfillment_id,
                    data={"business_days_without_scan": quiet_days, "threshold": threshold},
                    # Stalled from the first business day past the threshold, however late the sweep saw it.
                    happened_at=estimates.start_of_day(
                        ctx.calendar.add_business_days(estimates.local_date(reference, ctx.tz), threshold + 1),
                        ctx.tz,
                    ),
                ):
                    counts["stalled"] += 1
    session.flush()
    for order_id in touched_orders:
        refresh_order(session, shop_id, order_id, now=now)

    handling = ctx.settings.handling_days or 0
    oldest = now - timedelta(days=max(30, math.ceil(handling * 7 / 5) + 14))
    waiting = (
        session.execute(
            select(Order).where(
                Order.shop_id == shop_id,
                Order.cancelled_at.is_(None),
                Order.is_fulfillment_overdue.is_(False),
                Order.status.in_([Status.ORDERED.value, Status.CONFIRMED.value]),
                Order.shopify_created_at >= oldest,
            )
        )
        .scalars()
        .all()
    )
    for order in waiting:
        if order.shopify_created_at is None:
            continue
        placed = estimates.local_date(order.shopify_created_at, ctx.tz)
        if ctx.calendar.business_days_between(placed, today) > handling:
            has_shipment = session.execute(
                select(Fulfillment.id)
                .where(Fulfillment.shop_id == shop_id, Fulfillment.shopify_order_id == order.shopify_order_id)
                .limit(1)
            ).first()
            if has_shipment:
                continue
            order.is_fulfillment_overdue = True
            if record_event(
                session,
                shop_id,
                "order.fulfillment_overdue",
                f"order:{order.shopify_order_id}:overdue",
                shopify_order_id=order.shopify_order_id,
                data={"handling_days": handling},
            ):
                counts["overdue"] += 1
    return counts


@with_app_context
def detect_delays() -> dict[str, int]:
    """Periodic job: run the monitor for every shop that is installed (one transaction per shop)."""
    totals = {"delayed": 0, "stalled": 0, "overdue": 0}
    shop_ids = (
        db.session.execute(select(Shop.id).where(Shop.is_installed.is_(True), Shop.redacted_at.is_(None)))
        .scalars()
        .all()
    )
    for shop_id in shop_ids:
        counts = check_shop(db.session, shop_id)
        db.session.commit()
        for key, value in counts.items():
            totals[key] += value
    return totals
