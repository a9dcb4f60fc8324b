"""The tracking page, widget and signed-link page count their opens and the lookups that found an order, on the
shop's local day: the views and lookups the deflection figures are made of."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.analytics.models import TrackingViewCount
from app.extensions import db
from app.orders.models import Order
from app.storefront.links import make_track_token
from tests.storefront.test_tracking_page import signed_query, split_order  # noqa: F401  (fixture)


def _counts():
    db.session.expire_all()
    return {
        (row.surface, row.day): (row.views, row.lookups)
        for row in db.session.execute(select(TrackingViewCount)).scalars()
    }


def test_views_and_lookups_are_counted_per_surface_on_the_shops_day(client, split_order):  # noqa: F811
    found = {"order": "1001", "email": "jon@example.com"}
    assert client.get("/proxy/api/track?" + signed_query(found)).status_code == 200
    assert client.get("/proxy/api/track?" + signed_query({"order": "1001", "email": "x@y.test"})).status_code == 404
    assert client.get("/proxy/track?" + signed_query({})).status_code == 200  # the lookup form: a view
    assert client.get("/proxy/track?" + signed_query(found)).status_code == 200
    order = db.session.execute(select(Order)).scalar_one()
    assert client.get(f"/l/track/{make_track_token(split_order.id, order.id)}").status_code == 200
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Bangkok")).date()
    assert _counts() == {("widget", today): (1, 1), ("page", today): (2, 1), ("link", today): (1, 1)}
