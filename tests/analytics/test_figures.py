"""Every figure of the dashboard on a seeded week (tests/analytics/history.py), each answer worked out by hand
here: on-time rate, P50/P90, estimate hit rate and error, deflection, return rate, revenue; a delivery at 23:30
local, a split shipment, a cancelled order, refunds after the window; and the rollups' own promises."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.analytics import queries
from app.analytics.models import DailyRollup, DirtyDay, MonthlyRollup
from app.analytics.rollups import rebuild_days
from app.analytics.services import mark_dirty, rebuild_dirty_days, sweep_domain_events
from app.extensions import db
from app.orders.models import Order
from app.orders.services import order_values
from app.shopify.models import Shop
from tests.analytics.history import FIRST, LAST, _order, add_event, seed_history, utc

SHARE, COST = Decimal("0.20"), Decimal("5.00")


@pytest.fixture()
def shop(ctx):
    shop_id = seed_history()
    shop = db.session.get(Shop, shop_id)
    rebuild_days(db.session, shop, date(2026, 10, 20), date(2026, 11, 30))
    db.session.commit()
    return shop


def figures(shop, first=FIRST, last=LAST):
    return queries.headline(queries.read_period(db.session, shop.id, first, last), SHARE, COST)


def test_orders_exclude_the_cancelled_one_and_count_the_local_day(shop):
    got = figures(shop)
    assert got["orders"] == 4  # orders 1, 2, 4, 5; order 3 was cancelled
    # order 2 was placed at 22:30 on Monday in New York (03:30 UTC Tuesday): a Monday order
    monday = queries.read_period(db.session, shop.id, FIRST, FIRST)
    assert monday.count("orders") == 2
    previous = figures(shop, *queries.previous_range(FIRST, LAST))
    assert previous["orders"] == 1  # 30 Oct, in 25 Oct - 1 Nov


def test_delivery_percentiles_in_calendar_and_business_days(shop):
    got = figures(shop)
    # Parcels (the cancelled order's left out): F1 Mon 2 -> Fri 6 (4 calendar, 4 business days),
    # F2 Mon 2 -> Mon 9 (7; Tue Wed Thu Fri Mon = 5), F3 Wed 4 -> Fri 6 (2; 2), F4 Wed 4 -> Sun 8 (4; Thu Fri = 2).
    assert got["parcels_delivered"] == 4
    # calendar 2, 4, 4, 7: P50 is the 2nd (ceil(0.5 x 4)), P90 the 4th (ceil(0.9 x 4))
    assert (got["p50_days"], got["p90_days"]) == (4, 7)
    # business 2, 2, 4, 5
    assert (got["p50_business_days"], got["p90_business_days"]) == (2, 5)
    stages = {r["stage"]: r for r in queries.stage_percentiles(queries.read_period(db.session, shop.id, FIRST, LAST))}
    # processing (order -> fulfilment): 1, 1, 0, 0 -> P50 0 (2nd of 0, 0, 1, 1), P90 1
    assert (stages["processing"]["p50"], stages["processing"]["p90"]) == (0, 1)
    # transit (pickup -> delivered): F1 Wed 4 -> Fri 6 = 2, F2 Tue 3 -> Mon 9 = 6, F3 Thu 5 -> Fri 6 = 1,
    # F4 Thu 5 -> Sun 8 = 3: sorted 1, 2, 3, 6
    assert (stages["transit"]["p50"], stages["transit"]["p90"]) == (2, 6)
    assert (stages["transit"]["p50_bus"], stages["transit"]["p90_bus"]) == (1, 4)  # 2, 4, 1, 1 business


def test_on_time_against_the_first_estimate_shown_in_local_time(shop):
    got = figures(shop)
    # F1 delivered Fri 6 at 23:30 local against 5-6 Nov: on time (by its UTC date, 7 Nov, it would be late);
    # F2 on 9 Nov against 5-6: late; F3 on 6 Nov against 7-9: early; F4 had no estimate, so it is not judged.
    assert got["on_time_rate"] == pytest.approx(100 / 3)
    assert got["early_rate"] == pytest.approx(100 / 3)
    assert got["late_rate"] == pytest.approx(100 / 3)
    friday = queries.read_period(db.session, shop.id, date(2026, 11, 6), date(2026, 11, 6))
    assert friday.count("punctuality_on_time") == 1 and friday.count("punctuality_early") == 1
    assert friday.count("parcels_delivered") == 2  # F1 (23:30 local) and F3; F5's order was cancelled


def test_exceptions_and_failed_attempts_per_thousand_parcels(shop):
    got = figures(shop)
    assert got["exceptions_per_1000"] == 250  # 1 of 4 parcels had an exception
    assert got["failed_attempts_per_1000"] == 500  # 2 failed attempts over 4 parcels


def test_estimate_hit_rate_and_mean_absolute_error(shop):
    got = figures(shop)
    # every estimate shown for a delivered parcel: F1 5-6 (hit, 0), F1 revised 7-8 (1 day early), F2 (3 late),
    # F3 (1 early): 1 hit of 4, errors 0 + 1 + 3 + 1 = 5 over 4
    assert got["estimate_hit_rate"] == 25
    assert got["estimate_mae_days"] == 1.25
    ups = {r["name"]: r for r in queries.breakdown(queries.read_period(db.session, shop.id, FIRST, LAST), "carrier:")}
    assert ups["ups"]["estimates"] == 3 and ups["ups"]["hit_rate"] == pytest.approx(100 / 3)
    assert ups["ups"]["mae"] == pytest.approx(2 / 3)
    assert ups["ups"]["parcels"] == 3 and ups["usps"]["parcels"] == 1
    lanes = queries.breakdown(queries.read_period(db.session, shop.id, FIRST, LAST), "lane:")
    assert {r["name"]: r["parcels"] for r in lanes} == {"US→US-NY": 2, "?→US-NY": 2}


def test_deflection_with_default_and_merchant_settings(shop):
    got = figures(shop)
    assert (got["tracking_views"], got["tracking_lookups"]) == (15, 11)  # 10 + 5 views, 6 + 5 lookups
    assert got["views_per_order"] == 15 / 4 and got["lookups_per_order"] == 11 / 4
    assert got["message_clicks"] == 1
    assert got["contacts_avoided"] == Decimal("2.2")  # 11 x 0.20
    assert got["money_saved"] == Decimal("11.00")  # 2.2 x $5
    mine = queries.headline(queries.read_period(db.session, shop.id, FIRST, LAST), Decimal("0.25"), Decimal("4.50"))
    assert mine["contacts_avoided"] == Decimal("2.8")  # 2.75, rounded half up
    assert mine["money_saved"] == Decimal("12.38")  # 11 x 0.25 x 4.50 = 12.375


def test_messages_by_moment_and_channel(shop):
    period = queries.read_period(db.session, shop.id, FIRST, LAST)
    rows = {(r["trigger"], r["channel"]): r for r in queries.message_rows(period)}
    assert rows[("shipped", "email")] == {
        "trigger": "shipped",
        "channel": "email",
        "sent": 1,
        "delivered": 1,
        "clicked": 1,
        "suppressed": 1,
        "failed": 0,
    }
    assert rows[("shipped", "sms")]["sent"] == 1
    assert rows[("delivered", "email")]["failed"] == 1
    assert queries.suppressed_reasons(period) == [{"reason": "no consent", "count": 1}]
    assert figures(shop)["messages_sent"] == 2


def test_return_rate_resolution_mix_and_time_to_resolve(shop):
    got = figures(shop)
    # items sold (not cancelled): Tee A 2 + 1 + 1 = 4, Tee B 1 + 2 = 3; returned (the cancelled return left out):
    # Tee A 1, Tee B 2 -> 3 of 7
    assert got["returns"] == 2
    assert got["return_rate"] == pytest.approx(300 / 7)
    period = queries.read_period(db.session, shop.id, FIRST, LAST)
    products = {r["product"]: r for r in queries.return_products(period)}
    assert products["Tee A"]["rate"] == 25 and products["Tee B"]["rate"] == pytest.approx(200 / 3)
    assert got["revenue_kept"] == Decimal("25") and got["refunded"] == Decimal("60")
    mix = {r["resolution"]: r for r in queries.resolution_mix(period)}
    assert (mix["exchange"]["count"], mix["refund"]["count"], mix["credit"]["count"]) == (1, 1, 0)
    assert got["resolve_p50_days"] == 2  # 2 and 5 days: the 1st


def test_satisfaction_and_reviews(shop):
    got = figures(shop)
    assert got["nps"] == 0  # one promoter (10), one passive (8), one detractor (6)
    assert got["csat"] == 3.5  # (5 + 2) / 2
    assert got["reviews"] == 2 and got["average_rating"] == 4.5
    assert got["review_rate"] == 50  # 2 reviews, 4 requests sent
    by_carrier = {
        r["carrier"]: r for r in queries.satisfaction_by_carrier(queries.read_period(db.session, shop.id, FIRST, LAST))
    }
    assert by_carrier["ups"]["nps"] == 50 and by_carrier["usps"]["nps"] == -100


def test_attributed_revenue_nets_refunds_inside_the_window_only(shop):
    got = figures(shop)
    # recommendations: 200 (order 4, its refund came 46 days later: kept) + 50 (order 2, refunded in the window)
    assert got["rec_revenue"] == Decimal("200")
    # messages: order 5 (80) placed a day after a@x.test clicked; 30 refunded within the window
    assert got["flow_revenue"] == Decimal("50")


def _snapshot(shop_id):
    return sorted(
        (r.day, r.metric, r.dim, r.count, r.amount, tuple(sorted((r.hist or {}).items())))
        for r in db.session.execute(select(DailyRollup).where(DailyRollup.shop_id == shop_id)).scalars()
    )


def test_rebuilding_a_day_is_idempotent_and_equal_to_day_by_day(shop):
    whole = _snapshot(shop.id)
    rebuild_days(db.session, shop, date(2026, 11, 6), date(2026, 11, 6))
    rebuild_days(db.session, shop, date(2026, 11, 6), date(2026, 11, 6))
    db.session.commit()
    assert _snapshot(shop.id) == whole
    db.session.execute(DailyRollup.__table__.delete())
    mark_dirty(
        db.session, shop.id, {date(2026, 10, 20) + (date(2026, 11, 2) - date(2026, 11, 1)) * n for n in range(42)}
    )
    db.session.commit()
    assert rebuild_dirty_days(db.session) == 42
    assert _snapshot(shop.id) == whole
    assert db.session.execute(select(DirtyDay)).first() is None


def test_the_sweep_marks_the_local_days_a_domain_event_touches(shop):
    add_event(shop.id, "d1", 1, utc(11, 10, 3))  # 22:00 on Mon 9 Nov in New York; order 1 placed Mon 2
    add_event(shop.id, "d2", None, utc(11, 12, 15))
    assert sweep_domain_events(db.session) == 2
    db.session.commit()
    marked = {d.day for d in db.session.execute(select(DirtyDay).where(DirtyDay.shop_id == shop.id)).scalars()}
    assert marked == {date(2026, 11, 9), date(2026, 11, 2), date(2026, 11, 12)}
    assert sweep_domain_events(db.session) == 0  # the cursor moved on


def test_delivery_by_the_shipping_service_the_shopper_chose(shop):
    services = {
        r["name"]: r for r in queries.breakdown(queries.read_period(db.session, shop.id, FIRST, LAST), "service:")
    }
    # Standard: F1 (order 1, 4 calendar days) and F3, F4 (order 4, 2 and 4 days); Express: F2 (order 2, 7 days);
    # the cancelled order's Express parcel is left out
    assert {name: r["parcels"] for name, r in services.items()} == {"Standard": 3, "Express": 1}
    assert (services["Standard"]["p50"], services["Standard"]["p90"]) == (4, 4)  # 2, 4, 4
    assert (services["Express"]["p50"], services["Express"]["p90"]) == (7, 7)
    # estimates shown: F1 twice (a hit, 1 day off) and F3 (1 day off) are Standard's, F2 (3 late) Express's
    assert services["Standard"]["hit_rate"] == pytest.approx(100 / 3)
    assert services["Express"]["late"] == 1


def test_the_order_keeps_the_shipping_rate_chosen_at_checkout():
    payload = {"id": 1, "name": "#1", "shipping_lines": [{"title": "  Kerry   Express ", "code": "KEX"}]}
    assert order_values(1, payload)["shipping_service"] == "Kerry Express"
    removed = {"id": 1, "shipping_lines": [{"title": "Old", "is_removed": True}, {"title": None, "code": "EMS"}]}
    assert order_values(1, removed)["shipping_service"] == "EMS"
    assert order_values(1, {"id": 1})["shipping_service"] is None
    assert order_values(1, {"id": 1, "shipping_lines": "nonsense"})["shipping_service"] is None


def _daily_sums(shop_id, first, last):
    """What a range adds up to when read from the daily rows alone."""
    totals, hists = {}, {}
    for row in db.session.execute(
        select(DailyRollup).where(DailyRollup.shop_id == shop_id, DailyRollup.day >= first, DailyRollup.day <= last)
    ).scalars():
        count, amount = totals.get((row.metric, row.dim), (0, Decimal(0)))
        totals[(row.metric, row.dim)] = (count + row.count, amount + row.amount)
        for key, n in (row.hist or {}).items():
            merged = hists.setdefault((row.metric, row.dim), {})
            merged[int(key)] = merged.get(int(key), 0) + n
    return totals, hists


def test_the_monthly_rows_are_the_sums_of_their_days(shop):
    for month, first, last in (
        (date(2026, 10, 1), date(2026, 10, 1), date(2026, 10, 31)),
        (date(2026, 11, 1), date(2026, 11, 1), date(2026, 11, 30)),
    ):
        totals, hists = _daily_sums(shop.id, first, last)
        rows = (
            db.session.execute(
                select(MonthlyRollup).where(MonthlyRollup.shop_id == shop.id, MonthlyRollup.month == month)
            )
            .scalars()
            .all()
        )
        assert {(r.metric, r.dim): (r.count, r.amount) for r in rows} == totals
        assert {(r.metric, r.dim): {int(k): v for k, v in r.hist.items()} for r in rows if r.hist} == hists
    # a rebuild changes nothing
    before = sorted(
        (r.month, r.metric, r.dim, r.count, r.amount) for r in db.session.execute(select(MonthlyRollup)).scalars()
    )
    rebuild_days(db.session, shop, date(2026, 10, 20), date(2026, 11, 30))
    db.session.commit()
    after = sorted(
        (r.month, r.metric, r.dim, r.count, r.amount) for r in db.session.execute(select(MonthlyRollup)).scalars()
    )
    assert after == before


@pytest.mark.parametrize(
    "first, last, p90",
    [
        (date(2026, 10, 25), date(2026, 11, 30), 7),  # a partial month, then a whole one
        (date(2026, 10, 1), date(2026, 11, 8), 4),  # a whole month, then a partial one (F2, 7 days, is on the 9th)
        (date(2026, 10, 1), date(2026, 11, 30), 7),  # whole months only
        (date(2026, 10, 30), date(2026, 11, 4), None),  # inside two months, none whole; nothing delivered yet
    ],
)
def test_a_range_read_through_months_equals_its_days(shop, first, last, p90):
    period = queries.read_period(db.session, shop.id, first, last)
    totals, hists = _daily_sums(shop.id, first, last)
    assert period.totals == totals
    assert period.hists == hists
    assert queries.headline(period, SHARE, COST)["p90_days"] == p90


def test_a_rebuilt_day_refreshes_its_month(shop):
    assert figures(shop, date(2026, 11, 1), date(2026, 11, 30))["orders"] == 4
    db.session.add(_order(shop.id, 6, utc(11, 10, 15), "30", [("Tee A", 1, 1)], "e@x.test"))
    db.session.flush()
    rebuild_days(db.session, shop, date(2026, 11, 10), date(2026, 11, 10))
    db.session.commit()
    # the whole of November is read from its monthly row
    assert queries.split_range(date(2026, 11, 1), date(2026, 11, 30)) == ([], (date(2026, 11, 1), date(2026, 11, 1)))
    assert figures(shop, date(2026, 11, 1), date(2026, 11, 30))["orders"] == 5
    assert db.session.execute(select(Order.id).where(Order.shopify_order_id == 6)).scalar_one()
