"""Estimates as ranges on a business-day calendar, and the delay/stall monitor (no Monday spikes)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.events import DomainEvent
from app.extensions import db
from app.orders.models import Fulfillment, Order
from app.shopify.models import Shop
from app.tracking import estimates
from app.tracking.calendar import BusinessCalendar
from app.tracking.models import DeliveryEstimate, TrackingSettings
from app.tracking.monitor import check_shop
from app.tracking.services import refresh_shipment
from tests.conftest import SHOP
from tests.tracking.test_timeline import event_payload, fulfillment_payload, iso, order_payload

BKK = ZoneInfo("Asia/Bangkok")
CAL = BusinessCalendar.build([6, 7], ["2026-12-07"])  # a Monday holiday


def test_business_days_skip_weekends_and_holidays():
    friday = date(2026, 12, 4)
    assert CAL.add_business_days(friday, 1) == date(2026, 12, 8)  # Sat, Sun, holiday Monday skipped
    assert CAL.business_days_between(friday, date(2026, 12, 8)) == 1
    assert CAL.business_days_between(date(2026, 12, 5), date(2026, 12, 7)) == 0  # a weekend is no time
    assert CAL.next_business_day(date(2026, 12, 6)) == date(2026, 12, 8)
    thai_week = BusinessCalendar.build([7], [])
    assert thai_week.add_business_days(friday, 1) == date(2026, 12, 5)  # Saturday counts when configured


def test_percentiles_and_default_ranges():
    assert estimates.percentile([1, 2, 2, 3, 3, 3, 4, 9], 0.5) == 3
    assert estimates.percentile([1, 2, 2, 3, 3, 3, 4, 9], 0.9) == 9
    assert estimates.default_transit(None, "TH") == (1, 3)
    assert estimates.default_transit({"TH": [2, 4], "*": [6, 12]}, "JP") == (6, 12)
    estimate = estimates.shipment_estimate(
        shipped_on=date(2026, 12, 4),
        carrier_estimate=None,
        learned=None,
        defaults=(1, 3),
        calendar=CAL,
        tz=BKK,
    )
    assert (estimate.start, estimate.end, estimate.source) == (
        date(2026, 12, 8),
        date(2026, 12, 10),
        "default",
    )
    carrier = estimates.shipment_estimate(
        shipped_on=date(2026, 12, 4),
        carrier_estimate=datetime(2026, 12, 9, 20, 0, tzinfo=UTC),
        learned=(1, 2),
        defaults=(1, 3),
        calendar=CAL,
        tz=BKK,
    )
    assert (carrier.start, carrier.end, carrier.source) == (date(2026, 12, 10), date(2026, 12, 10), "carrier")


def _shop() -> Shop:
    shop = db.session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
    shop.iana_timezone = "Asia/Bangkok"
    shop.is_installed = True
    db.session.commit()
    return shop


def _deliver_history(post_webhook, count: int, transit_days: int, start_id: int) -> None:
    """Past parcels by Kerry to TH, shipped on Mondays and delivered `transit_days` business days later."""
    base = datetime(2026, 9, 7, 3, 0, tzinfo=UTC)  # a Monday
    for n in range(count):
        shipped = base + timedelta(weeks=n)
        delivered = shipped + timedelta(days=transit_days)
        order_id = 7_000_000 + start_id + n
        fid = start_id + n
        post_webhook(
            "orders/create",
            dict(
                order_payload(shipped),
                id=order_id,
                order_number=5000 + start_id + n,
                name=f"#{5000 + start_id + n}",
            ),
        )
        post_webhook(
            "fulfillments/create",
            dict(fulfillment_payload(fid, [(11, 2)], shipped, shipped, f"SHP50{fid:011d}"), order_id=order_id),
        )
        post_webhook(
            "fulfillment_events/create",
            dict(event_payload(fid * 10 + 1, fid, "carrier_picked_up", shipped), order_id=order_id),
        )
        post_webhook(
            "fulfillment_events/create",
            dict(event_payload(fid * 10 + 2, fid, "delivered", delivered), order_id=order_id),
        )


def test_learned_estimate_replaces_defaults_once_the_shop_has_history(ctx, post_webhook, run_jobs):
    post_webhook("orders/create", order_payload(datetime(2026, 11, 16, 3, 0, tzinfo=UTC)))
    run_jobs()
    _shop()
    _deliver_history(post_webhook, 6, transit_days=4, start_id=100)  # Mon -> Fri: 4 business days
    run_jobs()
    shipped = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # a Friday
    post_webhook("fulfillments/create", fulfillment_payload(900, [(11, 2)], shipped, shipped, "SHP5012345678"))
    run_jobs()
    shipment = db.session.execute(select(Fulfillment).where(Fulfillment.shopify_fulfillment_id == 900)).scalar_one()
    assert shipment.estimate_source == "learned"
    assert (shipment.estimate_from, shipment.estimate_to) == (date(2026, 11, 26), date(2026, 11, 26))
    recorded = (
        db.session.execute(select(DeliveryEstimate).where(DeliveryEstimate.shopify_fulfillment_id == 900))
        .scalars()
        .all()
    )
    assert [(r.estimate_from, r.source) for r in recorded] == [(date(2026, 11, 26), "learned")]


def _one_shipment(post_webhook, run_jobs, shipped: datetime, scans: list[tuple[str, datetime]]) -> Fulfillment:
    post_webhook("orders/create", order_payload(shipped - timedelta(days=1)))
    post_webhook("fulfillments/create", fulfillment_payload(501, [(11, 2), (12, 1)], shipped, shipped, "SHP5012345678"))
    for n, (status, at) in enumerate(scans, start=1):
        post_webhook("fulfillment_events/create", event_payload(n, 501, status, at))
    run_jobs()
    _shop()
    return db.session.execute(select(Fulfillment)).scalar_one()


def test_stall_counts_business_days_so_a_weekend_is_no_spike(ctx, post_webhook, run_jobs):
    friday_scan = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    shipment = _one_shipment(post_webhook, run_jobs, friday_scan - timedelta(days=1), [("in_transit", friday_scan)])
    shop_id = shipment.shop_id
    monday = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert check_shop(db.session, shop_id, now=monday)["stalled"] == 0  # quiet over the weekend: normal
    thursday = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 4 business days without a scan (> 3)
    counts = check_shop(db.session, shop_id, now=thursday)
    db.session.commit()
    assert counts["stalled"] == 1
    assert check_shop(db.session, shop_id, now=thursday)["stalled"] == 0  # flagged once
    # The parcel moves again: the flag clears.
    post_webhook("fulfillment_events/create", event_payload(9, 501, "out_for_delivery", thursday + timedelta(hours=1)))
    run_jobs()
    db.session.expire_all()
    shipment = db.session.execute(select(Fulfillment)).scalar_one()
    assert shipment.is_stalled is False
    kinds = [e.kind for e in db.session.execute(select(DomainEvent)).scalars()]
    assert kinds.count("shipment.stalled") == 1 and kinds.count("shipment.stall_cleared") == 1


def test_delay_flag_revises_the_estimate_and_clears_on_delivery(ctx, post_webhook, run_jobs):
    shipped = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)  # Monday; TH default 1-3 days -> Tue 17 - Thu 19
    shipment = _one_shipment(post_webhook, run_jobs, shipped, [("in_transit", shipped + timedelta(hours=8))])
    assert (shipment.estimate_from, shipment.estimate_to) == (date(2026, 11, 17), date(2026, 11, 19))
    shop_id = shipment.shop_id
    assert check_shop(db.session, shop_id, now=datetime(2026, 11, 19, 10, 0, tzinfo=UTC))["delayed"] == 0
    counts = check_shop(db.session, shop_id, now=datetime(2026, 11, 20, 2, 0, tzinfo=UTC))  # Friday 09:00 BKK
    db.session.commit()
    assert counts["delayed"] == 1
    db.session.expire_all()
    shipment = db.session.execute(select(Fulfillment)).scalar_one()
    assert shipment.is_delayed and shipment.estimate_source == "revised"
    assert shipment.estimate_from == date(2026, 11, 23)  # next business day after Friday
    order = db.session.execute(select(Order)).scalar_one()
    assert order.status == "delayed"
    post_webhook(
        "fulfillment_events/create",
        event_payload(9, 501, "delivered", datetime(2026, 11, 23, 5, 0, tzinfo=UTC)),
    )
    run_jobs()
    db.session.expire_all()
    shipment = db.session.execute(select(Fulfillment)).scalar_one()
    assert shipment.is_delayed is False and shipment.shipment_state == "delivered"
    assert db.session.execute(select(Order.status)).scalar_one() == "delivered"


def test_unfulfilled_order_past_handling_time_is_flagged_then_cleared(ctx, post_webhook, run_jobs):
    placed = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # Friday
    post_webhook("orders/create", order_payload(placed, created_at=iso(placed)))
    run_jobs()
    shop = _shop()
    db.session.add(TrackingSettings(shop_id=shop.id, handling_days=2))
    db.session.commit()
    assert check_shop(db.session, shop.id, now=datetime(2026, 11, 24, 5, 0, tzinfo=UTC))["overdue"] == 0  # Tue: 2 days
    counts = check_shop(db.session, shop.id, now=datetime(2026, 11, 25, 5, 0, tzinfo=UTC))  # Wed: 3 days
    db.session.commit()
    assert counts["overdue"] == 1
    post_webhook("fulfillments/create", fulfillment_payload(501, [(11, 2), (12, 1)], placed, placed, "SHP5012345678"))
    run_jobs()
    db.session.expire_all()
    assert db.session.execute(select(Order.is_fulfillment_overdue)).scalar_one() is False


def test_refresh_is_a_no_op_for_a_fulfilment_not_yet_received(ctx):
    shop = Shop(domain=SHOP, is_installed=True)
    db.session.add(shop)
    db.session.commit()
    refresh_shipment(db.session, shop.id, 424242)
    assert db.session.execute(select(Fulfillment)).first() is None
